"""A real sweep of a test app in the test's own process, through Hydra's own in-process runner.

It runs what ``python APP -m OVERRIDES`` runs (the same config, the sweeper, the basic launcher
running each job here) and leaves the same sweep dir, without the cost of a Python start and its
imports (about 2 s of CPU a sweep). What needs a process of its own stays a subprocess: exit
codes and what Hydra prints, signals, workers of other launchers, the drawing process.
"""
from __future__ import annotations

import copy
import importlib.util
import io
import logging
from pathlib import Path
from types import ModuleType
from typing import Callable, Dict, List, Sequence, Tuple

from hydra.core.plugins import Plugins
from hydra.core.singleton import Singleton
from hydra.test_utils.test_utils import SweepTaskFunction

_APPS: Dict[Path, ModuleType] = {}


def _task(app: Path) -> Callable:
    """The app's own task function (the one its ``@hydra.main`` decorates, undecorated)."""
    app = app.resolve()
    if app not in _APPS:
        spec = importlib.util.spec_from_file_location(f"inprocess_{app.parent.name}_app", app)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _APPS[app] = module
    (decorated,) = [value for value in vars(_APPS[app]).values()
                    if callable(value) and hasattr(value, "__wrapped__") and value.__module__ == _APPS[app].__name__]
    return decorated.__wrapped__


def multirun(app: Path, sweep_dir: Path, overrides: List[str]) -> str:
    """Run ``app -m overrides`` with ``hydra.sweep.dir=sweep_dir`` here; the log it wrote (the
    lines a subprocess prints). Raises what the sweep raises."""
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("[%(name)s][%(levelname)s] - %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # the plugins found before the snapshot: their configs register once, when their modules are
    # first imported, and a snapshot taken before would drop them for the rest of this process
    Plugins.instance()
    singletons = copy.deepcopy(Singleton.get_state())
    sweep = SweepTaskFunction()
    sweep.calling_file, sweep.calling_module = str(app), None
    sweep.task_function = _task(app)
    # the test apps keep their config beside them, or in conf/
    sweep.config_path = "conf" if (app.parent / "conf" / "config.yaml").is_file() else "."
    sweep.config_name = "config"
    # as the apps' hydra.main(version_base=None): a job runs where the app was started; Hydra
    # leaves this process's logging as it is (the log is read here); the mode `-m` sets, which
    # report() reads to know it runs in a sweep
    sweep.overrides = ["hydra.job.chdir=false", "hydra/job_logging=none", "hydra/hydra_logging=none",
                       "hydra.mode=MULTIRUN", *overrides]
    sweep.temp_dir = str(sweep_dir)
    try:
        sweep.__enter__()  # not its __exit__: that removes the sweep dir
    finally:
        Singleton.set_state(singletons)
        root.removeHandler(handler)
        root.setLevel(level)
    return log.getvalue()


def sweep(app: Path, sweep_dir: Path, overrides: Sequence[str]) -> Tuple[str, str]:
    """A sweep that succeeds, its (stdout, stderr): here (:func:`multirun`) under the app's basic
    launcher, in a subprocess (Hydra's ``run_python_script``) when the overrides pick another."""
    if not any(o.startswith("hydra/launcher=") for o in overrides):
        return multirun(app, Path(sweep_dir), list(overrides)), ""
    from hydra.test_utils.test_utils import run_python_script

    return run_python_script([str(app), "-m", f"hydra.sweep.dir={sweep_dir}", *overrides])
