"""Unit tests of the metric constraints (no Hydra): the inequalities of
``hydra.sweeper.metric_constraints`` parsed and refused (metrics.py), the feasibility model
(feasibility.py), and the proposer that uses it: a feasible optimum found where random
search misses it, and feasibility sought before any feasible point."""
import math
from dataclasses import replace

import numpy as np
import pytest
from skopt.space import Real, Space

from hydra_skopt_sweeper.errors import SweeperConfigError
from hydra_skopt_sweeper.problem.metrics import MetricConstraints
from hydra_skopt_sweeper.search.feasibility import MIN_POINTS, fit_feasibility, signed_log
from hydra_skopt_sweeper.search.model import Fantasies, GPModel
from hydra_skopt_sweeper.search.pareto_proposer import ParetoProposer
from hydra_skopt_sweeper.search.policy import Policy
from hydra_skopt_sweeper.search.proposer import BatchProposer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning", "ignore:divide by zero:RuntimeWarning")

FIELD = "hydra.sweeper.metric_constraints"


# -- the language -------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, strict, slack", [
    ("a <= 1", False, 2.0),   # slack: left - right
    ("a < 1", True, 2.0),
    ("a >= 1", False, -2.0),  # slack: right - left
    ("a > 1", True, -2.0),
    ("1 >= a", False, 2.0),   # the metric on either side
    ("1 < a", True, -2.0),
    ("a / 1000 <= b - 4", False, 3 / 1000 - (5 - 4)),
])
def test_each_operator_gives_its_slack_sign_and_strictness(spec, strict, slack):
    (constraint,) = MetricConstraints([spec]).constraints
    assert constraint.strict is strict
    assert constraint.slack({"a": 3, "b": 5}) == pytest.approx(slack)


@pytest.mark.parametrize("spec, value, holds", [
    ("a <= 1", 1.0, True), ("a < 1", 1.0, False), ("a >= 1", 1.0, True), ("a > 1", 1.0, False),
    ("a <= 1", 0.5, True), ("a < 1", 0.5, True), ("a >= 1", 0.5, False), ("a > 1", 1.5, True),
])
def test_a_strict_inequality_fails_on_its_boundary_and_a_non_strict_one_holds(spec, value, holds):
    constraints = MetricConstraints([spec])
    assert constraints.feasible({"a": value}) is holds
    assert constraints.violated({"a": value}) == ([] if holds else [f"{spec} (a = {value:.6g})"])


@pytest.mark.parametrize("spec", ["a < 1", "a > 1"])
def test_the_slacks_the_proposer_reads_are_at_most_0_exactly_where_the_constraint_holds(spec):
    constraints = MetricConstraints([spec])
    for value in (0.5, 1.0, 1.5):
        (slack,) = constraints.slacks({"a": value})
        assert (slack <= 0) == constraints.feasible({"a": value}), value


def test_a_dotted_key_reads_the_metric_of_that_name_and_the_names_are_in_order():
    constraints = MetricConstraints(["val.latency_ms <= 20", "n_params <= 1e6", "n_params / 2 >= val.latency_ms"])
    assert constraints.names == ("val.latency_ms", "n_params")
    assert len(constraints) == 3 and constraints
    metrics = {"val.latency_ms": 25.0, "n_params": 100.0}
    assert constraints.slacks(metrics) == pytest.approx([5.0, 100.0 - 1e6, 25.0 - 50.0])
    assert not constraints.feasible(metrics)
    assert constraints.violated(metrics) == ["val.latency_ms <= 20 (val.latency_ms = 25)"]


def test_a_key_between_backticks_reads_the_metric_of_that_name_whatever_its_characters():
    # Lightning logs "val/acc"; unquoted, val/acc would divide val by acc
    constraints = MetricConstraints(["`val/acc` >= 0.9", "n_params * `lat ms` < 10", "`n_params` <= 5"])
    assert constraints.names == ("val/acc", "n_params", "lat ms")
    metrics = {"val/acc": 0.8, "n_params": 2.0, "lat ms": 4.0, "val": 1.0, "acc": 1.0}
    assert constraints.slacks(metrics) == pytest.approx([0.1, -2.0, -3.0])
    assert constraints.violated(metrics) == ["`val/acc` >= 0.9 (val/acc = 0.8)"]
    assert constraints.feasible(dict(metrics, **{"val/acc": 0.95}))


