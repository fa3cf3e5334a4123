"""A sweep dir belongs to one sweeper, and nothing that finished is lost or run twice: the
lock, exclusive job numbers, recovery of unrecorded outcomes, a trial that exits, a journal
that cannot be written, warm start from the sweep's own journal."""
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hydra_skopt_sweeper.errors import SweepStoppedError
from hydra_skopt_sweeper.sweep.lock import SweepDirBusy, SweepLock
from hydra_skopt_sweeper.sweep.scheduler import reserve, reserved
from tests.test_robustness import APP, SPACE, command, failing_sweep, journal, results, sweep

BUDGET = ["hydra.sweeper.n_calls=3", "hydra.sweeper.n_initial_points=2"]


# -- the lock -------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_second_sweeper_is_refused_before_any_launch_naming_the_holder(tmp_path):
    (tmp_path / "multirun.yaml").write_text("the holder's config\n")
    with SweepLock(tmp_path):
        _, err = failing_sweep(tmp_path, *SPACE, *BUDGET)
    assert (tmp_path / "multirun.yaml").read_text() == "the holder's config\n"
    assert f"hydra.sweep.dir={tmp_path} is in use by another sweep (process {os.getpid()} on " in err
    assert "Traceback" not in err
    assert not (tmp_path / "trials.jsonl").exists() and not (tmp_path / ".outcomes").exists()
    sweep(tmp_path, *SPACE, *BUDGET)  # released: the sweep runs
    assert len(journal(tmp_path)) == 3


def test_a_lock_is_exclusive_in_one_process_too(tmp_path):
    with SweepLock(tmp_path):
        with pytest.raises(SweepDirBusy, match=f"process {os.getpid()} on "):
            SweepLock(tmp_path).acquire()
    with SweepLock(tmp_path):  # released on leaving the block
        pass


