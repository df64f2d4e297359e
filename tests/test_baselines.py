"""Representation baselines, the sign-flip permutation test and scoring plain state arrays,
each against an analytic answer."""

import numpy as np
import pytest
from scipy import stats

from simlib import SimlibError
from simlib.baselines import BASELINES, linear_cka, mean_cca, procrustes_distance, representation_baselines
from simlib.bootstrap import sign_flip_p_value
from simlib.simulation import score_states


def _orthogonal(d, seed):
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q * np.sign(np.diag(r))


@pytest.fixture(scope="module")
def states():
    """500 rows of correlated 5-D states (not isotropic, so CKA is not trivially 1)."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(500, 5)) @ rng.normal(size=(5, 5))


def test_a_rotated_scaled_shifted_copy_is_identical_to_every_baseline(states):
    copy = 3.0 * states @ _orthogonal(5, 1) + 7.0
    assert linear_cka(states, copy) == pytest.approx(1.0, abs=1e-12)
    assert procrustes_distance(states, copy) == pytest.approx(0.0, abs=1e-6)
    assert mean_cca(states, copy) == pytest.approx(1.0, abs=1e-6)
    wider = states @ _orthogonal(8, 2)[:5]  # isometric into 8 dimensions: padding makes it a rotation
    assert procrustes_distance(states, wider) == pytest.approx(0.0, abs=1e-6)
    assert linear_cka(states, wider) == pytest.approx(1.0, abs=1e-12)


def test_cca_is_invariant_to_any_invertible_linear_map_and_cka_is_not(states):
    mapped = states @ np.random.default_rng(3).normal(size=(5, 5)) - 2.0
    assert mean_cca(states, mapped) == pytest.approx(1.0, abs=1e-4)  # the ridge shrinks weak directions a little
    assert linear_cka(states, mapped) < 0.99
    assert procrustes_distance(states, mapped) > 0.05


def test_independent_states_are_unrelated_for_many_rows():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(20000, 3)), rng.normal(size=(20000, 4))
    assert linear_cka(x, y) < 0.005
    assert mean_cca(x, y) < 0.03
    assert procrustes_distance(x, y) > 1.35  # sqrt(2) for orthogonal representations


def test_cka_procrustes_and_cca_are_symmetric(states):
    other = np.tanh(states[:, :3] @ np.random.default_rng(5).normal(size=(3, 7)))
    for name, baseline in BASELINES.items():
        assert baseline(states, other) == pytest.approx(baseline(other, states), rel=1e-10), name
        assert 0.0 <= baseline(states, other) <= (np.sqrt(2) if name == "procrustes" else 1.0)


def test_cca_counts_components_up_to_the_smaller_rank(states):
    """A 5-D machine against a 2-D function of it: both canonical correlations are 1."""
    assert mean_cca(states, states[:, :2] * [1.0, -4.0]) == pytest.approx(1.0, abs=1e-6)
    rank_two = states[:, :2] @ np.random.default_rng(6).normal(size=(2, 6))  # 6 columns, rank 2
    assert mean_cca(states, rank_two) == pytest.approx(1.0, abs=1e-6)


def test_the_registry_flattens_traces_and_names_undefined_values():
    rng = np.random.default_rng(7)
    a = rng.normal(size=(6, 10, 3))
    summary = representation_baselines(a, a @ _orthogonal(3, 8))
    assert set(summary) == set(BASELINES) == {"cka", "procrustes", "cca"}
    assert summary["cka"] == pytest.approx(1.0) and summary["procrustes"] == pytest.approx(0.0, abs=1e-6)
    assert representation_baselines(a, np.ones((6, 10, 2))) == {"cka": None, "procrustes": None, "cca": None}
    with pytest.raises(SimlibError, match="same rows"):
        representation_baselines(a, a[:5])
    with pytest.raises(SimlibError, match="NaN"):
        linear_cka(np.full((4, 2), np.nan), np.ones((4, 2)))


def test_sign_flip_p_values_at_their_analytic_extremes():
    rng = np.random.default_rng(9)
    control = rng.uniform(0.9, 1.1, size=100)
    assert sign_flip_p_value(control, control) == 1.0  # no difference: every pattern is as extreme
    assert sign_flip_p_value(control * 1e-4, control, flips=2000) == pytest.approx(1 / 2001)
    assert sign_flip_p_value(control, control * 1e-4) == 1.0  # worse than the control: one-sided
    # three episodes: the 8 patterns are enumerated; only the observed one reaches its mean
    assert sign_flip_p_value(np.zeros(3), np.array([1.0, 2.0, 3.0])) == 1 / 8
    assert sign_flip_p_value(np.zeros(3), np.array([1.0, 2.0, 3.0]), seed=5) == 1 / 8  # exact: no seed
    with pytest.raises(SimlibError):
        sign_flip_p_value(np.zeros(3), np.zeros(4))
    with pytest.raises(SimlibError, match="NaN"):
        sign_flip_p_value(np.array([np.nan]), np.zeros(1))


def test_sign_flip_p_values_are_uniform_under_exchangeability():
    """Real and control drawn from one distribution: p is uniform (KS), about 5% below 0.05."""
    rng = np.random.default_rng(10)
    draws = rng.gamma(2.0, size=(2, 300, 25))
    p = np.array([sign_flip_p_value(r, c, flips=400, seed=i) for i, (r, c) in enumerate(zip(*draws))])
    assert stats.kstest(p, "uniform").pvalue > 0.01
    assert 0.01 < np.mean(p < 0.05) < 0.1


@pytest.fixture(scope="module")
def recorded():
    """Random 'hidden states' of 80 episodes x 10 steps, and an affine reparametrisation of them."""
    rng = np.random.default_rng(11)
    a = rng.normal(size=(80, 10, 3))
    return a, a @ rng.normal(size=(3, 4)) + 1.5


def test_a_linear_reparametrisation_of_recorded_states_scores_zero_both_ways(recorded):
    a, b = recorded
    scores = score_states(a, b, seed=0)
    for key in ("a_to_b", "b_to_a"):
        assert scores[key]["d_s"] < 0.01
        assert scores["controls"]["shuffled"][key]["d_s"] > 0.8
        assert scores["controls"]["p_values"][key]["d_s"] == pytest.approx(1 / 2001)
        low, high = scores["controls"]["bootstrap"][key]["d_s"]
        assert low <= scores[key]["d_s"] <= high
    assert scores["a_to_b"]["n_components"] == [3, 3]  # b has rank 3 in 4 columns
    assert scores["baselines"]["cca"] == pytest.approx(1.0, abs=1e-6)
    assert scores["test_episodes"] == 16 and len(scores["warnings"]) == 1 and "16 held-out" in scores["warnings"][0]
    assert "d_o" not in scores["a_to_b"]
    linear = score_states(a.reshape(-1, 3), b.reshape(-1, 4), phi="linear", seed=1)  # rows, not episodes
    assert linear["episodes"] == 800 and linear["warnings"] == []
    assert max(linear[key]["d_s"] for key in ("a_to_b", "b_to_a")) < 1e-20


def test_independent_recorded_states_score_like_the_shuffled_control(recorded):
    a, _ = recorded
    other = np.random.default_rng(12).normal(size=(80, 10, 2))
    scores = score_states(a, other, phi="linear", seed=0)
    for key in ("a_to_b", "b_to_a"):
        d_s, control = scores[key]["d_s"], scores["controls"]["shuffled"][key]["d_s"]
        assert d_s == pytest.approx(1.0, abs=0.15) and d_s == pytest.approx(control, abs=0.1)
        assert scores["controls"]["p_values"][key]["d_s"] > 0.01
    assert scores["baselines"]["cka"] < 0.05


def test_recorded_states_must_pair_row_by_row(recorded):
    a, b = recorded
    with pytest.raises(SimlibError, match="pair row by row"):
        score_states(a, b[:, :5])
    with pytest.raises(SimlibError, match="states_a must be"):
        score_states(a[0, 0], b[0, 0])
    with pytest.raises(SimlibError, match="unknown phi"):
        score_states(a, b, phi="kernel")
