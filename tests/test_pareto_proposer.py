"""The proposer of several objectives: one GP per objective, points chosen by the expected
hypervolume improvement (ParEGO beyond three objectives), the batch proposer's bookkeeping."""
import numpy as np
import pytest
from skopt.space import Categorical, Integer, Real

from hydra_skopt_sweeper.search.pareto import hypervolume
from hydra_skopt_sweeper.search.pareto_proposer import ParetoProposer
from hydra_skopt_sweeper.search.proposer import BatchProposer
from tests.test_proposer import run as drive


def zdt1(point):
    x, y = point[0], point[1]
    g = 1 + 9 * y
    return [x, g * (1 - np.sqrt(x / g))]


def run(proposer, objective, n_calls, batch):
    """The loss vectors of a run driven as test_proposer's ``run`` drives one."""
    return np.array([losses for _, losses in drive(proposer, objective, n_calls, batch)])


@pytest.mark.slow
def test_the_front_it_finds_beats_random_search_on_a_convex_front():
    reference = np.array([1.1, 10.0])
    found = run(ParetoProposer([Real(0, 1), Real(0, 1)], n_objectives=2, random_state=0, n_calls=30),
                zdt1, 30, batch=1)
    rng = np.random.default_rng(0)
    random = np.array([zdt1(p) for p in rng.random((30, 2))])
    assert hypervolume(found, reference) > hypervolume(random, reference) + 0.1


@pytest.mark.slow
@pytest.mark.parametrize("batch", [1, 4])
def test_proposals_are_distinct_and_allowed_with_pending_points(batch):
    allowed = lambda p: p[0] + p[1] <= 1.2  # noqa: E731
    proposer = ParetoProposer([Real(0, 1), Real(0, 1), Categorical(["a", "b"])], n_objectives=2,
                              is_allowed=allowed, random_state=1, n_calls=24, n_initial_points=6)
    asked = []
    while len(asked) < 24:
        points = proposer.ask(batch)
        asked += points
        proposer.tell(points, [[p[0] + (p[2] == "a"), 1 - p[1]] for p in points])
    assert proposer.model_ready
    assert all(allowed(p) for p in asked)
    assert len({tuple(p) for p in asked}) == len(asked)


def test_an_async_refill_is_chosen_with_the_running_points_pending():
    proposer = ParetoProposer([Real(0, 1), Real(0, 1)], n_objectives=2, random_state=2, n_calls=20)
    run(proposer, zdt1, 8, batch=2)
    running = proposer.ask(3)
    refill = proposer.ask(1)
    assert refill[0] not in running
    proposer.tell(running + refill, [zdt1(p) for p in running + refill])


def test_four_objectives_are_searched_by_random_scalarisations():
    def four(point):
        return [point[0], 1 - point[0], point[1], (point[2] - 3) ** 2]

    proposer = ParetoProposer([Real(0, 1), Real(0, 1), Integer(0, 6)], n_objectives=4, random_state=3,
                              n_calls=20, n_initial_points=5)
    losses = run(proposer, four, 14, batch=2)
    assert proposer.model_ready and len(losses) == 14


def test_a_loss_vector_of_another_length_or_not_finite_is_refused():
    proposer = ParetoProposer([Real(0, 1)], n_objectives=2, random_state=0)
    point = proposer.ask(1)
    with pytest.raises(ValueError, match="must hold 2 finite losses"):
        proposer.tell(point, [[1.0]])
    with pytest.raises(ValueError, match="must hold 2 finite losses"):
        proposer.tell(point, [[1.0, float("nan")]])
    with pytest.raises(ValueError, match="at least 2"):
        ParetoProposer([Real(0, 1)], n_objectives=1)


@pytest.mark.slow
def test_a_reference_point_keeps_the_search_where_it_counts():
    """With a reference point that only counts losses of the first objective below 0.3, the
    model phase looks there."""
    proposer = ParetoProposer([Real(0, 1), Real(0, 1)], n_objectives=2, random_state=4, n_calls=30,
                              n_initial_points=8, reference_point=[0.3, 10.0])
    losses = run(proposer, zdt1, 24, batch=1)
    assert np.mean(losses[8:, 0] < 0.3) > 0.7


@pytest.mark.parametrize("seed", range(3))
def test_a_batch_spreads_out_because_each_point_is_chosen_on_fantasies_of_the_earlier_ones(seed):
    proposer = ParetoProposer([Real(0, 1), Real(0, 1)], n_objectives=2, random_state=seed, n_calls=40)
    run(proposer, zdt1, 12, batch=1)
    batch = np.array(proposer.ask(4))
    gaps = [np.linalg.norm(batch[i] - batch[j]) for i in range(4) for j in range(i)]
    assert min(gaps) > 0.05


def test_with_too_few_measured_points_for_a_constraint_model_the_losses_alone_choose():
    """Failed trials told a penalty measure nothing: before two points measured the metrics,
    the constraint cannot be modelled, and the proposer goes on by the losses alone."""
    for several in (False, True):
        kwargs = {"n_objectives": 2} if several else {}
        cls = ParetoProposer if several else BatchProposer
        proposer = cls([Real(0, 1), Real(0, 1)], random_state=0, n_calls=12, n_initial_points=3,
                       n_constraints=1, **kwargs)
        for _ in range(6):
            point = proposer.ask(1)
            losses = zdt1(point[0])
            proposer.tell(point, [losses if several else losses[1]], [None])
        assert proposer.model_ready
