"""The model of learning curves (search.curve_model), the stop plans it writes
(records.forecasts) and the forecast rule that applies them in the trial (trial.pruning)."""
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm
from skopt.space import Real, Space

from hydra_skopt_sweeper.records.forecasts import Check, read_plan, write_plan
from hydra_skopt_sweeper.records.sweep_dir import SweepDir
from hydra_skopt_sweeper.search.columns import ColumnLayout
from hydra_skopt_sweeper.search.curve_model import CurveModel, best_so_far, grid_steps, sampled, stop_plan
from hydra_skopt_sweeper.sweep.forecasting import StopPlanner
from hydra_skopt_sweeper.trial.pruning import forecast_stop

T = 27
LAYOUT = ColumnLayout.of(Space([Real(0.0, 1.0)]))


def final_of(x: float) -> float:
    return (x - 0.3) ** 2


def curve_of(x: float, steps: int = T, amplitude: float = 1.0, tau: float = 4.0):
    """A curve from final_of(x) + amplitude down to final_of(x), steps from 0."""
    return [(t, final_of(x) + amplitude * math.exp(-(t + 1) / tau)) for t in range(steps)]


def fitted(xs, **shape) -> CurveModel:
    return CurveModel(LAYOUT, T).fit({n: ([x], curve_of(x, **shape)) for n, x in enumerate(xs)})


def test_a_curve_enters_the_model_at_its_grid_steps_and_its_last_step_as_its_running_best():
    assert grid_steps(27, 6) == (0, 1, 3, 6, 13, 26)
    assert best_so_far([(1, 3.0), (0, 5.0), (2, 4.0)]) == [(0, 5.0), (1, 3.0), (2, 3.0)]
    curve = [(t, 10.0 - t) for t in range(9)]
    assert sampled(curve, (0, 1, 3, 6, 13, 26)) == [(0, 10.0), (1, 9.0), (3, 7.0), (6, 4.0), (8, 2.0)]
    assert sampled([], (0, 1)) == []


def test_the_model_forecasts_a_partial_curve_to_its_known_limit():
    model = fitted(np.linspace(0.0, 1.0, 12))
    trials = {n: ([x], curve_of(x)) for n, x in enumerate(np.linspace(0.0, 1.0, 12))}
    trials[99] = ([0.55], curve_of(0.55, steps=4))  # stopped at step 3: still ~0.4 above its end
    model.update(trials)
    mean, sd = model.final([[0.55]])
    assert best_so_far(curve_of(0.55, steps=4))[-1][1] - final_of(0.55) > 0.3
    assert mean[0] == pytest.approx(final_of(0.55) + math.exp(-T / 4.0), abs=0.03)
    assert sd[0] < 0.1


def test_a_slow_starter_among_finished_neighbours_is_forecast_by_them_not_by_its_start():
    # every curve starts 2.0 above its end and falls slowly: early values say little
    xs = np.linspace(0.0, 1.0, 10)
    model = fitted(xs, amplitude=2.0, tau=8.0)
    poor, best = model.final([[0.95]])[0][0], model.final([[0.3]])[0][0]
    assert best < poor - 0.3
    assert best == pytest.approx(final_of(0.3) + 2.0 * math.exp(-T / 8.0), abs=0.05)


def test_the_plan_forecasts_what_the_model_would_after_seeing_the_trials_own_points():
    xs = np.linspace(0.0, 1.0, 8)
    trials = {n: ([x], curve_of(x)) for n, x in enumerate(xs)}
    model = CurveModel(LAYOUT, T).fit(trials)
    steps = [s for s in grid_steps(T) if s < T - 1]
    plan = stop_plan(model, [0.62], steps, best=0.01, z=float(norm.ppf(0.05)))
    assert [c.step for c in plan] == steps
    partial = curve_of(0.62, steps=7)
    check = plan[3]  # at step 6, from the trial's own steps 0, 1, 3, 6
    assert check.own_steps == (0, 1, 3, 6)
    forecast = check.intercept + sum(w * v for w, v in zip(check.weights, [partial[s][1] for s in check.own_steps]))
    model.update({**trials, 99: ([0.62], partial)})
    mean, sd = model.final([[0.62]])
    # the same up to the losses' scaling, which the update recomputes with the trial's own points
    assert forecast == pytest.approx(mean[0], abs=1e-4)
    assert check.limit == pytest.approx(0.01 - norm.ppf(0.05) * sd[0], rel=1e-2)
    assert check.sd == pytest.approx(sd[0], rel=0.05) and check.final_step == T - 1


def crossing_curve(x: float, t_max: int = T):
    """Curves that cross: the closer x is to 0.3, the better it ends, the higher it starts and
    the slower it falls."""
    slow = math.exp(-((x - 0.3) / 0.15) ** 2)
    return [(t, final_of(x) + (0.3 + 1.5 * slow) * math.exp(-(t + 1) / (2.0 + 3.0 * slow))) for t in range(t_max)]