def test_slacks_and_feasibility_of_a_trial_that_measured_nothing_or_not_everything():
    constraints = MetricConstraints(["a <= 1", "b > 0"])
    assert constraints.slacks(None) is None and constraints.slacks({"a": 0.0}) is None
    assert not constraints.feasible(None) and not constraints.feasible({"a": 0.0})
    assert constraints.feasible({"a": 1.0, "b": 1.0})
    assert not constraints.feasible({"a": 1.0, "b": 0.0})
    assert constraints.violated({"a": 2.0, "b": 0.0}) == ["a <= 1 (a = 2)", "b > 0 (b = 0)"]


def test_a_slack_that_cannot_be_computed_is_infinite_and_breaks_the_constraint():
    constraints = MetricConstraints(["a / b <= 1", "log(a) <= 0"])
    assert constraints.slacks({"a": -1.0, "b": 0.0}) == [math.inf, math.inf]
    assert not constraints.feasible({"a": -1.0, "b": 0.0})


def test_no_constraints_is_false_and_reads_nothing():
    constraints = MetricConstraints([])
    assert not constraints and constraints.names == () and constraints.slacks({}) == []


@pytest.mark.parametrize("spec, message", [
    ("n_params == 10", "must be one inequality (<, <=, >, >=)"),
    ("a <= 1 <= 2", "must be one inequality (<, <=, >, >=)"),
    ("a <= 1 and b <= 2", "write each condition as its own entry"),
    ("a", "must be one inequality"),
    ("n_params <=", "not a valid inequality (invalid syntax at the end)"),
    ("n_params <= 1e6)", "not a valid inequality (unmatched ')'"),
    ("1 <= 2", "reads no metric; name a key of the mapping the trials return"),
    ("lr <= 0.1", "lr is a swept parameter, known before launch; write that condition in hydra.sweeper.constraint"),
    ("model.lr * n_params <= 1", "model.lr is a swept parameter"),
    # attribute and call tricks, refused before anything runs
    ("a.__class__ <= 1", "dunder names are not allowed"),
    ("__import__('os') <= a", "is not allowed"),
    ("a[0] <= 1", "(Subscript) is not allowed"),
    ("(lambda: 1)() <= a", "is not allowed"),
    ("open('x') <= a", "the call \"open('x')\" is not allowed"),
    ("max(a, key=abs) <= 1", "uses keyword arguments"),
    ("a <= 2 ** 99999", "an integer power over"),
    ("`val/acc >= 0.9", "a backtick is not closed"),
    ("`` >= 0.9", "empty backticks"),
    ("`val/acc` >= `lr`", "lr is a swept parameter"),
    ("`a` `b` >= 1", "not a valid inequality (invalid syntax)"),
])
def test_a_spec_that_is_not_one_safe_inequality_over_metrics_is_refused_naming_field_and_value(spec, message):
    with pytest.raises(SweeperConfigError) as error:
        MetricConstraints(["n_params <= 1e6", spec], parameters=["model.lr", "model.n_layers"])
    assert FIELD in str(error.value) and repr(spec) in str(error.value)
    assert message in str(error.value)


def test_a_refused_metric_expression_says_what_a_metric_expression_may_hold():
    with pytest.raises(SweeperConfigError) as error:
        MetricConstraints(["a.__class__ <= 1"])
    assert "parameter names" not in str(error.value) and "metric" in str(error.value)


# -- the feasibility model ---------------------------------------------------------------------------

def one_d_gp(seed: int = 0) -> GPModel:
    return GPModel(Space([Real(0.0, 1.0)]), seed)


def toy_slacks(X: np.ndarray) -> np.ndarray:
    """Feasible (slack <= 0) left of 0.5, infeasible right of it."""
    return (X[:, :1] - 0.5) * 4.0


X_TOY = np.linspace(0.0, 1.0, 9)[:, None]
PROBE = np.array([[0.05], [0.2], [0.8], [0.95]])


