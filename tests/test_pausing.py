"""Pausing and resuming (freeze-thaw) under the forecast rule: a stopped trial whose app saved a
checkpoint is continued later from it, when the model of the curves ranks it high again
(sweep.forecasting, records.forecasts, trial.pruning, the loop and the feed)."""
import json
import math
from pathlib import Path

import pytest
from hydra.test_utils.test_utils import run_python_script
from skopt.space import Real, Space

from hydra_skopt_sweeper.records.curves import continued_curves, read_curve, read_curves
from hydra_skopt_sweeper.records.forecasts import Continuation, earlier_curve, read_continuation, write_plan
from hydra_skopt_sweeper.records.journal import Trial, read_trials
from hydra_skopt_sweeper.search.columns import ColumnLayout
from hydra_skopt_sweeper.search.proposer import BatchProposer
from hydra_skopt_sweeper.settings import check_pruner
from hydra_skopt_sweeper.sweep.forecasting import StopPlanner
from tests.killing import kill_when

APP = Path(__file__).parent / "apps" / "sphere" / "app.py"
T = 27
LAYOUT = ColumnLayout.of(Space([Real(0.0, 1.0)]))


def sweep(tmp_path, *extra):
    return [str(APP), "-m", "hydra/sweeper=skopt_gp", f"hydra.sweep.dir={tmp_path}", "hydra.sweeper.random_state=0",
            "hydra.sweeper.plots=false", "x=interval(-2, 2)", "y=interval(-2, 2)", "curve_steps=9",
            "hydra.sweeper.n_initial_points=6", "hydra.sweeper.pruner.rule=forecast",
            "hydra.sweeper.pruner.min_steps=1", "hydra.sweeper.pruner.min_trials=3",
            "hydra.sweeper.pruner.p_stop=0.2", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *extra]


# -- the records -----------------------------------------------------------------------------------

def test_a_continued_configuration_is_one_curve_under_its_last_trial():
    curves = {0: [(0, 3.0), (1, 2.0)], 1: [(0, 1.0)], 2: [(2, 1.5), (3, 1.2)], 3: [(4, 1.1)]}
    merged = continued_curves(curves, {2: 0, 3: 2})  # 0 paused, 2 continued it, 3 continued 2
    assert merged == {1: [(0, 1.0)], 3: [(0, 3.0), (1, 2.0), (2, 1.5), (3, 1.2), (4, 1.1)]}
    assert continued_curves(curves, {}) == curves
    # a continuation that has not reported yet already stands for the paused curve
    assert continued_curves({0: [(0, 3.0)]}, {5: 0}) == {5: [(0, 3.0)]}


def test_a_continuation_is_read_back_from_its_plan_with_the_curve_before_it(tmp_path):
    from hydra_skopt_sweeper.records.curves import append_point, curve_path

    for step in (0, 1):
        append_point(curve_path(tmp_path, 4), step, 2.0 - step)
    append_point(curve_path(tmp_path, 7), 2, 0.5)
    write_plan(tmp_path, 7, [], Continuation(4, "/x/4/paused.ckpt"))
    write_plan(tmp_path, 9, [], Continuation(7, "/x/7/paused.ckpt"))
    assert read_continuation(tmp_path, 7) == Continuation(4, "/x/4/paused.ckpt")
    assert read_continuation(tmp_path, 4) is None  # a new trial: no plan at all
    assert earlier_curve(tmp_path, 9) == [(0, 2.0), (1, 1.0), (2, 0.5)]
    assert earlier_curve(tmp_path, 4) == []


def test_p_resume_is_checked_with_the_field_and_what_is_allowed():
    assert check_pruner({"rule": "forecast", "p_resume": 0})["p_resume"] == 0.0
    assert check_pruner({"rule": "forecast", "p_resume": None})["p_resume"] is None
    for bad in (1, 1.5, -0.1, "high", True):
        with pytest.raises(ValueError, match=rf"hydra.sweeper.pruner.p_resume={bad!r}: must be a number from 0 "
                                             r"to below 1 .*or null"):
            check_pruner({"rule": "forecast", "p_resume": bad})


