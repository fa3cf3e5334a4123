"""Pareto fronts and hypervolumes, against brute force."""
import itertools

import numpy as np
import pytest

from hydra_skopt_sweeper.search.pareto import (
    RegionGrid,
    chebyshev,
    dominates,
    hypervolume,
    non_dominated,
    reference_point,
)


def hypervolume_improvement(losses, candidates, reference):
    """What each candidate alone adds to the hypervolume of ``losses``, by two volumes."""
    base = hypervolume(losses, reference)
    losses = np.asarray(losses, dtype=float).reshape(-1, np.asarray(reference).size)
    return np.array([hypervolume(np.vstack([losses, candidate[None, :]]), reference) - base
                     for candidate in np.asarray(candidates, dtype=float)])


def brute_front(losses):
    return np.array([not any(dominates(other, point) for other in losses) for point in losses])


def brute_hypervolume(losses, reference):
    """Exact: the grid of every point's coordinates cuts the box into cells, each dominated
    by some point or by none."""
    losses = np.asarray(losses, dtype=float)
    axes = [np.unique(np.concatenate([losses[:, j], [reference[j]]])) for j in range(len(reference))]
    volume = 0.0
    for cell in itertools.product(*(range(len(axis) - 1) for axis in axes)):
        low = np.array([axes[j][i] for j, i in enumerate(cell)])
        high = np.array([axes[j][i + 1] for j, i in enumerate(cell)])
        if np.any(low >= reference):
            continue
        if np.any(np.all(losses <= low, axis=1)):
            volume += float(np.prod(high - low))
    return volume


@pytest.mark.parametrize("m", [2, 3, 4])
@pytest.mark.parametrize("seed", range(6))
def test_front_and_hypervolume_match_brute_force(m, seed):
    rng = np.random.default_rng(seed)
    n = 12 if m < 4 else 7
    losses = rng.integers(0, 6, size=(n, m)).astype(float)  # ties and duplicates included
    np.testing.assert_array_equal(non_dominated(losses), brute_front(losses))
    reference = reference_point(losses)
    assert hypervolume(losses, reference) == pytest.approx(brute_hypervolume(losses, reference), rel=1e-12)


def test_a_known_two_objective_front():
    losses = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [3.0, 3.0]])
    assert non_dominated(losses).tolist() == [True, True, True, False]
    # staircase under (4, 4): 3*1 + 2*1 + 1*1
    assert hypervolume(losses, np.array([4.0, 4.0])) == pytest.approx(6.0)
    assert hypervolume(losses, np.array([1.0, 1.0])) == 0.0  # nothing beats the reference


def test_equal_points_are_all_on_the_front():
    losses = np.array([[1.0, 2.0], [1.0, 2.0], [2.0, 3.0]])
    assert non_dominated(losses).tolist() == [True, True, False]


def test_the_reference_point_lies_beyond_the_worst_values():
    losses = np.array([[1.0, -4.0], [2.0, -8.0], [0.0, -5.0]])
    np.testing.assert_allclose(reference_point(losses), [2.2, -3.6])
    assert np.all(reference_point(np.array([[0.0, 0.0]])) > 0)  # a zero worst still gets a margin


def test_improvement_is_zero_for_a_dominated_candidate_and_the_added_volume_otherwise():
    losses = np.array([[1.0, 3.0], [3.0, 1.0]])
    reference = np.array([4.0, 4.0])
    gains = hypervolume_improvement(losses, np.array([[2.0, 2.0], [3.5, 3.5], [1.0, 3.0]]), reference)
    np.testing.assert_allclose(gains, [1.0, 0.0, 0.0])


def non_dominated_boxes(front, reference):
    return RegionGrid.of(front, reference).boxes()


def overlap(point, lower, upper):
    """The volume the boxes share with the region a loss vector dominates."""
    return float(np.sum(np.prod(np.clip(upper - np.maximum(lower, point), 0.0, None), axis=1)))


@pytest.mark.parametrize("m", [2, 3])
@pytest.mark.parametrize("seed", range(4))
def test_the_boxes_tile_exactly_the_region_the_front_leaves(m, seed):
    rng = np.random.default_rng(seed)
    losses = rng.random((15, m))
    front = losses[non_dominated(losses)]
    reference = np.full(m, 1.1)
    lower, upper = non_dominated_boxes(front, reference)
    assert np.all(lower <= upper)
    for candidate in np.vstack([rng.random((20, m)) * 0.9, front[:2]]):
        expected = hypervolume_improvement(front, candidate[None, :], reference)[0]
        assert overlap(candidate, lower, upper) == pytest.approx(expected, abs=1e-12)


def test_with_no_front_the_one_box_is_everything_below_the_reference():
    lower, upper = non_dominated_boxes(np.zeros((0, 2)), np.array([1.0, 2.0]))
    assert lower.tolist() == [[-np.inf, -np.inf]] and upper.tolist() == [[1.0, 2.0]]


@pytest.mark.parametrize("m", [2, 3])
def test_expected_improvement_matches_a_monte_carlo_estimate(m):
    rng = np.random.default_rng(7)
    losses = rng.random((12, m))
    front = losses[non_dominated(losses)]
    region = RegionGrid.of(front, np.full(m, 1.1))
    lower, upper = region.boxes()
    mean = np.array([np.full(m, 0.35), np.full(m, 0.6), np.linspace(0.1, 0.5, m)])
    std = np.array([np.full(m, 0.1), np.linspace(0.05, 0.3, m), np.full(m, 0.02)])
    exact = region.expected_improvement(mean, std)
    for i in range(len(mean)):
        draws = rng.normal(mean[i], std[i], size=(40000, m))
        gains = np.sum(np.prod(np.clip(upper[None] - np.maximum(lower[None], draws[:, None]), 0, None), axis=2), axis=1)
        error = 4 * gains.std() / np.sqrt(len(draws)) + 1e-9
        assert abs(exact[i] - gains.mean()) < error


def test_a_certain_outcome_improves_by_its_hypervolume_improvement():
    front = np.array([[0.2, 0.8], [0.5, 0.5], [0.8, 0.2]])
    point = np.array([[0.3, 0.3]])
    exact = RegionGrid.of(front, np.array([1.0, 1.0])).expected_improvement(point, np.full((1, 2), 1e-9))
    assert exact[0] == pytest.approx(hypervolume_improvement(front, point, np.array([1.0, 1.0]))[0])


def test_chebyshev_is_the_largest_weighted_loss_plus_a_share_of_their_sum():
    values = chebyshev(np.array([[0.2, 0.6], [0.5, 0.5]]), np.array([0.5, 0.5]), augment=0.1)
    assert values.tolist() == pytest.approx([0.3 + 0.1 * 0.4, 0.25 + 0.1 * 0.5])
