"""A sweep budget in reported steps (``hydra.sweeper.step_budget``): the account of where the
steps went (records.curves.step_spending), and real sweeps that stop launching once it is spent,
say so in the log, the results and skopt-report, and resume past it with a larger one."""
from pathlib import Path

import pytest
import yaml

from hydra_skopt_sweeper.insight.sweep_record import load_sweep
from hydra_skopt_sweeper.insight.sweep_report import format_report
from hydra_skopt_sweeper.records.curves import read_curves, step_spending
from hydra_skopt_sweeper.records.journal import read_trials
from tests.inprocess import multirun

APP = Path(__file__).parent / "apps" / "sphere" / "app.py"


def test_the_account_counts_each_reported_step_once_and_what_pruning_saved():
    curves = {0: [(s, 1.0) for s in range(8)], 1: [(s, 2.0) for s in range(3)],
              2: [(s, 3.0) for s in range(6)], 3: [(0, 4.0)]}
    spending = step_spending(curves, completed=[0, 2], pruned=[1])
    assert (spending.spent, spending.full, spending.stopped, spending.full_steps) == (18, 14, 3, 8)
    assert spending.saved == 5  # trial 1 stopped 5 steps short of the longest completed curve
    assert spending.summary() == {"spent": 18, "by_full_trials": 14, "by_pruned_trials": 3, "saved_by_pruning": 5}
    assert step_spending({}, [], []).spent == 0


def sweep(sweep_dir: Path, budget: int) -> str:
    return multirun(APP, sweep_dir, [
        "hydra/sweeper=skopt_gp", "hydra.sweeper.random_state=0", "hydra.sweeper.plots=false",
        "x=interval(-2, 2)", "y=interval(-2, 2)", "curve_steps=6", "hydra.sweeper.n_calls=50", "hydra.sweeper.pruner.min_trials=2",
        "hydra.sweeper.n_initial_points=4", f"hydra.sweeper.step_budget={budget}"])


@pytest.mark.slow
def test_a_sweep_launches_no_trial_once_its_step_budget_is_spent_and_resumes_with_a_larger_one(tmp_path):
    log = sweep(tmp_path, 30)
    trials = sorted(read_trials(tmp_path / "trials.jsonl"), key=lambda t: t.number)
    curves = read_curves(tmp_path)
    spent = sum(len(c) for c in curves.values())
    last = trials[-1].number
    # launched while steps were left; the last one launched with fewer than 30 spent, ends past it
    assert len(trials) < 50 and spent >= 30 and spent - len(curves[last]) < 30, [len(c) for c in curves.values()]
    assert any(t.pruned for t in trials)  # the default rule stopped some: more trials for the steps
    assert f"Step budget spent: {spent} of hydra.sweeper.step_budget=30 step(s) reported by {len(trials)} trial(s)" in log
    steps = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())["steps"]
    spending = step_spending(curves, [t.number for t in trials if t.ok], [t.number for t in trials if t.pruned])
    assert steps == {**spending.summary(), "budget": 30} and spending.saved > 0
    assert f"Steps: {spent} reported of hydra.sweeper.step_budget=30: " in log
    report = format_report(load_sweep(tmp_path))
    assert f"complete: step_budget=30 spent after {len(trials)} trial(s)" in report
    assert f"Step budget: {spent} of step_budget=30 step(s) reported" in report
    assert f"about {spending.saved} step(s) saved against the longest completed trial's 6; {spent} step(s) run" in report

    again = sweep(tmp_path, 30)  # the same command: spent already, nothing launched
    assert len(read_trials(tmp_path / "trials.jsonl")) == len(trials)
    assert "Step budget spent" in again and "launched" not in again.replace("launching", "")
    sweep(tmp_path, 45)
    more = read_trials(tmp_path / "trials.jsonl")
    assert len(more) > len(trials)
    assert 45 <= sum(len(c) for c in read_curves(tmp_path).values()) < 45 + 6


@pytest.mark.slow
def test_ctrl_c_in_a_forecast_sweep_with_a_budget_keeps_its_account_and_plans_and_the_same_command_resumes(tmp_path):
    import signal
    import subprocess
    import sys

    from hydra_skopt_sweeper.records.forecasts import read_plan
    from tests.killing import kill_when

    command = [str(APP), "-m", "hydra/sweeper=skopt_gp", f"hydra.sweep.dir={tmp_path}", "hydra.sweeper.random_state=0",
               "hydra.sweeper.plots=false", "x=interval(-2, 2)", "y=interval(-2, 2)", "curve_steps=9",
               "curve_sleep=0.05", "hydra.sweeper.n_calls=30", "hydra.sweeper.n_initial_points=4",
               "hydra.sweeper.step_budget=120", "hydra.sweeper.pruner.rule=forecast",
               "hydra.sweeper.pruner.min_steps=1", "hydra.sweeper.pruner.min_trials=3",
               "hydra.sweeper.pruner.p_stop=0.2", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    journal = tmp_path / "trials.jsonl"
    status = kill_when(command, lambda: journal.is_file() and len(journal.read_text().splitlines()) >= 5,
                       sig=signal.SIGINT, output=tmp_path / "interrupted.log", timeout=300)
    assert status == 130, (tmp_path / "interrupted.log").read_text()[-3000:]
    kept = read_trials(journal)
    assert kept and all(not t.failed for t in kept)

    done = subprocess.run([sys.executable, *command], capture_output=True, text=True, timeout=600)
    printed = done.stdout + done.stderr
    assert done.returncode == 0, printed[-3000:]
    assert f"Resuming {journal}: {len(kept)} trial(s) in the journal" in printed
    trials = read_trials(journal)
    assert read_trials(journal)[:len(kept)] == kept and len({t.number for t in trials}) == len(trials)
    # the budget counts the steps of both runs: spent once, across the interruption
    curves = read_curves(tmp_path)
    spent = sum(len(c) for c in curves.values())
    assert "Step budget spent" in printed and 120 <= spent < 120 + 2 * 9
    # the resumed run planned its own trials, the earlier run's completed ones counted
    resumed = [t for t in trials if t.number > max(k.number for k in kept)]
    assert resumed and any(read_plan(tmp_path, t.number) for t in resumed)
    assert all(t.forecast is not None for t in trials if t.pruned)
