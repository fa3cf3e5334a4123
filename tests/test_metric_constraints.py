"""Constraints on what a trial measured, end to end: real multiruns in subprocesses of an app
that returns its metrics as a mapping (tests/apps/budget: the loss falls as the model grows, and
``n_params <= 10000`` rules out the widest models, so the unconstrained best is infeasible).

The results name the best feasible trial; the journal and the table carry the metric and
whether each trial was feasible; a missing metric fails its trial; a sweep that found nothing
feasible exits non-zero; a resume and a warm start read the metrics back; several objectives
keep a feasible front; bad input stops before any launch.

Each sweep runs through Hydra's ``run_python_script`` (``python -Werror app.py -m ...``), so a
warning raised by the sweeper fails the test too.
"""
import re

import pytest

from tests.apps.budget.app import metrics
from tests.test_multi_objective import (
    APPS, csv_rows, failing_sweep, journal, non_dominated, results, sweep,
)

# every test here runs a real sweep in a subprocess (or a real engine): not in make test-fast
pytestmark = pytest.mark.slow

BUDGET = APPS / "budget" / "app.py"
LIMIT = 10_000  # conf/config.yaml: n_params <= 10000
FEASIBLE_WIDTH = 31  # the widest model within it: 31 * 31 * 10 = 9610 parameters
JOBLIB = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "hydra.sweeper.batch_size=2"]


def feasible(record: dict) -> bool:
    return record["metrics"]["n_params"] <= LIMIT


def check_records(sweep_dir) -> dict:
    """Every completed trial's metrics are the app's, in the journal and the table, with
    whether it was feasible; returns the journal by number."""
    by_number = {r["number"]: r for r in journal(sweep_dir)}
    rows = csv_rows(sweep_dir)
    assert len(rows) == len(by_number)
    for row in rows:
        record = by_number[int(row["number"])]
        if record["status"] != "ok":
            assert row["feasible"] == "" and row["n_params"] == ""
            continue
        n_params = record["params"]["width"] ** 2 * 10
        assert record["metrics"] == {"n_params": n_params}  # the metrics the constraints read
        assert float(row["n_params"]) == n_params
        assert row["feasible"] == ("true" if n_params <= LIMIT else "false")
    return by_number


@pytest.fixture(scope="module")
def budget_sweep(tmp_path_factory):
    """The app's own config: 16 trials under n_params <= 10000; its sweep dir and its log."""
    sweep_dir = tmp_path_factory.mktemp("budget")
    out, err = sweep(BUDGET, sweep_dir)
    return sweep_dir, out + err


def test_the_results_name_the_best_feasible_trial_not_the_unconstrained_best(budget_sweep):
    sweep_dir, log = budget_sweep
    by_number = check_records(sweep_dir)
    done = [r for r in by_number.values() if r["status"] == "ok"]
    assert len(by_number) == 16 and len(done) == 16
    unconstrained = min(done, key=lambda r: r["value"])
    best = min((r for r in done if feasible(r)), key=lambda r: r["value"])
    assert not feasible(unconstrained) and unconstrained["value"] < best["value"]
    summary = results(sweep_dir)
    assert summary["best_trial"] == best["number"] and summary["best_value"] == best["value"]
    assert summary["best_params"] == best["params"] and best["params"]["width"] == FEASIBLE_WIDTH
    recommended = by_number[summary["recommended_trial"]]
    assert feasible(recommended) and recommended["params"] == summary["recommended_params"]
    assert summary["n_infeasible"] == sum(1 for r in done if not feasible(r)) > 0
    assert (f"Sweep finished: 16 trial(s), 0 failed, {summary['n_infeasible']} infeasible. "
            f"Best feasible #{best['number']}: ") in log


def test_the_log_says_which_constraint_each_infeasible_trial_broke(budget_sweep):
    sweep_dir, log = budget_sweep
    assert "metric constraints 'n_params <= 10000'" in log
    for record in journal(sweep_dir):
        said = re.search(rf"  #{record['number']} -> [^\n]*", log).group(0)
        if feasible(record):
            assert "infeasible" not in said
        else:
            n_params = record["metrics"]["n_params"]
            assert said.endswith(f", infeasible: n_params <= 10000 (n_params = {n_params:.6g})"), said


def test_a_trial_that_does_not_return_a_constrained_metric_fails_naming_it(tmp_path):
    sweep(BUDGET, tmp_path, "drop_n_params_above=40", "hydra.sweeper.n_calls=8")
    by_number = check_records(tmp_path)
    failed = [r for r in by_number.values() if r["status"] == "failed"]
    assert failed and all(r["params"]["width"] > 40 for r in failed)
    assert all(r["status"] == "ok" for r in by_number.values() if r["params"]["width"] <= 40)
    for record in failed:
        assert record["error"] == ("metric_constraints: metric='n_params' is not in the returned mapping; "
                                   "its keys are ['latency_ms', 'val_loss']")
        assert record["value"] is None and "metrics" not in record
    assert results(tmp_path)["n_failed"] == len(failed)


def test_a_sweep_where_nothing_is_feasible_exits_non_zero_saying_so(tmp_path):
    out, err = failing_sweep(BUDGET, tmp_path, "hydra.sweeper.metric_constraints=['n_params <= 10']",
                             "hydra.sweeper.n_calls=4")
    assert ("No trial satisfied hydra.sweeper.metric_constraints ('n_params <= 10'): all 4 completed "
            "trial(s) broke them") in err
    assert "run more trials (resume with the same command and a larger hydra.sweeper.n_calls)" in err
    summary = results(tmp_path)
    assert summary["best_trial"] is None and summary["best_value"] is None and summary["recommended_trial"] is None
    assert summary["n_infeasible"] == 4 and summary["n_trials"] == 4
    assert "best so far: none feasible yet" in out + err


