"""Greedy matching against the paper's dense loop; accuracy curves computed by hand."""
import numpy as np
import pytest

from seqsi.localization import accuracy_curve, localization_score, match, match_dense


def assert_same_matching(pred, ref, max_dist):
    pairs, distances = match(pred, ref, max_dist)
    expected_pairs, expected_distances = match_dense(pred, ref, max_dist)
    np.testing.assert_array_equal(pairs, expected_pairs)
    np.testing.assert_array_equal(distances, expected_distances)


def test_matching_equals_the_dense_greedy_on_random_sets_with_ties():
    rng = np.random.default_rng(0)
    sizes = [(0, 0), (0, 5), (5, 0), (1, 1), (30, 3), (3, 30), (40, 40), (25, 60), (60, 25)]
    for trial in range(240):
        n_pred, n_ref = sizes[trial % len(sizes)]
        dims = 1 + trial % 3
        extent = rng.integers(3, 25)  # small integer grids: many equal distances
        pred = rng.integers(0, extent, (n_pred, dims)).astype(float)
        ref = rng.integers(0, extent, (n_ref, dims)).astype(float)
        if trial % 4 == 0:
            pred = pred + rng.normal(0, 0.7, pred.shape)
        for max_dist in (1, 2.5, 6, np.inf):
            assert_same_matching(pred, ref, max_dist)


def test_a_long_chain_of_dependent_choices_still_matches_the_match_dense():
    """Alternating points on a line with shrinking gaps: each choice waits on the next one."""
    gaps = np.linspace(5.0, 1.0, 399)
    line = np.concatenate(([0.0], np.cumsum(gaps)))
    pred, ref = line[0::2, None], line[1::2, None]
    assert_same_matching(pred, ref, 6)
    pairs, _ = match(pred, ref, 6)
    assert len(pairs) == 200


def test_ties_go_to_the_smaller_pred_then_ref_index():
    pairs, distances = match([[0, 2], [0, -2]], [[0, 0]], 5)
    np.testing.assert_array_equal(pairs, [[0, 0]])
    pairs, _ = match([[0, 0]], [[2, 0], [-2, 0]], 5)
    np.testing.assert_array_equal(pairs, [[0, 0]])
    # Greedy, not an optimal assignment: the closest pair is taken even if it strands a point.
    pairs, distances = match([[0.0], [1.5]], [[1.0]], 2)
    np.testing.assert_array_equal(pairs, [[1, 0]])
    np.testing.assert_array_equal(distances, [0.5])


def test_ten_thousand_points_each_match_their_own_reference():
    rng = np.random.default_rng(1)
    grid = np.stack(np.meshgrid(np.arange(100), np.arange(100), indexing="ij"), -1).reshape(-1, 2) * 20.0
    order = rng.permutation(len(grid))
    pred = grid[order] + rng.uniform(-2, 2, grid.shape)
    pairs, distances = match(pred, grid, 12)
    assert len(pairs) == 10_000 and distances.max() < 3
    np.testing.assert_array_equal(order[pairs[:, 0]], pairs[:, 1])


def test_accuracy_curve_by_hand():
    ref = [[0, 0], [10, 10], [30, 30], [100, 100]]
    pred = [[0, 0.5], [10, 12], [33, 34], [60, 60], [200, 200]]  # distances 0.5, 2 (exactly), 5, none, none
    total = 9
    np.testing.assert_allclose(
        accuracy_curve(pred, ref, 6), [1 / (total - 1), 1 / 8, 2 / 7, 2 / 7, 2 / 7, 3 / 6])
    np.testing.assert_allclose(accuracy_curve(pred, ref, 5), [1 / 8, 1 / 8, 2 / 7, 2 / 7, 2 / 7])  # d=5 not < 5
    assert localization_score(pred, ref, 6) == pytest.approx(np.mean([1 / 8, 1 / 8, 2 / 7, 2 / 7, 2 / 7, 3 / 6]))


def test_accuracy_curve_of_perfect_empty_and_one_sided_predictions():
    ref = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])
    np.testing.assert_array_equal(accuracy_curve(ref, ref, 6), np.ones(6))
    np.testing.assert_array_equal(accuracy_curve([], [], 6), np.ones(6))  # nothing to find, nothing found
    np.testing.assert_array_equal(accuracy_curve(np.zeros((0, 3)), ref, 6), np.zeros(6))
    np.testing.assert_array_equal(accuracy_curve(ref, [], 6), np.zeros(6))
    assert localization_score([], [], 10) == 1.0


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="same number of axes"):
        match([[0, 0]], [[0, 0, 0]], 3)
    with pytest.raises(ValueError, match=r"\(K, d\)"):
        match([0, 1, 2], [[0]], 3)
    with pytest.raises(ValueError, match="non-finite"):
        match([[np.nan, 0]], [[0, 0]], 3)
    with pytest.raises(ValueError, match="max_dist"):
        match([[0, 0]], [[0, 0]], 0)
    for bad in (2.5, 0, True):
        with pytest.raises(ValueError, match="whole number"):
            accuracy_curve([[0, 0]], [[0, 0]], bad)