def test_the_probability_of_feasibility_is_high_where_the_slack_is_negative_and_low_where_positive():
    feasibility = fit_feasibility([one_d_gp()], X_TOY, toy_slacks(X_TOY))
    p = np.exp(feasibility.log_probability(PROBE))
    assert np.all(p[:2] > 0.9) and np.all(p[2:] < 0.1), p
    assert np.all(np.diff(p) <= 0)


def test_two_constraints_multiply_their_probabilities():
    both = np.hstack([toy_slacks(X_TOY), 0.25 - X_TOY])  # the second holds right of 0.25 only
    feasibility = fit_feasibility([one_d_gp(0), one_d_gp(1)], X_TOY, both)
    first = fit_feasibility([one_d_gp(0)], X_TOY, both[:, :1])
    second = fit_feasibility([one_d_gp(1)], X_TOY, both[:, 1:])
    assert feasibility.log_probability(PROBE) == pytest.approx(
        first.log_probability(PROBE) + second.log_probability(PROBE))
    assert np.exp(feasibility.log_probability(np.array([[0.05]])))[0] < 0.1  # breaks the second


def test_rows_that_measured_nothing_are_left_out_of_the_model():
    unmeasured = np.array([[0.1], [0.15], [0.9]])
    X = np.vstack([X_TOY, unmeasured])
    slacks = np.vstack([toy_slacks(X_TOY), np.full((3, 1), np.nan)])
    with_nan = fit_feasibility([one_d_gp()], X, slacks)
    without = fit_feasibility([one_d_gp()], X_TOY, toy_slacks(X_TOY))
    assert with_nan.log_probability(PROBE) == pytest.approx(without.log_probability(PROBE))


def test_an_infinite_slack_is_told_as_worse_than_any_measured_one():
    slacks = toy_slacks(X_TOY)
    slacks[-2:] = np.inf  # the two rightmost: their slack could not be computed
    feasibility = fit_feasibility([one_d_gp()], X_TOY, slacks)
    p = np.exp(feasibility.log_probability(np.array([[0.1], [0.95]])))
    assert p[0] > 0.9 and p[1] < 0.1


def test_weighing_adds_the_power_times_the_log_probability_and_with_nothing_to_weigh_is_that_probability():
    feasibility = fit_feasibility([one_d_gp()], X_TOY, toy_slacks(X_TOY), power=3.0)
    improvement = np.array([0.0, -1.0, 2.0, 1.0])
    log_probability = feasibility.log_probability(PROBE)
    assert feasibility.weigh(PROBE, improvement) == pytest.approx(improvement + 3.0 * log_probability)
    assert feasibility.weigh(PROBE, None) == pytest.approx(log_probability)


def test_joint_draws_of_feasibility_follow_its_probability():
    feasibility = fit_feasibility([one_d_gp()], X_TOY, toy_slacks(X_TOY))
    draws = feasibility.draw(PROBE, 400, np.random.RandomState(0))
    assert draws.shape == (len(PROBE), 400) and draws.dtype == bool
    assert draws.mean(axis=1) == pytest.approx(np.exp(feasibility.log_probability(PROBE)), abs=0.08)


def test_a_fantasy_lets_only_the_draws_that_count_set_its_incumbent():
    X = np.linspace(0.0, 1.0, 6)[:, None]
    base = one_d_gp().fit(X, np.sin(6 * X[:, 0]))
    pending = np.array([[0.3], [0.7]])
    every = Fantasies(base, pending, 8, np.random.RandomState(0))
    counts = np.zeros((2, 8), dtype=bool)
    counts[1, :4] = True  # the second pending point counts in the first four fantasies only
    some = Fantasies(base, pending, 8, np.random.RandomState(0), counts=counts)
    assert np.array_equal(every.outcomes, some.outcomes)
    assert np.array_equal(every.lowest, every.outcomes.min(axis=0))
    assert np.array_equal(some.lowest[:4], some.outcomes[1, :4]) and np.all(np.isinf(some.lowest[4:]))


