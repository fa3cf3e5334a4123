"""Never lose a trial: failure policies, dead workers, kills, resume, warm start, bad input.

Every test runs real multiruns of tests/apps/sphere/app.py, here (tests/inprocess.py) or in subprocesses.
"""
import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hydra_skopt_sweeper.insight import sweep_report
from hydra_skopt_sweeper.records.journal import read_trials
from tests import inprocess
from tests.killing import kill_when

# every test here runs a real sweep in a subprocess (or a real engine): not in make test-fast
pytestmark = pytest.mark.slow

APP = Path(__file__).parent / "apps" / "sphere" / "app.py"
JOBLIB = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]


# pictures are test_plots' and test_report's
SETTINGS = ["hydra/sweeper=skopt_gp", "hydra.sweeper.random_state=0", "hydra.sweeper.plots=false"]


def command(sweep_dir, *overrides):
    return [str(APP), "-m", f"hydra.sweep.dir={sweep_dir}", *SETTINGS, *overrides]


def sweep(sweep_dir, *overrides):
    """A sweep that succeeds, its (stdout, stderr) (tests/inprocess.py's ``sweep``)."""
    return inprocess.sweep(APP, sweep_dir, [*SETTINGS, *overrides])


def failing_sweep(sweep_dir, *overrides):
    """Runs a sweep that must exit non-zero; returns (stdout, stderr)."""
    process = subprocess.run([sys.executable, "-Werror", *command(sweep_dir, *overrides)],
                             capture_output=True, text=True)
    assert process.returncode != 0, process.stdout + process.stderr
    return process.stdout, process.stderr


def journal(sweep_dir):
    return [json.loads(line) for line in (Path(sweep_dir) / "trials.jsonl").read_text().splitlines()]


def results(sweep_dir):
    return yaml.safe_load((Path(sweep_dir) / "optimization_results.yaml").read_text())


SPACE = ["x=interval(-2, 2)", "y=interval(-2, 2)"]


# -- failed trials ------------------------------------------------------------------------------

# each kind of failure, and the error its trial is recorded with (all under the basic launcher)
FAILURE_KINDS = {
    "not_a_number": "not a finite number",
    "none": "returned None",
    "mapping": "monitor='val_acc' is not in the returned mapping",
    "float": "RuntimeError: value",
    "exit": "the trial called sys.exit(0)",
}


@pytest.fixture(scope="module")
def every_kind_failed(tmp_path_factory):
    """One sweep whose trials fail each in its own way, one trial per kind: (sweep dir, stdout, stderr)."""
    sweep_dir = tmp_path_factory.mktemp("every_kind_failed")
    # a finite space of one point per mode: x=5 (16.25, above fail_above: raises) with mode=float only
    out, err = failing_sweep(sweep_dir, f"mode=choice({','.join(FAILURE_KINDS)})", "x=choice(1.0,5.0)",
                             "hydra.sweeper.constraint='(mode == \"float\") == (x == 5.0)'", "fail_above=1.0",
                             "hydra.sweeper.monitor=val_acc", f"hydra.sweeper.n_calls={len(FAILURE_KINDS)}",
                             "hydra.sweeper.n_initial_points=2")
    return sweep_dir, out, err


@pytest.mark.parametrize("mode", list(FAILURE_KINDS))
def test_each_kind_of_failure_is_recorded_with_its_error(every_kind_failed, mode):
    sweep_dir, out, err = every_kind_failed
    count, error = len(FAILURE_KINDS), FAILURE_KINDS[mode]
    assert f"Every trial failed ({count}), so there is nothing to optimise: " in err
    assert "(trial #0" in err and "Traceback" not in err
    records = journal(sweep_dir)
    assert len(records) == count
    (record,) = [r for r in records if r["params"]["mode"] == mode]
    assert record["status"] == "failed" and error in record["error"] and record["value"] is None
    # the log names each trial's error (the closing line names only the first three)
    assert any(f"#{record['number']} failed: " in line and error in line for line in (out + err).splitlines())
    summary = results(sweep_dir)
    assert summary["n_failed"] == count and summary["best_value"] is None


def test_penalize_steers_away_and_some_failures_do_not_change_the_exit_status(tmp_path):
    # values above 1.5 fail: the penalised GP must still find the optimum region; the sweep raises
    # if its exit status would be non-zero
    sweep(tmp_path, *SPACE, "fail_above=1.5", "hydra.sweeper.on_failure=penalize",
          "hydra.sweeper.n_calls=12", "hydra.sweeper.n_initial_points=6")
    records = journal(tmp_path)
    assert len(records) == 12
    n_failed = sum(r["status"] == "failed" for r in records)
    assert 0 < n_failed < 6  # fewer than half
    assert {r["status"] for r in records} == {"ok", "failed"}
    assert results(tmp_path)["best_value"] < 0.5