# -- the decision ----------------------------------------------------------------------------------

def slow_curve(final: float, tau: float, steps: int = T):
    """From final + 1 down to final, with time constant tau."""
    return [(t, final + math.exp(-(t + 1) / tau)) for t in range(steps)]


def test_the_planner_continues_the_paused_trial_the_model_now_ranks_high_and_no_other():
    # completed neighbours say that near x=0.3 curves start high and end lowest (slow starters)
    xs = [0.0, 0.1, 0.2, 0.3, 0.35, 0.6, 0.8, 1.0]
    curves = {n: slow_curve(abs(x - 0.3), 6.0 if abs(x - 0.3) < 0.1 else 1.0) for n, x in enumerate(xs)}
    points = {n: [x] for n, x in enumerate(xs)}
    curves[10], points[10] = slow_curve(0.0, 6.0, steps=3), [0.31]  # paused early near the best
    curves[11], points[11] = slow_curve(0.7, 1.0, steps=3), [0.95]  # paused early, truly poor
    completed = list(range(len(xs)))
    planner = StopPlanner(Path("."), LAYOUT, False, max_steps=T, p_resume=0.2)
    assert planner.resume_choice([10, 11], curves, completed, points)[0] == 10
    number, chance = planner.resume_choice([11], curves, completed, points) or (None, 0.0)
    assert number is None and chance == 0.0  # below p_resume: a new point instead
    never = StopPlanner(Path("."), LAYOUT, False, max_steps=T, p_resume=None)
    assert never.resume_choice([10, 11], curves, completed, points) is None
    # a continuation's checks come after the steps its configuration already reported
    curves[12] = curves.pop(10)
    plan = planner.plans([(12, [0.31])], curves, completed, {**points, 12: [0.31]})[12]
    assert plan and min(c.step for c in plan) > 2


def test_a_continuations_value_replaces_what_its_paused_trial_told():
    from hydra_skopt_sweeper.problem.objectives import Objectives
    from hydra_skopt_sweeper.search.feed import ModelFeed

    proposer = BatchProposer([Real(0.0, 1.0)], n_initial_points=2, random_state=0)
    feed = ModelFeed(proposer, Objectives(), "penalize")
    feed.returned([([0.2], Trial(0, {"x": 0.2}, 1.0, "ok")), ([0.7], Trial(1, {"x": 0.7}, 5.0, "pruned"))])
    feed.returned([([0.7], Trial(2, {"x": 0.7}, 0.5, "ok", continues=1))])
    assert proposer.n_told == 2 and proposer._y == [1.0, 0.5]
    assert proposer.recommend([[0.2], [0.7]])[0] == 1  # the model sees the continued value
    feed.returned([([0.2], Trial(3, {"x": 0.2}, None, "failed", "boom", continues=0))])
    assert proposer._y == [1.0, 0.5]  # a failed continuation: the paused trial's word stands


# -- real sweeps -------------------------------------------------------------------------------------

def continuations(sweep_dir: Path):
    trials = {t.number: t for t in read_trials(sweep_dir / "trials.jsonl")}
    return trials, [t for t in trials.values() if t.continues is not None]


@pytest.mark.slow
def test_a_paused_trial_is_continued_from_its_checkpoint_through_joblibs_workers(tmp_path):
    out, _ = run_python_script(sweep(tmp_path, "hydra.sweeper.n_calls=12", "hydra.sweeper.pruner.p_resume=0",
                                     "resumable=true", "curve_sleep=0.02"))
    trials, continued = continuations(tmp_path)
    assert len(trials) == 12 and continued, [(t.number, t.status, t.step) for t in trials.values()]
    for trial in continued:
        paused = trials[trial.continues]
        assert paused.pruned and paused.checkpoint == str(tmp_path / str(paused.number) / "paused.ckpt")
        assert trial.params == paused.params
        # the app loaded the checkpoint, and its curve goes on from the step after the pause
        assert (tmp_path / str(trial.number) / "resumed_from.txt").read_text() == paused.checkpoint
        own = read_curve(tmp_path / ".curves" / f"{trial.number}.jsonl")
        assert own[0][0] == paused.step + 1
        assert f"#{trial.number} continues #{paused.number} from its checkpoint at step {paused.step}" in out
    # every reported step counted once: the account is the curve files' points, no more
    results = (tmp_path / "optimization_results.yaml").read_text()
    spent = sum(len(c) for c in read_curves(tmp_path).values())
    assert f"spent: {spent}\n" in results
    assert "paused trial(s) were continued" in out


