"""The Hydra door: ``hydra/sweeper=skopt_gp`` set up and handed over to the sweep loop.

The Sweeper class Hydra instantiates (``hydra_plugins/hydra_skopt_sweeper/skopt_sweeper.py``)
is a thin shim over this module, which it imports only when Hydra instantiates the sweeper:
the plugin scanner imports the shim at every app start, and skopt is slow to import (so is
the loop, imported by :func:`run_sweep` alone). :func:`launcher_parallelism` also serves apps
that size their threads by it (the example's ``runtime.py``).
:func:`read_settings` reads ``hydra.sweeper`` (the Optuna sweeper's keys included);
:func:`run_sweep` builds the space from ``hydra.sweeper.params`` and the command line, launches
the trials through the app's launcher and runs the loop (:mod:`..sweep.loop`).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Mapping, Optional, Sequence, Tuple

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext
from omegaconf import DictConfig, OmegaConf

from ..settings import SkoptSweeperConf
from ..trial.task import TimedTask
from .optuna import from_optuna

if TYPE_CHECKING:
    from ..sweep.loop import SweepLoop

log = logging.getLogger(__name__)


def read_settings(settings: Mapping[str, Any]) -> Tuple[SkoptSweeperConf, str]:
    """``hydra.sweeper``'s settings (the Optuna sweeper's keys mapped) checked against the
    schema, and what the mapping did, for the log."""
    mapped = from_optuna({k: _plain(v) for k, v in settings.items()})
    schema = OmegaConf.structured(SkoptSweeperConf)
    return OmegaConf.to_object(OmegaConf.merge(schema, mapped.settings)), mapped.describe()


def run_sweep(settings: SkoptSweeperConf, params: Any, arguments: List[str], config: DictConfig,
              hydra_context: HydraContext, launcher: Launcher, task: TimedTask,
              validate: Any) -> List[Sequence[JobReturn]]:
    """Run the sweep of ``hydra.sweeper.params`` and the command line's ``arguments`` through
    ``launcher``, whose jobs run ``task``; the JobReturns of every launch. Ctrl-C ends the
    command with exit status 130, the loop having said what is safe and how to resume."""
    loop = sweep_loop(settings, params, arguments, config, hydra_context, launcher, task, validate)
    try:
        loop.run()
    except KeyboardInterrupt:
        # the loop said what is safe and how to resume; a traceback would only bury that
        _say_which_slurm_jobs_still_run(config)
        raise SystemExit(130) from None
    return loop.returns


def sweep_loop(settings: SkoptSweeperConf, params: Any, arguments: List[str], config: DictConfig,
               hydra_context: HydraContext, launcher: Launcher, task: TimedTask, validate: Any,
               **door: Any) -> "SweepLoop":
    """The sweep loop of a composed multirun ``config``, ready to run: its space built from
    ``params`` and ``arguments``, its trials launched through ``launcher`` running ``task``,
    the launcher's engine started. ``door``: what a Python door gives the loop besides
    (``constraint``, ``resume_hint``)."""
    from hydra._internal.core_plugins.basic_launcher import BasicLauncher

    # skopt and the loop are slow to import: an app that only asks launcher_parallelism, and a
    # trial's process, never pay for them
    from ..problem.search_space import build_search_space
    from ..records.sweep_dir import SweepDir
    from ..sweep.loop import SweepLoop
    from ..sweep.scheduler import Handover

    parser = OverridesParser.create(config_loader=hydra_context.config_loader)
    space = build_search_space(params, arguments, parser)

    sweep_dir = Path(config.hydra.sweep.dir).absolute()
    # jobs leave their outcome here, so a batch the launcher loses is not lost
    task.outcomes_dir = str(SweepDir(sweep_dir).outcomes)

    def launch(job_overrides: List[List[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        return launcher.launch(job_overrides, initial_job_idx=initial_job_idx)

    handover = Handover()
    task.on_dispatch = handover
    loop = SweepLoop(
        settings,
        space,
        launch,
        sweep_dir,
        default_batch_size=launcher_parallelism(config.hydra.launcher),
        objective_name=_objective_name(config),
        # the basic launcher runs each job here, changing this process's working directory
        concurrent=not isinstance(launcher, BasicLauncher),
        handover=handover,
        # composes the first launch's configs, so a bad key fails before any trial runs
        validate=validate,
        # written once the sweep dir is this sweep's (a second sweeper must not overwrite it)
        saved_config=OmegaConf.to_yaml(config),
        **door,
    )
    choice = OmegaConf.select(config, "hydra.runtime.choices", default={}).get("hydra/launcher")
    log.info("Trials run through hydra/launcher=%s (%s)", choice, type(launcher).__name__)
    _start_engine(launcher)
    if loop.scheduling == "async":
        # the launcher logs three lines per launch() call, numbering each job #0; the
        # loop's own line per launched trial says what it launched
        logging.getLogger(type(launcher).__module__.rsplit(".", 1)[0]).setLevel(logging.WARNING)
    return loop


def multirun(task_name: str, primary: Mapping[str, Any], sweeper: Mapping[str, Any], task_function: Any,
             sweep_dir: Path, n_jobs: int, **door: Any) -> List[Sequence[JobReturn]]:
    """A multirun of this sweeper composed in memory, for the Python doors: the primary config
    ``primary`` (the keys the overrides set), ``hydra.sweeper`` = ``sweeper``, trials through
    hydra-joblib-launcher with ``n_jobs`` workers running ``task_function``. The same loop as
    the command line's (:func:`sweep_loop`), except that Ctrl-C raises ``KeyboardInterrupt``;
    ``door`` goes to the loop (``constraint``, ``resume_hint``). Hydra's global state is put
    back as it was afterwards."""
    from hydra._internal.callbacks import Callbacks
    from hydra._internal.hydra import Hydra
    from hydra._internal.utils import create_config_search_path
    from hydra.core.config_store import ConfigStore
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.plugins import Plugins
    from hydra.types import RunMode

    from ..problem.objectives import Objectives

    config_name = f"{task_name}_sweep"
    ConfigStore.instance().store(name=config_name, node={
        "defaults": ["_self_", {"override hydra/sweeper": "skopt_gp"}, {"override hydra/launcher": "joblib"}],
        **primary,
        "hydra": {"mode": "MULTIRUN", "sweep": {"dir": str(sweep_dir)}, "job": {"chdir": False},
                  "launcher": {"n_jobs": n_jobs},
                  "sweeper": dict(sweeper)},
    })
    outer = GlobalHydra.instance().hydra if GlobalHydra.instance().is_initialized() else None
    GlobalHydra.instance().clear()
    try:
        hydra_ = Hydra.create_main_hydra2(task_name, create_config_search_path(None))
        config = hydra_.compose_config(config_name, [], run_mode=RunMode.MULTIRUN, with_log_configuration=True)
        context = HydraContext(config_loader=hydra_.config_loader, callbacks=Callbacks(config))
        settings, _ = read_settings({k: v for k, v in config.hydra.sweeper.items()
                                     if k not in ("_target_", "_recursive_", "params")})
        task = TimedTask(task_function, objectives=Objectives.of_settings(settings)[0])
        launcher = Plugins.instance().instantiate_launcher(hydra_context=context, task_function=task, config=config)

        def validate(batch: Sequence[Sequence[str]]) -> None:
            for overrides in batch:
                hydra_.config_loader.load_sweep_config(master_config=config, sweep_overrides=list(overrides))

        params = OmegaConf.to_container(config.hydra.sweeper.params, resolve=True)
        loop = sweep_loop(settings, params, [], config, context, launcher, task, validate, **door)
        loop.run()
        return loop.returns
    finally:
        GlobalHydra.instance().clear()
        if outer is not None:
            GlobalHydra.instance().initialize(outer)


def _start_engine(launcher: Launcher) -> None:
    """Start what a launcher would start on its first launch, here in the main thread before
    any launch: a local Ray's processes die with the thread that started them, and a Ray
    cluster refuses the object store size the Ray launcher always passes."""
    if type(launcher).__name__ != "RayLauncher" or not hasattr(launcher, "ray_cfg"):
        return
    from hydra_plugins.hydra_ray_launcher._launcher_util import start_ray
    from omegaconf import open_dict

    init = launcher.ray_cfg.init
    with open_dict(init):
        if init.get("address"):
            log.info("Connecting to the Ray cluster at %s, leaving its object store size to the "
                     "cluster (a running cluster refuses the launcher's object_store_memory)", init.address)
            init.object_store_memory = None
        else:
            # the launcher's own default (hydra_ray_launcher._core.launch) for a local Ray
            init.setdefault("object_store_memory", 78643200)
    start_ray(init)


def _say_which_slurm_jobs_still_run(config: DictConfig) -> None:
    """After an interrupt, the submitit jobs with no result yet (they may still run on the
    cluster: a resume reuses none of their job numbers) and the command that cancels them."""
    if "slurm" not in str(OmegaConf.select(config, "hydra.launcher._target_", default="")).lower():
        return
    folder = OmegaConf.select(config, "hydra.launcher.submitit_folder", default=None)
    if not isinstance(folder, str) or "%j" not in folder:
        return
    root = Path(folder.split("%j")[0])
    if not root.is_dir():
        return
    folders = [p for p in root.iterdir() if p.is_dir()]
    arrays = {p.name.split("_")[0] for p in folders if "_" in p.name}  # batch: ID_k per task
    unfinished = sorted((p.name for p in folders if p.name not in arrays and not list(p.glob("*_result.pkl"))),
                        key=lambda name: (len(name), name))
    if unfinished:
        log.warning("SLURM job(s) of this sweep may still be running: %s. Cancel them with: scancel %s",
                    ", ".join(unfinished), " ".join(unfinished))


def launcher_parallelism(launcher: Any) -> int:
    """The launcher config's ``n_jobs`` (``hydra.launcher``), negative values counted back from
    the CPUs this process may use as joblib counts them (-1: all), else 1.

    Not ``joblib.effective_n_jobs``: that answers for the backend active in this process (1
    inside a worker), where this reads the launcher's config."""
    n_jobs = OmegaConf.select(launcher, "n_jobs", default=None) if OmegaConf.is_config(launcher) else None
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs == 0:
        return 1
    if n_jobs < 0:
        return max(1, available_cpus() + 1 + n_jobs)
    return n_jobs


def available_cpus() -> int:
    """CPUs this process may use, as joblib counts them: its affinity mask and a container's
    CPU quota."""
    import joblib

    return joblib.cpu_count()


def _objective_name(config: DictConfig) -> Optional[str]:
    """The app's own name for what it returns: a top-level ``monitor`` (a Lightning convention,
    the example's) or lightning-hydra-template's ``optimized_metric``."""
    for key in ("monitor", "optimized_metric"):
        name = OmegaConf.select(config, key, default=None)
        if isinstance(name, str) and name:
            return name
    return None


def _plain(value: Any) -> Any:
    if OmegaConf.is_config(value):
        return OmegaConf.to_container(value, resolve=True)
    return value