def test_a_resume_reads_each_trials_metrics_back_from_the_journal(tmp_path):
    sweep(BUDGET, tmp_path, "hydra.sweeper.n_calls=8")
    before = (tmp_path / "trials.jsonl").read_text()
    out, err = sweep(BUDGET, tmp_path, "hydra.sweeper.n_calls=14")
    assert "Resuming" in out + err and (tmp_path / "trials.jsonl").read_text().startswith(before)
    by_number = check_records(tmp_path)  # the first run's rows too: feasible as before
    assert sorted(by_number) == list(range(14))
    done = list(by_number.values())
    summary = results(tmp_path)
    assert summary["n_infeasible"] == sum(1 for r in done if not feasible(r))
    best = min((r for r in done if feasible(r)), key=lambda r: r["value"])
    assert summary["best_trial"] == best["number"] and by_number[summary["recommended_trial"]]["metrics"]["n_params"] <= LIMIT


def test_a_warm_start_tells_the_model_which_old_trials_were_feasible(budget_sweep, tmp_path):
    old_dir, _ = budget_sweep
    old = [r for r in journal(old_dir) if r["status"] == "ok"]
    # the old trials fill the initial design: the model chooses from the first new trial on,
    # with the feasible incumbent and the constraint's model learnt from the old metrics
    out, err = sweep(BUDGET, tmp_path, "hydra.sweeper.n_calls=3",
                     f"hydra.sweeper.warm_start=[{old_dir / 'trials.jsonl'}]")
    assert f"{len(old)} trial(s) told to the GP" in out + err
    new = list(check_records(tmp_path).values())
    assert len(new) == 3 and all(feasible(r) for r in new), [r["params"] for r in new]
    assert all(r["params"]["width"] >= FEASIBLE_WIDTH - 2 for r in new), [r["params"] for r in new]


def test_with_two_objectives_the_front_holds_only_feasible_trials(tmp_path):
    out, err = sweep(BUDGET, tmp_path, "hydra.sweeper.monitor=[val_loss,latency_ms]",
                     "hydra.sweeper.maximize=[false,false]", "hydra.sweeper.n_calls=12", *JOBLIB)
    records = journal(tmp_path)
    assert len(records) == 12 and all(r["status"] == "ok" for r in records)
    for record in records:
        returned = metrics(record["params"]["width"], record["params"]["lr"])
        assert record["values"] == pytest.approx([returned["val_loss"], returned["latency_ms"]])
        assert record["metrics"] == {"n_params": returned["n_params"]}
    kept = [r for r in records if feasible(r)]
    # the widest trial has the lowest loss: on the unconstrained front, but over the budget
    assert {r["number"] for r in records if not feasible(r)} & set(non_dominated(records, [False, False]))
    summary = results(tmp_path)
    assert [s["number"] for s in summary["solutions"]] == non_dominated(kept, [False, False])
    assert summary["n_infeasible"] == len(records) - len(kept) > 0
    rows = {int(row["number"]): row for row in csv_rows(tmp_path)}
    assert all(rows[r["number"]]["on_front"] == "false" for r in records if not feasible(r))
    assert all(rows[r["number"]]["feasible"] == ("true" if feasible(r) else "false") for r in records)
    assert "infeasible: n_params <= 10000" in out + err


@pytest.mark.parametrize("constraints, message", [
    ("['n_params <=']", "hydra.sweeper.metric_constraints='n_params <=': not a valid inequality (invalid syntax "
                        "at the end); write one comparison of the returned metrics, e.g. 'n_params <= 1e6'"),
    ("['width <= 31']", "hydra.sweeper.metric_constraints='width <= 31': width is a swept parameter, known "
                        "before launch; write that condition in hydra.sweeper.constraint"),
    ("['n_params == 100']", "hydra.sweeper.metric_constraints='n_params == 100': must be one inequality "
                            "(<, <=, >, >=)"),
    ("['n_params.__class__ <= 1']", "'__class__': dunder names are not allowed"),
], ids=["syntax", "parameter", "equality", "dunder"])
def test_bad_input_stops_before_any_launch_naming_field_value_and_what_is_allowed(tmp_path, constraints, message):
    out, err = failing_sweep(BUDGET, tmp_path, f"hydra.sweeper.metric_constraints={constraints}")
    assert message in err
    assert "Traceback" not in err and "Launching" not in out
    assert not (tmp_path / "trials.jsonl").exists()


def test_without_metric_constraints_the_records_are_as_they_were(tmp_path):
    sweep(BUDGET, tmp_path, "hydra.sweeper.metric_constraints=[]", "hydra.sweeper.n_calls=4")
    records = journal(tmp_path)
    assert records and all("metrics" not in r for r in records)
    header = (tmp_path / "trials.csv").read_text().splitlines()[0]
    assert header == "number,batch,status,value,step,duration_s,job_dir,error,width,lr"
    assert "n_infeasible" not in results(tmp_path)


def test_a_warm_start_from_a_sweep_that_measured_nothing_lets_the_losses_choose(tmp_path):
    sweep(BUDGET, tmp_path / "old", "hydra.sweeper.metric_constraints=[]", "hydra.sweeper.n_calls=8")
    assert all("metrics" not in r for r in journal(tmp_path / "old"))
    out, err = sweep(BUDGET, tmp_path / "new", "hydra.sweeper.n_calls=3",
                     f"hydra.sweeper.warm_start=[{tmp_path / 'old' / 'trials.jsonl'}]")
    assert "8 trial(s) told to the GP" in out + err
    assert len(check_records(tmp_path / "new")) == 3
