"""Scheduling: async slots refilled as trials return, batches, the device pool, job numbers.

The unit tests drive :mod:`hydra_skopt_sweeper.sweep.scheduler` with fake launch functions; the
sweeps run tests/apps/sphere/app.py in subprocesses through the joblib launcher (2 workers),
and in this process through Hydra's basic launcher, and read what each job recorded
(``times.txt``: its start, its end and the device it was given). Sweeps that several tests read
run once (module-scoped fixtures).
"""
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hydra_skopt_sweeper.errors import SweeperConfigError
from hydra_skopt_sweeper.settings import check_devices
from hydra_skopt_sweeper.sweep.scheduler import (
    ConcurrentLauncher,
    DevicePool,
    Handover,
    Launch,
    next_job_number,
    reserve,
)
from tests import inprocess
from tests.killing import kill_when

APP = Path(__file__).parent / "apps" / "sphere" / "app.py"
JOBLIB = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
# trials of 0.1 s to 2.1 s: the longer, the larger x
SPACE = ["x=interval(-2, 2)", "y=interval(-2, 2)", "sleep=0.1", "sleep_per_x=0.5"]
# trials of 1 s to 3 s: a freed slot's refill (a GP fit, slower on a busy machine) comes while
# the other slot's trial still runs
LONGER_TRIALS = ["x=interval(-2, 2)", "y=interval(-2, 2)", "sleep=1.0", "sleep_per_x=0.5"]
SETTINGS = ["hydra/sweeper=skopt_gp", "hydra.sweeper.random_state=0", "hydra.sweeper.plots=false"]


def command(sweep_dir, *overrides):
    return [str(APP), "-m", f"hydra.sweep.dir={sweep_dir}", *SETTINGS, *overrides]


def sweep(sweep_dir, *overrides):
    """A sweep that succeeds, its (stdout, stderr) (tests/inprocess.py's ``sweep``)."""
    return inprocess.sweep(APP, sweep_dir, [*SETTINGS, *overrides])


def journal(sweep_dir):
    return [json.loads(line) for line in (Path(sweep_dir) / "trials.jsonl").read_text().splitlines()]


def job_times(record):
    """(start, end, device) as the job recorded them."""
    start, end, device = (Path(record["job_dir"]) / "times.txt").read_text().split()
    return float(start), float(end), device


def refilled_while_another_ran(records):
    """Some trial c started after a trial a ended, while a trial b that was already running
    when a ended still ran: a's slot was refilled without waiting for b (with a batch barrier,
    whatever runs when c starts was started with c, after a ended)."""
    times = [job_times(r)[:2] for r in records]
    return any(a_end < c_start < b_end and b_start < a_end
               for _, a_end in times for c_start, _ in times for b_start, b_end in times)


# -- the scheduler's parts ------------------------------------------------------------------------

def test_the_device_pool_hands_out_each_device_once_lowest_listed_first():
    pool = DevicePool([2, 0, 1], "trainer.devices=[{device}]")
    assert [pool.take(), pool.take()] == [2, 0]
    pool.give_back(2)
    assert pool.take() == 2 and pool.take() == 1
    with pytest.raises(RuntimeError, match="no free device"):
        pool.take()
    pool.give_back(0)
    with pytest.raises(RuntimeError, match="given back twice"):
        pool.give_back(0)
    assert pool.overrides(3) == ["trainer.devices=[3]"]
    off = DevicePool(None, "trainer.devices=[{device}]")
    assert off.take() is None and off.overrides(None) == []


@pytest.mark.parametrize("devices, template, batch_size, message", [
    ([], "d={device}", None, "hydra.sweeper.devices=[]: must be a non-empty list"),
    ("0,1", "d={device}", None, "hydra.sweeper.devices='0,1': must be a non-empty list"),
    ([0, True], "d={device}", None, "True is not a device id"),
    ([0, 1, 1], "d={device}", None, "1 listed more than once"),
    ([0, 1], "trainer.devices=[0]", None, "hydra.sweeper.device_override='trainer.devices=[0]'"),
    ([0, 1], "d={device}", 3, "hydra.sweeper.batch_size=3: must be <= the 2 device(s)"),
])
def test_a_bad_device_pool_is_refused_naming_the_field(devices, template, batch_size, message):
    with pytest.raises(SweeperConfigError, match=re.escape(message)):
        check_devices(devices, template, batch_size)


def test_a_reserved_job_number_is_never_handed_out_again(tmp_path):
    outcomes = tmp_path / ".outcomes"
    assert next_job_number(outcomes, []) == 0
    reserve(outcomes, [0, 1, 2])  # launched, then the sweep was killed before any returned
    assert next_job_number(outcomes, []) == 3
    (outcomes / "5.json").write_text("{}")
    assert next_job_number(outcomes, [1]) == 6
    assert next_job_number(outcomes, [9]) == 10


def _launch(number):
    return Launch(number, [number], {"x": number}, [f"x={number}"])


