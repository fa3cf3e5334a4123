"""The same sweep, unchanged, through Hydra's cluster launchers: submitit (local) and Ray (local).

Each test runs a 4-trial sweep, 2 trials at a time, in a subprocess (``python -Werror app.py
-m``, as Hydra's own test helpers do), in both schedulings (``batch``: two launches of 2;
``async``: one launch per trial from two slots), and checks that every trial's value came back
through the launcher and reached the GP: four ok records numbered 0..3, each value equal to
the app's function at the params recorded for it, job dirs that the jobs wrote into, and a
finite best value in ``optimization_results.yaml``.

The launchers are optional (``pip install -e ".[submitit]"`` / ``".[ray]"`` / ``".[cluster]"``);
a test skips at once, naming the extra, when its launcher is not installed. Both install and
run with hydra-core 1.3.8 on Python 3.11 (hydra-submitit-launcher 1.2.0 with submitit 1.5.4;
hydra-ray-launcher 1.2.2 with ray 2.60.0).
"""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

# every test here runs a real sweep in a subprocess (or a real engine): not in make test-fast
pytestmark = pytest.mark.slow

APP = Path(__file__).parent / "apps" / "sphere" / "app.py"
ROOT = Path(__file__).resolve().parent.parent

LAUNCHERS = {
    # name: (plugin module, extra, launcher overrides, a line the launcher logs)
    "submitit_local": ("hydra_plugins.hydra_submitit_launcher", "submitit",
                       ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5"],
                       "Trials run through hydra/launcher=submitit_local (LocalLauncher)"),
    "ray": ("hydra_plugins.hydra_ray_launcher", "ray",
            ["hydra/launcher=ray"],
            "Trials run through hydra/launcher=ray (RayLauncher)"),
}
SCHEDULINGS = ["async", "batch"]


def require_launcher(launcher):
    """Skip when the launcher's extra is absent, except under ``make test`` (which installs it
    and sets SKOPT_REQUIRE_LAUNCHERS=1): there a missing launcher is a failure, not a skip."""
    module, extra, _, _ = LAUNCHERS[launcher]
    if os.environ.get("SKOPT_REQUIRE_LAUNCHERS") == "1":
        __import__(module)
    else:
        pytest.importorskip(module, reason=f"{launcher} is not installed: pip install -e '.[{extra}]'")


def sphere(params):
    """tests/apps/sphere/app.py at opt=adam (penalty 0) and n=4."""
    return (params["x"] - 1.0) ** 2 + (params["y"] + 0.5) ** 2


def run_sweep(sweep_dir, launcher_overrides, n_initial_points=2, batch_size=2, timeout=300):
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-Werror", str(APP), "-m", "hydra/sweeper=skopt_gp",
           f"hydra.sweep.dir={sweep_dir}", "x=interval(-2, 2)", "y=interval(-2, 2)",
           "hydra.sweeper.n_calls=4", f"hydra.sweeper.n_initial_points={n_initial_points}",
           # batch_size: null follows hydra.launcher.n_jobs, which these launchers do not have
           f"hydra.sweeper.batch_size={batch_size}", "hydra.sweeper.random_state=0",
           "hydra.sweeper.plots=false", *launcher_overrides]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=sweep_dir.parent)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    return output


@pytest.mark.parametrize("scheduling", SCHEDULINGS)
@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_sweep_runs_through_the_launcher_and_feeds_the_gp(tmp_path, launcher, scheduling):
    _, _, overrides, logged = LAUNCHERS[launcher]
    require_launcher(launcher)
    sweep_dir = tmp_path / "sweep"
    output = run_sweep(sweep_dir, overrides + [f"hydra.sweeper.scheduling={scheduling}"])
    assert logged in output, "the sweep did not go through the launcher:\n" + output[-3000:]

    records = [json.loads(line) for line in (sweep_dir / "trials.jsonl").read_text().splitlines()]
    records.sort(key=lambda r: r["number"])  # async journals trials as they return
    assert [r["number"] for r in records] == [0, 1, 2, 3]
    assert [r["status"] for r in records] == ["ok"] * 4, records
    assert [r["batch"] for r in records] == ([1, 1, 2, 2] if scheduling == "batch" else [None] * 4)
    for record in records:
        # the value the job computed came back through the launcher, unchanged
        assert math.isclose(record["value"], sphere(record["params"]), rel_tol=1e-12, abs_tol=1e-12)
        job_dir = Path(record["job_dir"])
        assert job_dir.is_dir() and job_dir.parent == sweep_dir
        assert (job_dir / "overrides.txt").read_text().startswith(
            f"x={record['params']['x']!r} y={record['params']['y']!r}")

    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert results["n_trials"] == 4 and results["n_failed"] == 0
    assert math.isfinite(results["best_value"])
    assert results["best_value"] == min(r["value"] for r in records)
    assert results["best_job_dir"] == records[results["best_trial"]]["job_dir"]
    if scheduling == "batch":  # batch 2 was chosen by the GP after batch 1's values were told to it
        assert "Batch 2: launching 2 trial(s) #2-#3" in output
    else:  # each of #2, #3 was launched after a trial had returned, into its freed slot
        for number in (2, 3):
            launched = output.index(f"#{number} launched (2 of 2 running")
            assert output.count(" -> ", 0, launched) == number - 1
    assert {tuple(r["params"].values()) for r in records[2:]}.isdisjoint(
        tuple(r["params"].values()) for r in records[:2])

    if launcher == "submitit_local":
        # every job of a batch is a fresh interpreter, started by submitit in its own folder
        assert len([p for p in (sweep_dir / ".submitit").iterdir() if p.name.isdigit()]) == 4
        pids = {(Path(r["job_dir"]) / "pid.txt").read_text() for r in records}
        assert len(pids) == 4


@pytest.mark.parametrize("scheduling", SCHEDULINGS)
@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_a_trial_whose_process_dies_is_failed_and_the_others_kept(tmp_path, launcher, scheduling):
    """SIGKILL (as the OOM killer would) in one job: the other trials still count."""
    _, _, overrides, _ = LAUNCHERS[launcher]
    require_launcher(launcher)
    if launcher == "ray":
        overrides = overrides + ["+hydra.launcher.ray.remote.max_retries=0"]  # Ray retries 3 times
    sweep_dir = tmp_path / "sweep"
    # random_state=0 gives one initial point above 5 among the first four
    # the dying job (x < 0) dies at once; the others run up to 4 s longer (the larger x, the longer)
    run_sweep(sweep_dir, overrides + ["die_above=5", "sleep_per_x=1.0", f"hydra.sweeper.scheduling={scheduling}"],
              n_initial_points=4, batch_size=4)
    records = [json.loads(line) for line in (sweep_dir / "trials.jsonl").read_text().splitlines()]
    assert sorted(r["number"] for r in records) == [0, 1, 2, 3]
    dead = [r for r in records if sphere(r["params"]) > 5]
    assert len(dead) == 1, records
    assert dead[0]["status"] == "failed" and "lost" in dead[0]["error"]
    others = [r for r in records if r is not dead[0]]
    # async: each trial is a launch of its own, so the death touches no other; batch: the
    # launcher raises at the dead job while its batch-mates still run, and the sweeper waits
    # (bounded) for their outcomes before it records anything as lost
    assert all(r["status"] == "ok" for r in others), records
    assert all(math.isclose(r["value"], sphere(r["params"])) for r in others)