def truth(x: float) -> float:
    """What the configuration is worth trained to the end: its best epoch."""
    return min(v for _, v in crossing_curve(x))


@pytest.mark.slow  # thirty trials' plans: seconds of CPU
def test_the_forecast_rule_never_stops_the_eventual_best_where_curves_cross_and_stops_poor_ones():
    # a sweep, one trial at a time, planned as the sweeper plans (StopPlanner, its defaults but
    # for the full length): the first ones run to the end, then each gets its plan from every
    # curve so far; the best configuration tried starts among the worst
    xs = np.random.RandomState(0).uniform(0.0, 1.0, 30)
    eventual = min(range(len(xs)), key=lambda n: truth(xs[n]))
    assert eventual >= 4  # not one of the min_trials that run to the end unplanned
    assert crossing_curve(xs[eventual])[4][1] > np.quantile([crossing_curve(x)[4][1] for x in xs], 0.8)  # looks poor
    planner = StopPlanner(Path("."), LAYOUT, False, max_steps=T)
    curves, points, completed = {}, {}, []
    for n, x in enumerate(xs):
        points[n] = [x]
        plan = planner.plans([(n, [x])], curves, completed, points).get(n, [])
        curves[n] = []
        for point in crossing_curve(x):
            curves[n].append(point)
            if forecast_stop(plan, curves[n], maximize=False) is not None:
                break
        if len(curves[n]) == T:
            completed.append(n)
    assert len(curves[eventual]) == T  # the best was trained to the end
    assert len(completed) <= 20  # and the rule stopped at least a third of the others


def test_the_rule_checks_each_step_once_when_its_report_crosses_it_and_in_the_sweeps_direction():
    plan = [Check(step=4, own_steps=(4,), weights=(1.0,), intercept=0.0, limit=0.5, sd=0.1, final_step=9)]
    assert forecast_stop(plan, [(0, 0.9), (3, 0.8)], False) is None  # not there yet
    assert forecast_stop(plan, [(0, 0.9), (3, 0.8), (5, 0.7)], False) == pytest.approx(0.8)  # crossed: its best by step 4
    assert forecast_stop(plan, [(0, 0.9), (5, 0.7), (6, 0.7)], False) is None  # checked already
    assert forecast_stop(plan, [(0, 0.9), (3, 0.4), (5, 0.7)], False) is None
    # maximising: values are negated into losses
    assert forecast_stop(plan, [(3, -0.2), (4, -0.6)], True) is None
    assert forecast_stop(plan, [(3, -0.9), (4, -0.6)], True) == pytest.approx(0.6)
    assert forecast_stop([], [(4, 9.0)], False) is None


def test_a_plan_is_read_back_as_written_and_a_missing_or_torn_one_is_no_plan(tmp_path):
    plan = [Check(1, (0, 1), (0.25, 0.5), -0.1, 0.3, 0.05, 26), Check(3, (0, 1, 3), (0.1, 0.2, 0.3), 0.0, 0.2, 0.04, 26)]
    write_plan(tmp_path, 7, plan)
    assert read_plan(tmp_path, 7) == plan
    assert read_plan(tmp_path, 8) == []
    SweepDir(tmp_path).forecast(8).write_text('{"checks": [{"step": 1')
    assert read_plan(tmp_path, 8) == []


@pytest.mark.slow
def test_a_forecast_sweep_plans_each_trial_after_min_trials_completed_and_tells_the_stopped_their_forecast(tmp_path):
    from hydra_skopt_sweeper.records.curves import read_curve
    from hydra_skopt_sweeper.records.forecasts import latest_forecast
    from hydra_skopt_sweeper.records.journal import read_trials
    from tests.inprocess import multirun

    app = Path(__file__).parent / "apps" / "sphere" / "app.py"
    log = multirun(app, tmp_path, [
        "hydra/sweeper=skopt_gp", "hydra.sweeper.random_state=0", "hydra.sweeper.plots=false",
        "x=interval(-2, 2)", "y=interval(-2, 2)", "curve_steps=9", "hydra.sweeper.n_calls=14",
        "hydra.sweeper.n_initial_points=6", "hydra.sweeper.pruner.rule=forecast",
        "hydra.sweeper.pruner.min_steps=1", "hydra.sweeper.pruner.min_trials=3", "hydra.sweeper.pruner.p_stop=0.2"])
    trials = sorted(read_trials(tmp_path / "trials.jsonl"), key=lambda t: t.number)
    assert len(trials) == 14
    # the first three ran to the end with no plan; every later one was launched with one
    assert all(t.ok for t in trials[:3])
    plans = {t.number: read_plan(tmp_path, t.number) for t in trials}
    assert not any(plans[n] for n in range(3)) and all(plans[n] for n in range(3, 14))
    assert all([c.step for c in plans[n]] == [1, 3, 5] for n in range(3, 14))  # grid (0, 1, 3, 5, 8) from step 1
    pruned = [t for t in trials if t.pruned]
    assert pruned, [(t.number, t.status, t.step) for t in trials]
    for trial in pruned:  # stopped at a check, by its plan, and the journal holds that forecast
        curve = read_curve(tmp_path / ".curves" / f"{trial.number}.jsonl")
        assert forecast_stop(plans[trial.number], curve, False) is not None
        assert trial.forecast == pytest.approx(latest_forecast(plans[trial.number], curve, False))
        assert (f"#{trial.number} pruned at step {trial.step} (" in log
                and f"; the forecast for its end: {trial.forecast:.6g})" in log)
    assert all(t.forecast is None for t in trials if not t.pruned)