@pytest.mark.parametrize("n_constraints", [1, 0], ids=["constrained", "control"])
def test_a_batch_fantasises_the_feasibility_of_its_earlier_points_with_their_outcomes(n_constraints, monkeypatch):
    counted = []
    original = Fantasies.__init__

    def recording_init(self, base, pending, n, rng, **options):
        counted.append(options.get("counts"))
        original(self, base, pending, n, rng, **options)

    monkeypatch.setattr(Fantasies, "__init__", recording_init)
    points, losses, slacks = infeasible_history()
    slacks = [[p[0] + p[1] - 1.2] for p in points]  # some feasible
    proposer = BatchProposer([Real(0.0, 1.0), Real(0.0, 1.0)], n_initial_points=0, random_state=0,
                             n_constraints=n_constraints)
    proposer.tell(points, losses, slacks if n_constraints else None)
    proposer.ask(3)
    assert len(counted) == 2  # before the second and the third point
    if n_constraints:
        assert [c.shape for c in counted] == [(1, Policy().n_fantasies), (2, Policy().n_fantasies)]
    else:
        assert counted == [None, None]


@pytest.mark.parametrize("measured", [0, 1])
def test_fewer_than_two_measured_points_give_no_model(measured):
    assert MIN_POINTS == 2
    slacks = np.full((len(X_TOY), 1), np.nan)
    slacks[:measured] = -1.0
    assert fit_feasibility([one_d_gp()], X_TOY, slacks) is None


def test_a_constraint_with_too_few_points_is_left_out_and_the_others_kept():
    slacks = np.hstack([toy_slacks(X_TOY), np.full((len(X_TOY), 1), np.nan)])
    feasibility = fit_feasibility([one_d_gp(), one_d_gp(1)], X_TOY, slacks)
    assert len(feasibility.models) == 1


# -- the proposer with a constraint ------------------------------------------------------------------

# minimise (x - 0.9)^2 + (y - 0.9)^2 subject to x + y <= 1: the unconstrained optimum (0.9, 0.9)
# is infeasible; the feasible one is (0.5, 0.5), value 0.32
FEASIBLE_OPTIMUM = 0.32


def corner(point):
    return (point[0] - 0.9) ** 2 + (point[1] - 0.9) ** 2


def over_budget(point):
    return [point[0] + point[1] - 1.0]


def best_feasible(points):
    return min((corner(p) for p in points if over_budget(p)[0] <= 0), default=math.inf)


def constrained_run(seed: int, n_calls: int, batch_size: int = 2, policy: Policy = Policy()):
    proposer = BatchProposer([Real(0.0, 1.0), Real(0.0, 1.0)], n_initial_points=6, random_state=seed,
                             n_calls=n_calls, n_constraints=1, policy=policy)
    points = []
    while len(points) < n_calls:
        batch = proposer.ask(batch_size)
        proposer.tell(batch, [corner(p) for p in batch], [over_budget(p) for p in batch])
        points += batch
    return points


@pytest.mark.slow
def test_the_proposer_with_a_constraint_beats_random_search_at_the_feasible_optimum():
    n_calls, seeds = 20, range(2)
    regrets = [best_feasible(constrained_run(seed, n_calls)) - FEASIBLE_OPTIMUM for seed in seeds]
    random_regrets = [best_feasible(np.random.default_rng(seed).random((n_calls, 2)).tolist()) - FEASIBLE_OPTIMUM
                      for seed in seeds]
    assert all(r < 0.01 for r in regrets), regrets
    assert all(r < q for r, q in zip(regrets, random_regrets)), (regrets, random_regrets)


@pytest.mark.slow
@pytest.mark.parametrize("policy", [Policy(), replace(Policy(), feasibility_power=1.0)], ids=["default", "control"])
def test_the_trials_that_refine_an_optimum_on_the_boundary_stay_on_its_feasible_side(policy):
    # the optimum (0.5, 0.5) lies on x + y = 1, and the loss keeps falling beyond it: weighed by
    # the plain probability of feasibility (the control), about a third of the later trials cross
    runs = [constrained_run(seed, 20, 1, policy) for seed in range(2)]
    later = [p for points in runs for p in points[6:]]
    share = np.mean([over_budget(p)[0] > 0 for p in later])
    assert all(best_feasible(points) - FEASIBLE_OPTIMUM < 1e-3 for points in runs)
    if policy == Policy():
        assert share <= 0.1, share
    else:
        assert share >= 0.25, share