def test_skip_never_proposes_a_failed_point_again(tmp_path):
    # at x=1, y=-0.5 the value is the optimiser's penalty: adam 0, sgd 0.3, rmsprop 0.6 (fails)
    overrides = ["x=1.0", "y=-0.5", "opt=choice(adam,sgd,rmsprop)", "fail_above=0.5",
                 "hydra.sweeper.on_failure=skip", "hydra.sweeper.n_initial_points=1"]
    sweep(tmp_path, *overrides, "hydra.sweeper.n_calls=3")
    records = journal(tmp_path)
    assert sorted(r["params"]["opt"] for r in records) == ["adam", "rmsprop", "sgd"]
    assert [r["params"]["opt"] for r in records if r["status"] == "failed"] == ["rmsprop"]
    # a resume replays the failure as excluded too: nothing is left to try
    out, _ = sweep(tmp_path, *overrides, "hydra.sweeper.n_calls=5")
    assert len(journal(tmp_path)) == 3
    assert "The search space is exhausted after 3 trial(s)" in out


def test_on_failure_raise_stops_with_the_trials_error(tmp_path):
    out, err = failing_sweep(tmp_path, *SPACE, "fail_above=-1", "hydra.sweeper.on_failure=raise",
                             "hydra.sweeper.n_calls=6", "hydra.sweeper.n_initial_points=4",
                             "hydra.sweeper.batch_size=2")
    assert "failed and hydra.sweeper.on_failure=raise: RuntimeError: value" in err
    assert "Traceback" not in err
    assert len(journal(tmp_path)) == 2  # the failed batch is recorded, nothing after it ran


def test_max_failures_stops_with_the_count(tmp_path):
    out, err = failing_sweep(tmp_path, *SPACE, "mode=not_a_number", "hydra.sweeper.max_failures=3",
                             "hydra.sweeper.n_calls=10", "hydra.sweeper.batch_size=2")
    assert "Stopping: 4 trial(s) failed, hydra.sweeper.max_failures=3" in err
    assert len(journal(tmp_path)) == 4


def test_a_sweep_without_a_search_space_whose_run_fails_exits_non_zero(tmp_path):
    _, err = failing_sweep(tmp_path, "fail_above=-1")
    assert "Every trial failed (1)" in err and "RuntimeError: value" in err


# -- dead workers, kills, resume ------------------------------------------------------------------

def test_a_worker_that_dies_loses_only_its_own_trial(tmp_path):
    # with y=0 the value is (x-1)^2 + 0.25: x < -0.12 means above 1.5, and those trials
    # SIGKILL their own worker process
    # a dying job waits for its batch-mate's outcome first: the mate's return never races the death
    # the initial design's batch 2 loses a worker; batch 3 runs after it, on new workers
    sweep(tmp_path, "x=interval(-2, 2)", "die_above=1.5", "die_wait_s=20", "hydra.sweeper.n_calls=6",
          "hydra.sweeper.n_initial_points=4", "hydra.sweeper.scheduling=batch", *JOBLIB)
    records = journal(tmp_path)
    assert [r["number"] for r in records] == list(range(6))
    died = [r for r in records if r["status"] == "failed"]
    assert died and all("the launcher lost the job (TerminatedWorkerError" in r["error"] for r in died)
    kept = [r for r in records if r["status"] == "ok"]
    assert kept and all(r["value"] <= 1.5 for r in kept)
    # the survivors of a batch that lost a worker are kept with their values
    lost_batches = {r["batch"] for r in died}
    assert any(r["batch"] in lost_batches for r in kept)


def sweeper_tracebacks(printed: str) -> list:
    """The tracebacks in what a sweep's process group printed, but for those of joblib's own
    worker processes: a Ctrl-C to the group can reach a loky worker between two tasks, which
    then prints its KeyboardInterrupt (the sweeper's drain does not depend on it)."""
    blocks = printed.split("Traceback (most recent call last):")[1:]
    return [b for b in blocks if "/loky/" not in "\n".join(b.splitlines()[:20])]