@pytest.mark.slow
def test_an_app_without_checkpoints_is_stopped_as_before_and_the_log_says_why_once(tmp_path):
    out, _ = run_python_script(sweep(tmp_path, "hydra.sweeper.n_calls=12", "hydra.sweeper.pruner.p_resume=0"))
    trials, continued = continuations(tmp_path)
    pruned = [t for t in trials.values() if t.pruned]
    assert len(pruned) >= 2 and not continued
    assert all(t.checkpoint is None for t in pruned)
    assert out.count("was stopped without a checkpoint, so it cannot be continued later") == 1
    assert "ckpt_path=hydra_skopt_sweeper.resume_checkpoint()" in out


@pytest.mark.slow
def test_a_trial_paused_before_a_kill_is_continued_by_the_resumed_sweep(tmp_path):
    journal = tmp_path / "trials.jsonl"

    def paused_trial_journaled():
        return any(t.checkpoint for t in read_trials(journal)) if journal.is_file() else False

    # first run: paused trials are (all but) never continued (p_resume 0.999); killed once one is paused
    kill_when(sweep(tmp_path, "hydra.sweeper.n_calls=40", "hydra.sweeper.pruner.p_resume=0.999",
                    "resumable=true", "curve_sleep=0.05"), paused_trial_journaled)
    before = {t.number: t for t in read_trials(journal)}
    paused = {n for n, t in before.items() if t.checkpoint}
    assert paused and not any(t.continues is not None for t in before.values())
    # the two trials running at the kill may have left outcomes the resume records: room for two more
    out, _ = run_python_script(sweep(tmp_path, f"hydra.sweeper.n_calls={len(before) + 4}",
                                     "hydra.sweeper.pruner.p_resume=0", "resumable=true"))
    trials, continued = continuations(tmp_path)
    assert continued and continued[0].continues in paused  # the earlier run's paused trial goes on
    first = continued[0]
    assert json.loads(Path(trials[first.continues].checkpoint).read_text())["step"] == trials[first.continues].step
    assert read_curve(tmp_path / ".curves" / f"{first.number}.jsonl")[0][0] == trials[first.continues].step + 1


def test_a_batch_sweep_continues_paused_trials_in_its_batches_first(tmp_path):
    from tests.inprocess import multirun

    log = multirun(APP, tmp_path, [
        "hydra/sweeper=skopt_gp", "hydra.sweeper.random_state=0", "hydra.sweeper.plots=false",
        "x=interval(-2, 2)", "y=interval(-2, 2)", "curve_steps=9", "hydra.sweeper.n_calls=14",
        "hydra.sweeper.n_initial_points=6", "hydra.sweeper.batch_size=2", "hydra.sweeper.pruner.rule=forecast",
        "hydra.sweeper.pruner.min_steps=1", "hydra.sweeper.pruner.min_trials=3", "hydra.sweeper.pruner.p_stop=0.2",
        "hydra.sweeper.pruner.p_resume=0", "resumable=true"])
    trials, continued = continuations(tmp_path)
    assert len(trials) == 14 and continued, [(t.number, t.status, t.step) for t in trials.values()]
    for trial in continued:
        paused = trials[trial.continues]
        assert paused.batch < trial.batch and trial.params == paused.params
        assert read_curve(tmp_path / ".curves" / f"{trial.number}.jsonl")[0][0] == paused.step + 1
        # a continuation takes the first slots of its batch: its number comes before the new points'
        mates = [t for t in trials.values() if t.batch == trial.batch and t.continues is None]
        assert all(trial.number < mate.number for mate in mates)
    assert len({t.continues for t in continued}) == len(continued)  # each paused trial continued once
