"""Pareto fronts and hypervolumes, against brute force."""
import itertools

import numpy as np
import pytest

from hydra_skopt_sweeper.pareto import (
    dominates,
    hypervolume,
    hypervolume_improvement,
    non_dominated,
    reference_point,
)


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