@pytest.mark.parametrize("scheduling", ["async", "batch"])
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_killed_sweep_resumes_and_loses_nothing_journaled(tmp_path, sig, scheduling):
    overrides = [*SPACE, "sleep=0.4", "hydra.sweeper.n_calls=10", "hydra.sweeper.n_initial_points=4",
                 "hydra.sweeper.batch_size=2", f"hydra.sweeper.scheduling={scheduling}"]
    path = tmp_path / "trials.jsonl"
    printed = tmp_path.parent / f"{tmp_path.name}.out"
    status = kill_when(command(tmp_path, *overrides, *JOBLIB),
                       lambda: path.is_file() and len(path.read_text().splitlines()) >= 4, sig, output=printed)
    if sig == signal.SIGINT:  # Ctrl-C: the conventional status, a line on how to resume, no traceback
        assert status == 130
        said = printed.read_text()
        assert f"with hydra.sweep.dir={tmp_path} to resume" in said and not sweeper_tracebacks(said), said
    before = path.read_text()
    n_before = len(before.splitlines())
    assert 4 <= n_before < 10
    # the resume runs here, under the basic launcher: what it reads back is the killed run's sweep dir
    out, _ = sweep(tmp_path, *overrides)
    assert f"Resuming {path}: {n_before} trial(s)" in out
    after = path.read_text()
    assert after.startswith(before)
    records = journal(tmp_path)
    numbers = [r["number"] for r in records]
    assert len(set(numbers)) == len(numbers)
    if scheduling == "batch":  # async journals trials in the order they return
        assert numbers[:n_before] == sorted(numbers[:n_before])
    # a trial that finished unrecorded when the sweep was killed is recorded, not run again
    recovered = {int(n) for n in re.findall(r"#(\d+) finished after the earlier run stopped", out)}
    launched = [n for n in numbers[n_before:] if n not in recovered]
    assert min(launched) > max(numbers[:n_before])
    assert sum(r["status"] == "ok" for r in records) == 10
    assert results(tmp_path)["n_trials"] == 10


def test_a_torn_last_line_is_skipped_with_a_warning_on_resume(tmp_path):
    overrides = [*SPACE, "hydra.sweeper.n_calls=4", "hydra.sweeper.n_initial_points=2"]
    sweep(tmp_path, *overrides[:2], "hydra.sweeper.n_calls=2", "hydra.sweeper.n_initial_points=2")
    with open(tmp_path / "trials.jsonl", "a") as handle:
        handle.write('{"number": 2, "params": {"x": 0.1')
    out, err = sweep(tmp_path, *overrides)
    assert "skipping an unreadable record" in out + err
    records = read_trials(tmp_path / "trials.jsonl")
    assert [r.number for r in records] == [0, 1, 2, 3] and all(r.ok for r in records)


def test_a_damaged_journal_resumes_and_reports_skipping_what_it_cannot_read(tmp_path, capsys, caplog):
    overrides = [*SPACE, "hydra.sweeper.n_calls=4", "hydra.sweeper.n_initial_points=2"]
    sweep(tmp_path, *overrides[:2], "hydra.sweeper.n_calls=2", "hydra.sweeper.n_initial_points=2")
    first = journal(tmp_path)[0]
    with open(tmp_path / "trials.jsonl", "ab") as handle:
        handle.write(b'{"number": 7, "params": {"x": 0.1\xff}}\n')  # not UTF-8
        handle.write(json.dumps({**first, "number": 8, "value": float("nan")}).encode() + b"\n")
        handle.write(json.dumps({**first, "value": -100.0}).encode() + b"\n")  # #0 again
    out, err = sweep(tmp_path, *overrides)
    assert "trials.jsonl:3: skipping an unreadable record (UnicodeDecodeError" in out + err
    assert "trials.jsonl:4: skipping an unreadable record (ValueError: NaN is not finite)" in out + err
    assert "trials.jsonl:5: skipping a second record of trial #0; the first one, on line 1, stands" in out + err
    records = read_trials(tmp_path / "trials.jsonl")
    assert len(records) == 4 and len({r.number for r in records}) == 4 and all(r.ok for r in records)
    assert records[0].value == first["value"]
    # the report (skopt-report's main, here: an error would raise) reads the journal as the resume
    # did; its warnings are logged (the pictures are test_report's)
    caplog.clear()
    capsys.readouterr()
    assert sweep_report.main([str(tmp_path), "--no-plots"]) == 0
    assert "4 trial(s), 0 failed" in capsys.readouterr().out and "skipping a second record of trial #0" in caplog.text


def test_a_binary_warm_start_file_is_read_as_no_trials_with_warnings(tmp_path):
    binary = tmp_path / "model.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    out, err = sweep(tmp_path / "sweep", *SPACE, "hydra.sweeper.n_calls=2", "hydra.sweeper.n_initial_points=2",
                     f"hydra.sweeper.warm_start=[{binary}]")
    assert "model.bin:1: skipping an unreadable record" in out + err
    assert "Warm start from" in out + err and "0 trial(s) told to the GP" in out + err
    assert len(journal(tmp_path / "sweep")) == 2