@pytest.mark.slow
def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from hydra_skopt_sweeper.sweep.lock import SweepLock
        SweepLock({str(tmp_path)!r}).acquire()
        print("held", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(SweepDirBusy):
            SweepLock(tmp_path).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with SweepLock(tmp_path):
        pass


# -- job numbers ------------------------------------------------------------------------------------

def test_a_job_number_is_reserved_once_with_its_params(tmp_path):
    reserve(tmp_path, [3, 4], [{"x": 0.5}, {"x": True}], in_process=True)
    assert reserved(tmp_path, 3) == {"params": {"x": 0.5}, "in_process": True}
    assert reserved(tmp_path, 4)["params"] == {"x": True}
    with pytest.raises(SweepStoppedError, match="Job number 4 is taken already"):
        reserve(tmp_path, [4])


# -- an outcome that finished unrecorded ------------------------------------------------------------

def _drop_last_record(sweep_dir):
    """As a sweeper killed after its last trial returned but before it journaled it."""
    lines = (sweep_dir / "trials.jsonl").read_text().splitlines(keepends=True)
    (sweep_dir / "trials.jsonl").write_text("".join(lines[:-1]))
    return json.loads(lines[-1])


def test_a_finished_trial_that_was_never_journaled_is_recorded_not_run_again(tmp_path):
    sweep(tmp_path, *SPACE, *BUDGET)
    lost = _drop_last_record(tmp_path)
    job_dir = tmp_path / str(lost["number"])
    ran_at = (job_dir / "pid.txt").stat().st_mtime
    out, _ = sweep(tmp_path, *SPACE, *BUDGET)
    assert f"#{lost['number']} finished after the earlier run stopped: recorded from the outcome it left" in out
    records = journal(tmp_path)
    assert len(records) == 3 and records[-1]["number"] == lost["number"]
    assert records[-1]["value"] == lost["value"] and records[-1]["params"] == lost["params"]
    assert (job_dir / "pid.txt").stat().st_mtime == ran_at  # not run again
    assert results(tmp_path)["n_trials"] == 3


@pytest.mark.slow
def test_a_job_that_left_no_outcome_is_named_and_its_number_not_reused(tmp_path):
    # joblib: a job runs in a worker, and may still run when the sweeper is killed (one worker will do)
    sweep(tmp_path, *SPACE, *BUDGET, "hydra/launcher=joblib", "hydra.launcher.n_jobs=1",
          "hydra.sweeper.scheduling=batch")
    lost = _drop_last_record(tmp_path)
    (tmp_path / ".outcomes" / f"{lost['number']}.json").unlink()  # it was still running
    # the resume runs here, under the basic launcher: the job's reservation says where it ran
    out, err = sweep(tmp_path, *SPACE, *BUDGET, "hydra.sweeper.scheduling=batch")
    assert f"Job(s) #{lost['number']} were launched by an earlier run and never recorded" in out + err
    numbers = [r["number"] for r in journal(tmp_path)]
    assert numbers == [0, 1, 3]


def test_a_job_that_ended_without_a_value_runs_again(tmp_path):
    sweep(tmp_path, *SPACE, *BUDGET)
    lost = _drop_last_record(tmp_path)
    # e.g. a trial the Ctrl-C stopped in a worker that still wrote its error
    (tmp_path / ".outcomes" / f"{lost['number']}.json").write_text(json.dumps({"error": "KeyboardInterrupt"}))
    out, err = sweep(tmp_path, *SPACE, *BUDGET)
    assert f"Job(s) #{lost['number']} were launched by an earlier run and never recorded" in out + err
    assert [r["number"] for r in journal(tmp_path)] == [0, 1, 3]


# -- a trial that ends its process, a journal that cannot be written -----------------------------------

# a trial calling sys.exit is a failed trial under the basic launcher: one of the kinds of failure
# in tests/test_robustness.py's test_each_kind_of_failure_is_recorded_with_its_error[exit]


@pytest.mark.slow
def test_a_trial_that_ends_the_sweepers_process_is_recorded_as_failed_on_resume(tmp_path):
    # under the basic launcher the trial runs in the sweeper's process: os._exit ends both
    process = subprocess.run([sys.executable, str(APP), *command(tmp_path, *SPACE, *BUDGET, "mode=die")[1:]],
                             capture_output=True, text=True)
    assert process.returncode != 0 and not (tmp_path / "trials.jsonl").exists()
    out, err = sweep(tmp_path, *SPACE, *BUDGET)  # the same sweep, the app fixed
    assert "#0 was running in the sweeper's own process when it ended: recorded as failed" in out + err
    records = journal(tmp_path)
    assert [(r["number"], r["status"]) for r in records] == [(0, "failed"), (1, "ok"), (2, "ok")]
    assert "the trial called os._exit, crashed, or the sweeper was killed" in records[0]["error"]


@pytest.mark.slow
def test_a_journal_that_cannot_be_written_stops_the_sweep_and_a_resume_recovers(tmp_path):
    (tmp_path / "trials.jsonl").mkdir(parents=True)  # not writable as a file, even by root
    _, err = failing_sweep(tmp_path, *SPACE, *BUDGET)
    assert f"Cannot write the journal {tmp_path / 'trials.jsonl'}" in err
    assert f"run the same command with hydra.sweep.dir={tmp_path} to resume" in err
    assert "Traceback" not in err
    (tmp_path / "trials.jsonl").rmdir()
    out, _ = sweep(tmp_path, *SPACE, *BUDGET)
    assert "finished after the earlier run stopped" in out
    assert len(journal(tmp_path)) == 3


def test_warm_starting_from_the_sweeps_own_journal_does_not_tell_it_twice(tmp_path):
    sweep(tmp_path, *SPACE, *BUDGET)
    out, _ = sweep(tmp_path, *SPACE, "hydra.sweeper.n_calls=4", "hydra.sweeper.n_initial_points=2",
                   f"hydra.sweeper.warm_start=[{tmp_path}/trials.jsonl]")
    assert "is this sweep's own journal, which the resume reads already; not told twice" in out
    assert "told to the GP" not in out
