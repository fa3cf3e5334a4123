"""The same sweep, unchanged, through Hydra's cluster launchers: submitit (local) and Ray (local).

Each test runs a 4-trial sweep in batches of 2 in a subprocess (``python -Werror app.py -m``,
as Hydra's own test helpers do) and checks that every trial's value came back through the
launcher and reached the GP: four ok records numbered 0..3 in two batches, each value equal to
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

APP = Path(__file__).parent / "apps" / "sphere" / "app.py"
ROOT = Path(__file__).resolve().parent.parent

LAUNCHERS = {
    # name: (plugin module, extra, launcher overrides, a line the launcher logs)
    "submitit_local": ("hydra_plugins.hydra_submitit_launcher", "submitit",
                       ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5"],
                       "Submitit 'local' sweep output dir"),
    "ray": ("hydra_plugins.hydra_ray_launcher", "ray",
            ["hydra/launcher=ray"],
            "Ray Launcher is launching 2 jobs"),
}


def sphere(params):
    """tests/apps/sphere/app.py at opt=adam (penalty 0) and n=4."""
    return (params["x"] - 1.0) ** 2 + (params["y"] + 0.5) ** 2


def run_sweep(sweep_dir, launcher_overrides, timeout=300):
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-Werror", str(APP), "-m", "hydra/sweeper=skopt_gp",
           f"hydra.sweep.dir={sweep_dir}", "x=interval(-2, 2)", "y=interval(-2, 2)",
           "hydra.sweeper.n_calls=4", "hydra.sweeper.n_initial_points=2",
           # batch_size: null follows hydra.launcher.n_jobs, which these launchers do not have
           "hydra.sweeper.batch_size=2", "hydra.sweeper.random_state=0", *launcher_overrides]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=sweep_dir.parent)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    return output


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_sweep_runs_through_the_launcher_and_feeds_the_gp(tmp_path, launcher):
    module, extra, overrides, logged = LAUNCHERS[launcher]
    pytest.importorskip(module, reason=f"{launcher} is not installed: pip install -e '.[{extra}]'")
    sweep_dir = tmp_path / "sweep"
    output = run_sweep(sweep_dir, overrides)
    assert logged in output, "the sweep did not go through the launcher:\n" + output[-3000:]

    records = [json.loads(line) for line in (sweep_dir / "trials.jsonl").read_text().splitlines()]
    assert [r["number"] for r in records] == [0, 1, 2, 3]
    assert [r["status"] for r in records] == ["ok"] * 4, records
    assert [r["batch"] for r in records] == [1, 1, 2, 2]
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
    # batch 2 was chosen by the GP after batch 1's values were told to it
    assert "Batch 2: launching 2 trial(s) #2-#3" in output
    assert {tuple(r["params"].values()) for r in records[2:]}.isdisjoint(
        tuple(r["params"].values()) for r in records[:2])

    if launcher == "submitit_local":
        # every job of a batch is a fresh interpreter, started by submitit in its own folder
        assert len([p for p in (sweep_dir / ".submitit").iterdir() if p.name.isdigit()]) == 4
        pids = {(Path(r["job_dir"]) / "pid.txt").read_text() for r in records}
        assert len(pids) == 4
