"""feed.ModelFeed: what the model is told about each trial, with one objective, several, and
metric constraints."""
from hydra_skopt_sweeper.problem.metrics import MetricConstraints
from hydra_skopt_sweeper.problem.objectives import Objectives
from hydra_skopt_sweeper.records.journal import Trial
from hydra_skopt_sweeper.search.feed import ModelFeed, returned_together, told_loss


class Learner:
    def __init__(self):
        self.told, self.excluded = [], []

    def tell(self, points, losses, *slacks):
        if points:  # as the proposer, which ignores an empty tell
            self.told.append((list(points), list(losses), *slacks))

    def exclude(self, points):
        self.excluded += points


def ok(number, value=None, values=None, metrics=None, batch=None):
    return Trial(number, {}, value, "ok", values=values, metrics=metrics, batch=batch)


def failed(number, batch=None):
    return Trial(number, {}, None, "failed", "boom", batch=batch)


def test_a_failure_before_any_value_waits_for_one_then_is_told_the_worst():
    learner = Learner()
    feed = ModelFeed(learner, Objectives(maximize=(True,)), "penalize")
    feed.returned([([0], failed(0))])
    assert learner.told == []
    feed.returned([([1], ok(1, 2.0)), ([2], ok(2, 5.0))])
    assert learner.told == [([[1], [2]], [-2.0, -5.0]), ([[0]], [-2.0])]  # maximised: worst is -2


def test_several_objectives_tell_loss_vectors_and_penalise_with_each_objectives_worst():
    learner = Learner()
    objectives = Objectives((None, None), (False, True))
    feed = ModelFeed(learner, objectives, "penalize")
    feed.returned([([1], ok(1, values=[1.0, 3.0])), ([2], ok(2, values=[4.0, 5.0])), ([3], failed(3))])
    assert learner.told == [([[1], [2]], [[1.0, -3.0], [4.0, -5.0]]), ([[3]], [[4.0, -3.0]])]
    assert told_loss(ok(4, values=[1.0]), objectives) is None  # not the sweep's objectives


def test_with_metric_constraints_each_valued_point_tells_its_slacks_and_a_failure_none():
    learner = Learner()
    feed = ModelFeed(learner, Objectives(), "skip", MetricConstraints(["size <= 10"]))
    feed.returned([([1], ok(1, 0.5, metrics={"size": 12.0})), ([2], ok(2, 0.7)), ([3], failed(3))])
    assert learner.told == [([[1], [2]], [0.5, 0.7], [[2.0], None])]
    assert learner.excluded == [[3]]


def test_a_batch_returns_together_and_an_async_trial_alone():
    trials = [ok(0, 1.0, batch=1), ok(1, 1.0, batch=1), ok(2, 1.0), ok(3, 1.0, batch=2)]
    assert [[t.number for t in group] for group in returned_together(trials)] == [[0, 1], [2], [3]]


def test_a_trial_the_forecast_rule_stopped_tells_its_forecast_never_worse_than_its_best_so_far():
    def pruned(value, forecast):
        return Trial(3, {}, value, "pruned", step=4, forecast=forecast)

    minimise, maximise = Objectives(), Objectives(maximize=(True,))
    assert told_loss(pruned(0.9, 0.4), minimise) == 0.4  # forecast to end lower than where it stopped
    assert told_loss(pruned(0.9, 1.2), minimise) == 0.9  # a curve's best never rises
    assert told_loss(pruned(0.9, None), minimise) == 0.9  # another rule stopped it: its best so far
    assert told_loss(pruned(0.6, 0.8), maximise) == -0.8  # maximised: a higher forecast is better
    assert told_loss(pruned(0.6, 0.5), maximise) == -0.6
