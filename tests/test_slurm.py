"""A real one-node SLURM with accounting on this machine (tests/engines/slurm_up.sh, as root),
and sweeps through it with the submitit_slurm launcher: a sweep in both schedulings, a job
cancelled with ``scancel`` while the sweep goes on, and Ctrl-C then a resume while the old jobs
still run (no job number reused, nothing overwritten).

Under ``make test`` (SKOPT_REQUIRE_LAUNCHERS=1) a SLURM that cannot be brought up fails the
tests; elsewhere (not root, no apt) they skip with the reason.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.killing import default_sigint

# every test here runs a real sweep in a subprocess (or a real engine): not in make test-fast
pytestmark = pytest.mark.slow

APP = Path(__file__).parent / "apps" / "sphere" / "app.py"
ENGINES = Path(__file__).parent / "engines"
SLURM = ["hydra/launcher=submitit_slurm", "hydra.launcher.timeout_min=5", "hydra.launcher.partition=debug",
         "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1", "hydra.sweeper.batch_size=2"]


def _fail_or_skip(reason):
    if os.environ.get("SKOPT_REQUIRE_LAUNCHERS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """The environment (SLURM_CONF) of a running one-node SLURM; stopped at the end."""
    try:
        import hydra_plugins.hydra_submitit_launcher  # noqa: F401
    except ImportError:
        _fail_or_skip("hydra-submitit-launcher is not installed: pip install -e '.[submitit]'")
    if os.geteuid() != 0:
        _fail_or_skip("bringing up SLURM here needs root")
    folder = tmp_path_factory.mktemp("slurm")
    up = subprocess.run(["bash", str(ENGINES / "slurm_up.sh"), str(folder)], capture_output=True, text=True,
                        timeout=600)
    try:
        if up.returncode != 0:
            _fail_or_skip(f"SLURM did not come up: {up.stderr[-2000:]}")
        yield {**os.environ, "SLURM_CONF": str(folder / "slurm.conf")}
    finally:
        subprocess.run(["bash", str(ENGINES / "slurm_down.sh"), str(folder)], capture_output=True, timeout=120)


def command(sweep_dir, *overrides):
    return [sys.executable, str(APP), "-m", "hydra/sweeper=skopt_gp", f"hydra.sweep.dir={sweep_dir}",
            "hydra.sweeper.random_state=0", "hydra.sweeper.plots=false", *SLURM, *overrides]


def journal(sweep_dir):
    return [json.loads(line) for line in (Path(sweep_dir) / "trials.jsonl").read_text().splitlines()]


def sweep(env, sweep_dir, *overrides):
    done = subprocess.run(command(sweep_dir, *overrides), env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return done.stdout + done.stderr


@pytest.mark.parametrize("scheduling", ["async", "batch"])
def test_a_sweep_runs_through_slurm(tmp_path, slurm, scheduling):
    sweep(slurm, tmp_path, "x=interval(-2, 2)", "hydra.sweeper.n_calls=4", "hydra.sweeper.n_initial_points=2",
          f"hydra.sweeper.scheduling={scheduling}")
    records = journal(tmp_path)
    assert sorted(r["number"] for r in records) == [0, 1, 2, 3]
    assert all(r["status"] == "ok" for r in records)
    # one SLURM job per trial (async) or one array job per batch (batch), all in the sweep dir
    submitted = {p.name.split("_")[0] for p in (tmp_path / ".submitit").iterdir() if p.is_dir()}
    assert len(submitted) == (4 if scheduling == "async" else 2)


def _running_jobs(env, sweep_dir):
    """SLURM job ids of this sweep's trials that run now (from the sweep dir and squeue)."""
    out = subprocess.run(["squeue", "-h", "-t", "R", "-o", "%i"], env=env, capture_output=True, text=True).stdout
    running = set(out.split())
    folder = Path(sweep_dir) / ".submitit"
    ours = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    return sorted(running & ours)


def _wait(predicate, timeout, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        assert process is None or process.poll() is None, "the sweep ended first"
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_a_cancelled_job_is_recorded_failed_and_the_sweep_goes_on(tmp_path, slurm):
    process = subprocess.Popen(command(tmp_path, "x=interval(-2, 2)", "sleep=3", "hydra.sweeper.n_calls=5",
                                       "hydra.sweeper.n_initial_points=3"),
                               env=slurm, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        (victim, *_) = _wait(lambda: _running_jobs(slurm, tmp_path), 120, process)
        subprocess.run(["scancel", victim], env=slurm, check=True)
        output, _ = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output[-4000:]
    records = journal(tmp_path)
    assert len(records) == 5
    failed = [r for r in records if r["status"] == "failed"]
    assert len(failed) == 1 and "lost" in failed[0]["error"], records
    assert sum(r["status"] == "ok" for r in records) == 4


def test_ctrl_c_then_resume_while_the_old_jobs_run_reuses_no_job_number(tmp_path, slurm):
    overrides = ["x=interval(-2, 2)", "sleep=4", "hydra.sweeper.n_calls=6", "hydra.sweeper.n_initial_points=4"]
    process = subprocess.Popen(command(tmp_path, *overrides), env=slurm, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, preexec_fn=default_sigint)
    try:
        _wait(lambda: len(_running_jobs(slurm, tmp_path)) == 2, 120, process)
        process.send_signal(signal.SIGINT)  # Ctrl-C: it waits for the running trials...
        time.sleep(1)
        process.send_signal(signal.SIGINT)  # ...and a second one stops it at once
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, output[-3000:]
    assert "scancel" in output  # it says how to cancel the jobs it left running
    still_running = _running_jobs(slurm, tmp_path)
    assert still_running, "the old jobs ended before the resume could overlap them"
    reserved = {int(p.name.split(".")[0]) for p in (tmp_path / ".outcomes").glob("*.launched")}
    out = sweep(slurm, tmp_path, *overrides)
    # an old job that finished before the resume looked is recorded from its outcome, not run again
    recovered = {int(n) for n in re.findall(r"#(\d+) finished after the earlier run stopped", out)}
    assert recovered <= reserved
    if reserved - recovered:
        assert "were launched by an earlier run and never recorded" in out
    records = journal(tmp_path)
    numbers = [r["number"] for r in records]
    assert len(numbers) == 6 and len(set(numbers)) == 6
    assert not (reserved - recovered) & set(numbers)  # the others ran again under new numbers
    # every job dir holds what its own trial received: nothing was overwritten by an old job
    for record in records:
        received = (Path(record["job_dir"]) / "overrides.txt").read_text()
        assert received.startswith(f"x={record['params']['x']!r}")