def test_a_launch_starts_only_once_the_previous_one_handed_its_job_over():
    handover, events, release = Handover(), [], threading.Event()

    def launch(overrides, number):
        events.append(f"set-up {number}")
        handover()  # the task function pickled: the launcher's set-up is over
        events.append(f"handed over {number}")
        release.wait(30)
        return [f"return {number}"]

    runner = ConcurrentLauncher(launch, handover, dispatch_timeout=30)
    runner.start(_launch(0))
    runner.start(_launch(1))
    assert events == ["set-up 0", "handed over 0", "set-up 1", "handed over 1"]
    assert sorted(runner.running) == [0, 1]  # both run at once: start() did not wait for a return
    release.set()
    finished = sorted([runner.next_finished()[1], runner.next_finished()[1]])
    assert finished == ["return 0", "return 1"] and not runner.running


def test_a_launch_that_never_hands_over_is_waited_for_until_it_returns():
    returned = []

    def launch(overrides, number):
        returned.append(number)
        return [number]

    runner = ConcurrentLauncher(launch, Handover(), dispatch_timeout=30)
    runner.start(_launch(4))
    assert returned == [4]  # start() returned only once the launch had


def test_a_launch_that_raises_is_that_trials_error_only():
    def launch(overrides, number):
        if number == 1:
            raise RuntimeError("the worker died\nand more")
        return [number]

    runner = ConcurrentLauncher(launch, Handover())
    runner.start(_launch(0))
    runner.start(_launch(1))
    results = sorted([runner.next_finished() for _ in range(2)], key=lambda r: r[0].number)
    assert results[0][1:] == (0, None)
    assert results[1][1:] == (None, "RuntimeError: the worker died")


# -- real sweeps ----------------------------------------------------------------------------------

# each shared sweep runs once for the tests that read it (tests/conftest.py keeps them on one worker)
DEVICES = ["hydra.sweeper.devices=[3,5]", "hydra.sweeper.device_override='device=gpu{device}'"]


@pytest.fixture(scope="module")
def async_sweep(tmp_path_factory):
    """An async sweep over the device pool: its dir and its stdout."""
    sweep_dir = tmp_path_factory.mktemp("async")
    out, _ = sweep(sweep_dir, *LONGER_TRIALS, "hydra.sweeper.n_calls=8", "hydra.sweeper.n_initial_points=4",
                   *DEVICES, *JOBLIB)
    return sweep_dir, out


@pytest.fixture(scope="module")
def batch_sweep(tmp_path_factory):
    """A batch sweep over the device pool: its dir and its stdout."""
    sweep_dir = tmp_path_factory.mktemp("batch")
    out, _ = sweep(sweep_dir, *SPACE, "hydra.sweeper.n_calls=6", "hydra.sweeper.n_initial_points=4",
                   "hydra.sweeper.scheduling=batch", *DEVICES, *JOBLIB)
    return sweep_dir, out


@pytest.mark.slow
def test_async_refills_each_slot_as_its_trial_returns(async_sweep):
    sweep_dir, out = async_sweep
    records = journal(sweep_dir)
    numbers = [r["number"] for r in records]
    assert sorted(numbers) == list(range(8))
    assert len({r["job_dir"] for r in records}) == 8 and all(r["status"] == "ok" for r in records)
    assert refilled_while_another_ran(records)
    # a line per launched and per returned trial, with the best so far
    assert "2 at a time, each slot refilled as its trial returns" in out
    for number in range(8):
        assert f"#{number} launched (" in out
        assert f"  #{number} -> " in out
    assert out.count("; best so far: #") == 8
    assert "Joblib.Parallel" not in out  # the launcher's own three lines per launch() are quiet
    # trials.csv lists trials by number, whatever order they returned in
    rows = (sweep_dir / "trials.csv").read_text().splitlines()[1:]
    assert [int(row.split(",")[0]) for row in rows] == list(range(8))


@pytest.mark.slow
def test_batch_scheduling_waits_for_the_whole_batch(batch_sweep):
    sweep_dir, out = batch_sweep
    records = journal(sweep_dir)
    assert [r["number"] for r in records] == list(range(6))
    assert [r["batch"] for r in records] == [1, 1, 2, 2, 3, 3]
    assert not refilled_while_another_ran(records)
    assert "Batch 3: launching 2 trial(s) #4-#5" in out


@pytest.mark.slow
@pytest.mark.parametrize("scheduling", ["async", "batch"])
def test_no_two_running_trials_hold_the_same_device(request, scheduling):
    sweep_dir, out = request.getfixturevalue(f"{scheduling}_sweep")
    records = journal(sweep_dir)
    assert len(records) == (8 if scheduling == "async" else 6)
    held = {r["number"]: job_times(r) for r in records}
    assert {device for _, _, device in held.values()} == {"gpu3", "gpu5"}
    for a, (start_a, end_a, device_a) in held.items():
        for b, (start_b, end_b, device_b) in held.items():
            if a < b and start_a < end_b and start_b < end_a:  # they ran at the same time
                assert device_a != device_b, (a, b, held)
    assert "devices [3, 5]" in out and ", device 3" in out and ", device 5" in out
    # that the async trials overlapped across refills: test_async_refills_each_slot_as_its_trial_returns