def test_past_its_cap_the_model_keeps_fewer_points_a_curve_and_always_its_last(monkeypatch):
    from hydra_skopt_sweeper.search import policy

    monkeypatch.setattr(policy, "CURVE_MAX_POINTS", 40)
    trials = {n: ([x], curve_of(x, steps=5 + n % 20)) for n, x in enumerate(np.linspace(0.0, 1.0, 20))}
    rows, losses = CurveModel(LAYOUT, T)._data(trials)
    assert len(rows) == 40  # two a curve
    model = CurveModel(LAYOUT, T)
    last_s = {round(float(r[0]), 9): float(r[1]) for r in rows[1::2]}  # each curve's second kept point
    for n, (point, curve) in trials.items():
        assert last_s[round(point[0], 9)] == pytest.approx(model._s(curve[-1][0]))


@pytest.mark.slow
def test_a_forecast_sweep_through_joblibs_workers_stops_only_planned_trials_by_their_plans(tmp_path):
    from hydra.test_utils.test_utils import run_python_script

    from hydra_skopt_sweeper.records.curves import read_curve
    from hydra_skopt_sweeper.records.journal import read_trials

    app = Path(__file__).parent / "apps" / "sphere" / "app.py"
    out, _ = run_python_script([
        str(app), "-m", "hydra/sweeper=skopt_gp", f"hydra.sweep.dir={tmp_path}", "hydra.sweeper.random_state=0",
        "hydra.sweeper.plots=false", "x=interval(-2, 2)", "y=interval(-2, 2)", "curve_steps=9", "curve_sleep=0.02",
        "hydra.sweeper.n_calls=12", "hydra.sweeper.n_initial_points=6", "hydra.sweeper.pruner.rule=forecast",
        "hydra.sweeper.pruner.min_steps=1", "hydra.sweeper.pruner.min_trials=3", "hydra.sweeper.pruner.p_stop=0.2",
        "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"])
    trials = read_trials(tmp_path / "trials.jsonl")
    assert len(trials) == 12 and "(2 of 2 running" in out  # async, two workers
    plans = {t.number: read_plan(tmp_path, t.number) for t in trials}
    pruned = [t for t in trials if t.pruned]
    assert pruned and all(plans[t.number] and t.forecast is not None for t in pruned)
    for trial in pruned:  # the worker read the plan the sweeper wrote, and stopped where it says
        assert forecast_stop(plans[trial.number], read_curve(tmp_path / ".curves" / f"{trial.number}.jsonl"), False)
    assert not any(plans[n] for n in sorted(plans)[:3])  # launched before three had completed


def test_curves_png_marks_where_each_planned_unfinished_trial_is_forecast_to_end(tmp_path):
    from hydra_skopt_sweeper.insight.pictures.progress import draw_curves, forecast_marks
    from hydra_skopt_sweeper.insight.sweep_record import SweepRecord
    from hydra_skopt_sweeper.records.curves import append_point, read_curves
    from hydra_skopt_sweeper.records.journal import Trial

    plan = [Check(2, (0, 2), (0.5, 0.5), 0.1, 9.0, 0.05, 9)]
    for number, values in {0: [3.0, 2.0, 1.0], 1: [3.0, 2.5, 2.0], 2: [4.0], 3: [5.0, 4.0, 3.0]}.items():
        for step, value in enumerate(values):
            append_point(tmp_path / ".curves" / f"{number}.jsonl", step, value)
        if number:
            write_plan(tmp_path, number, plan)
    trials = [Trial(0, {}, 1.0, "ok", step=2), Trial(1, {}, 2.0, "pruned", step=2), Trial(3, {}, -3.0, "ok", step=2)]
    record = SweepRecord(tmp_path, trials)
    # 1 was pruned at its check, 2 runs but has not reached it, 3 completed: only 1 is marked
    assert forecast_marks(record, read_curves(tmp_path)) == [(1, 2, 2.0, 9, pytest.approx(0.1 + 0.5 * 3.0 + 0.5 * 2.0), 0.05)]
    maximised = SweepRecord(tmp_path, trials, maximize=True)  # best values are the highest, negated into losses
    assert forecast_marks(maximised, read_curves(tmp_path))[0][4] == pytest.approx(-(0.1 - 0.5 * 3.0 - 0.5 * 3.0))
    assert draw_curves(record, tmp_path / "curves.png").is_file()