def infeasible_history():
    """Eight points, all breaking x + y <= 0.3, better the larger they are."""
    rng = np.random.default_rng(0)
    points = [[float(x), float(y)] for x, y in 0.45 + 0.55 * rng.random((8, 2))]
    return points, [corner(p) for p in points], [[p[0] + p[1] - 0.3] for p in points]


@pytest.mark.parametrize("n_constraints", [1, 0], ids=["constrained", "control"])
def test_before_any_feasible_point_the_proposer_heads_for_feasibility(n_constraints):
    points, losses, slacks = infeasible_history()
    proposer = BatchProposer([Real(0.0, 1.0), Real(0.0, 1.0)], n_initial_points=0, random_state=0,
                             n_constraints=n_constraints)
    proposer.tell(points, losses, slacks if n_constraints else None)
    proposed = proposer.ask(2)
    lowest_told = min(p[0] + p[1] for p in points)
    if n_constraints:  # towards the feasible corner, below every sum told
        assert all(p[0] + p[1] < lowest_told for p in proposed), proposed
        assert any(p[0] + p[1] <= 0.3 for p in proposed), proposed
    else:  # without the constraint the model goes for the better values: the control
        assert all(p[0] + p[1] > 0.3 for p in proposed), proposed


@pytest.mark.parametrize("n_constraints", [1, 0], ids=["constrained", "control"])
def test_with_two_objectives_before_any_feasible_point_the_proposer_heads_for_feasibility(n_constraints):
    points, losses, slacks = infeasible_history()
    proposer = ParetoProposer([Real(0.0, 1.0), Real(0.0, 1.0)], n_objectives=2, n_initial_points=0,
                              random_state=0, n_constraints=n_constraints)
    # the second objective also prefers large points: the front is among the infeasible ones
    proposer.tell(points, [[loss, 2.0 - p[0] - p[1]] for p, loss in zip(points, losses)],
                  slacks if n_constraints else None)
    proposed = proposer.ask(2)
    lowest_told = min(p[0] + p[1] for p in points)
    if n_constraints:
        assert all(p[0] + p[1] < lowest_told for p in proposed), proposed
        assert any(p[0] + p[1] <= 0.3 for p in proposed), proposed
    else:
        assert all(p[0] + p[1] > 0.3 for p in proposed), proposed


def test_signed_log_keeps_the_sign_and_zero_and_is_linear_within_the_typical_slack():
    slacks = np.array([-1e6, -3.0, -1.0, 0.0, 1.0, 2.0, 5e5])
    warped = signed_log(slacks, 2.0)
    assert np.array_equal(np.sign(warped), np.sign(slacks)) and np.all(np.diff(warped) > 0)
    assert warped[3] == 0.0 and warped[4] == pytest.approx(np.log1p(0.5))
    assert warped[-1] < 13 and warped[0] > -14  # a million is a dozen units, not half a million


def test_a_slack_spanning_orders_of_magnitude_still_places_its_boundary():
    # exp(12 x) - exp(6): feasible below x = 0.5, slacks from -400 to +162,000
    X = np.linspace(0, 1, 12)[:, None]
    slacks = np.exp(12 * X) - np.exp(6)
    feasibility = fit_feasibility([one_d_gp()], X, slacks, warp_ratio=Policy().slack_warp_ratio)
    probability = np.exp(feasibility.log_probability(np.array([[0.4], [0.6]])))
    assert probability[0] > 0.95 and probability[1] < 0.05


def test_the_proposer_models_its_slacks_with_its_policys_warp_ratio(monkeypatch):
    import hydra_skopt_sweeper.search.proposer as proposer_module

    seen = []
    original = proposer_module.fit_feasibility
    monkeypatch.setattr(proposer_module, "fit_feasibility",
                        lambda *args, **kwargs: seen.append(kwargs["warp_ratio"]) or original(*args, **kwargs))
    proposer = BatchProposer([Real(0.0, 1.0)], n_constraints=1, n_initial_points=4, random_state=0,
                             policy=replace(Policy(), slack_warp_ratio=7.0))
    points = proposer.ask(4)
    proposer.tell(points, [p[0] for p in points], [[p[0] - 0.5] for p in points])
    proposer.ask(1)
    assert seen and set(seen) == {7.0}