@pytest.fixture(scope="module")
def failing_warm_sweep(tmp_path_factory):
    """An async sweep whose trials above 3 raise, under a constraint, started warm from an earlier
    sweep's journal (one run in this process): its dir and its stdout."""
    old, new = tmp_path_factory.mktemp("old"), tmp_path_factory.mktemp("failing_warm")
    sweep(old, "x=interval(-2, 2)", "y=interval(-2, 2)", "hydra.sweeper.n_calls=4", "hydra.sweeper.n_initial_points=4")
    out, _ = sweep(new, *SPACE, "fail_above=3", "hydra.sweeper.constraint='x < 0.5'", "hydra.sweeper.n_calls=8",
                   "hydra.sweeper.n_initial_points=4", f"hydra.sweeper.warm_start=[{old / 'trials.jsonl'}]", *JOBLIB)
    return new, out


@pytest.mark.slow
def test_a_failing_trial_frees_its_slot_and_the_others_go_on(failing_warm_sweep):
    sweep_dir, out = failing_warm_sweep
    records = journal(sweep_dir)
    assert sorted(r["number"] for r in records) == list(range(8))
    failed = [r for r in records if r["status"] == "failed"]
    assert failed and all("RuntimeError: value" in r["error"] for r in failed)
    assert sum(r["status"] == "ok" for r in records) >= 4
    assert "Sweep finished: 8 trial(s)" in out


@pytest.mark.slow
def test_async_keeps_the_constraint_and_starts_warm(failing_warm_sweep):
    sweep_dir, out = failing_warm_sweep
    assert "Warm start from" in out and "trial(s) told to the GP" in out
    records = journal(sweep_dir)
    assert len(records) == 8 and all(r["params"]["x"] < 0.5 for r in records)


@pytest.mark.slow
def test_max_failures_stops_launching_and_lets_the_running_trials_return(tmp_path):
    process = subprocess.run([sys.executable, *command(tmp_path, *SPACE, "fail_above=-1",
                              "hydra.sweeper.max_failures=1", "hydra.sweeper.n_calls=8", *JOBLIB)],
                             capture_output=True, text=True)
    assert process.returncode != 0
    assert "Stopping: 2 trial(s) failed, hydra.sweeper.max_failures=1" in process.stderr
    records = journal(tmp_path)
    # both slots were busy when the first failure came back: the other trial was waited for
    assert len(records) == 2 and "waiting for the 1 running trial(s) to return" in process.stdout


@pytest.mark.slow
def test_the_basic_launcher_falls_back_to_batch_with_one_line(tmp_path):
    out, _ = sweep(tmp_path, "x=interval(-2, 2)", "hydra.sweeper.n_calls=3", "hydra.sweeper.n_initial_points=2")
    assert out.count("hydra.sweeper.scheduling=async needs a launcher that runs jobs outside this "
                     "process") == 1
    assert "using batch" in out and "Batch 3: launching 1 trial(s) #2-#2" in out
    assert [r["batch"] for r in journal(tmp_path)] == [1, 2, 3]


@pytest.mark.slow
def test_kill_9_with_every_slot_busy_then_resume_reuses_no_job_number(tmp_path):
    overrides = [*SPACE, "hydra.sweeper.n_calls=8", "hydra.sweeper.n_initial_points=4", *JOBLIB]
    outcomes, path = tmp_path / ".outcomes", tmp_path / "trials.jsonl"

    def every_slot_busy():  # two trials returned, both slots busy again
        done = len(path.read_text().splitlines()) if path.is_file() else 0
        reserved = len(list(outcomes.glob("*.launched"))) if outcomes.is_dir() else 0
        return done >= 2 and reserved - done == 2

    kill_when(command(tmp_path, *overrides), every_slot_busy)
    before = journal(tmp_path)
    running = {int(p.name.split(".")[0]) for p in outcomes.glob("*.launched")} - {r["number"] for r in before}
    assert len(before) < 8 and running
    # a killed sweeper's joblib workers may still finish their trial and leave its outcome
    finished = {n for n in running if (outcomes / f"{n}.json").is_file()}
    out, _ = sweep(tmp_path, *overrides)
    assert f"Resuming {path}: {len(before)} trial(s)" in out
    after = journal(tmp_path)
    assert after[:len(before)] == before  # nothing finished was lost or rewritten
    numbers = [r["number"] for r in after]
    assert len(numbers) == 8 and len(set(numbers)) == 8
    # a trial that finished is recorded from its outcome, not run again
    for number in finished:
        assert f"#{number} finished after the earlier run stopped" in out
    assert numbers[len(before):len(before) + len(finished)] == sorted(finished)
    # the trials killed while running ran again under new numbers, in new job dirs
    assert not (running - finished) & set(numbers)
    assert min(numbers[len(before) + len(finished):]) > max(running)
    assert len({r["job_dir"] for r in after}) == 8