def test_resume_of_a_finished_sweep_launches_nothing(tmp_path):
    overrides = [*SPACE, "hydra.sweeper.n_calls=3", "hydra.sweeper.n_initial_points=2"]
    sweep(tmp_path, *overrides)
    before = (tmp_path / "trials.jsonl").read_text()
    out, _ = sweep(tmp_path, *overrides)
    assert "Launching" not in out and (tmp_path / "trials.jsonl").read_text() == before


def test_resume_with_another_space_is_refused_saying_what_differs(tmp_path):
    sweep(tmp_path, *SPACE, "hydra.sweeper.n_calls=2", "hydra.sweeper.n_initial_points=2")
    _, err = failing_sweep(tmp_path, "x=interval(-3, 2)", "opt=adam,sgd", "hydra.sweeper.n_calls=4",
                           "hydra.sweeper.n_initial_points=2")
    assert "different search space" in err
    assert "x: low -2.0 -> -3.0" in err and "opt is new" in err and "y is no longer searched" in err


def test_resume_of_another_objective_is_refused_saying_what_differs(tmp_path):
    # another direction and another metric at once: the refusal names each
    sweep(tmp_path, *SPACE, "mode=mapping", "hydra.sweeper.monitor=val_loss", "hydra.sweeper.n_calls=2",
          "hydra.sweeper.n_initial_points=2")
    _, err = failing_sweep(tmp_path, *SPACE, "mode=mapping", "hydra.sweeper.monitor=other",
                           "hydra.sweeper.maximize=true", "hydra.sweeper.n_calls=4")
    assert "holds a sweep of another objective" in err
    assert "hydra.sweeper.maximize False -> True" in err and "hydra.sweeper.monitor 'val_loss' -> 'other'" in err
    assert "Traceback" not in err and len(journal(tmp_path)) == 2


def test_resume_false_moves_the_old_journal_aside_and_the_same_seed_proposes_the_same_points(tmp_path):
    # the initial design, then a batch of 2 the GP chose
    overrides = [*SPACE, "opt=choice(adam,sgd)", "hydra.sweeper.n_calls=6", "hydra.sweeper.n_initial_points=4",
                 "hydra.sweeper.batch_size=2"]
    sweep(tmp_path, *overrides)
    sweep(tmp_path, *overrides, "hydra.sweeper.resume=false")
    (aside,) = tmp_path.glob("trials.*.jsonl")
    records = journal(tmp_path)
    assert [r["number"] for r in records] == list(range(6, 12))  # the old jobs' numbers are not reused
    # a fresh start, with the same seed and the same results: the GP's proposals too are the same
    assert [r["params"] for r in records] == [json.loads(line)["params"] for line in aside.read_text().splitlines()]


def test_warm_start_seeds_the_gp_and_skips_what_does_not_fit(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    sweep(first, "x=interval(-2, 2)", "y=interval(-2, 2)", "hydra.sweeper.n_calls=8",
          "hydra.sweeper.n_initial_points=8")
    inside = sum(r["params"]["x"] >= 0 for r in journal(first))
    out, _ = sweep(second, "x=interval(0, 2)", "y=interval(-2, 2)", "hydra.sweeper.n_calls=2",
                   "hydra.sweeper.n_initial_points=2", f"hydra.sweeper.warm_start=[{first}/trials.jsonl]")
    assert f"{inside} trial(s) told to the GP, {8 - inside} skipped" in out
    assert len(journal(second)) == 2  # warm-start trials are not this sweep's trials


# -- bad input (every case: tests/test_bad_input.py, in-process) --------------------------------

@pytest.mark.parametrize("overrides, message", [
    (["x=interval(2, 1)"], "low=2.0 must be smaller than high=1.0"),
    (["hydra.sweeper.acq_func=UCB"], "Invalid value 'UCB', expected one of [EI, PI, LCB, gp_hedge]"),
    (["hydra.sweeper.constraint='y > 5'"], "no point of the search space satisfies it"),
])
def test_bad_input_is_refused_before_any_trial_in_one_line(tmp_path, overrides, message):
    out, err = failing_sweep(tmp_path, "y=interval(-2, 2)", *overrides)
    assert message in err
    assert "Traceback" not in err
    assert "Launching" not in out and not (tmp_path / "trials.jsonl").exists()
