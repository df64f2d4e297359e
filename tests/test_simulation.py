"""Approximate simulation on machines whose answers are known analytically.

Reparametrisations of the Bayes-optimal coin machine simulate each other; the count machine
simulates the history machine but not the other way round (the paper's asymmetry); the
forgetful machine and the Bayes machine simulate neither way.
"""

import numpy as np
import pytest
import torch
import xarray as xr

from simlib import SimlibError, machines
from simlib.compare import compare
from simlib.simulation import Simulation
from simlib.traces import sample_traces, split_episodes


def _load(kind):
    return machines.load(f"{kind}:beta-bernoulli")


@pytest.fixture(scope="module")
def coin_split():
    from simlib import tasks

    names = ("opt", "history", "forgetful")
    traces = sample_traces(tasks.get("beta-bernoulli"), {n: _load(n) for n in names}, 500, seed=0)
    return split_episodes(traces, 0.2, seed=0)


def _score(split, source, target, **settings):
    train, test = split
    return Simulation(**settings).fit(train, source, target, _load(target)).score(test)


@pytest.mark.parametrize(
    ("other", "orthogonal"),
    [
        (_load("posterior"), False),
        (_load("logodds"), False),
        (_load("rotated"), True),  # a random rotation composed with a reflection
        (machines.rotate(machines.CountPredictor(), torch.diag(torch.tensor([-1.0, 1.0], dtype=torch.float64))), True),
    ],
    ids=["posterior", "logodds", "rotated-reflected", "sign-flip"],
)
def test_reparametrisations_simulate_each_other(other, orthogonal):
    report = compare(other, _load("opt"), episodes=500, seed=0)
    assert report.behaviour.value <= 1e-9
    for key, direction in (("a_to_b", report.a_to_b), ("b_to_a", report.b_to_a)):
        assert direction.mlp.d_s <= 0.01
        assert direction.mlp.d_o <= 1e-3
        assert direction.shuffled.d_s > 0.8  # the control: no correspondence, no simulation
        assert direction.shuffled.d_o > 0.5
        assert report.p_values[key] == {"d_s": pytest.approx(1 / 2001), "d_o": pytest.approx(1 / 2001)}
    if orthogonal:  # the closed-form baselines see an orthogonal map as identity
        assert report.baselines["cka"] == pytest.approx(1.0) and report.baselines["procrustes"] < 1e-6
    assert report.warnings == []


def test_count_machine_simulates_the_history_machine_but_not_conversely(coin_split):
    """With every informative principal component kept ("full")."""
    history_to_count = _score(coin_split, "history", "opt", n_components="full")
    count_to_history = _score(coin_split, "opt", "history", n_components="full")
    assert history_to_count.n_components == (19, 2)  # 18 flips stored + the flip counter
    assert history_to_count.d_o <= 1e-3
    assert history_to_count.d_s <= 1e-3
    assert count_to_history.d_s >= 0.5  # one count state stands for many histories
    assert count_to_history.converged


def test_paper_projection_hides_what_phi_needs(coin_split):
    """The paper's setting projects both machines onto 2 components (the smaller state).

    The history machine keeps only a third of its variance there, so phi: history -> count
    can no longer read the counts (D_o far above 1e-3), and the count -> history failure
    looks much milder than it is.
    """
    history_to_count = _score(coin_split, "history", "opt")
    count_to_history = _score(coin_split, "opt", "history")
    full = _score(coin_split, "opt", "history", n_components="full")
    assert history_to_count.n_components == (2, 2)
    assert history_to_count.explained_variance[0] < 0.5
    assert history_to_count.d_o > 1e-2
    assert count_to_history.d_s < full.d_s / 2


def test_forgetful_and_bayes_simulate_neither_way():
    report = compare(_load("forgetful"), _load("opt"), episodes=500, seed=0)
    assert report.behaviour.value > 1.0
    for direction in (report.a_to_b, report.b_to_a):
        assert direction.mlp.d_s > 0.2
        assert direction.mlp.d_o > 0.5


def test_linear_phi_is_exact_for_affine_reparametrisations(coin_split):
    train, test = coin_split
    rotated = machines.rotate(_load("opt"), machines.random_orthogonal(2, seed=3))
    traces = sample_traces(_load("opt").task, {"opt": _load("opt"), "rot": rotated}, 200, seed=1)
    train, test = split_episodes(traces, 0.25, seed=1)
    result = Simulation(phi="linear").fit(train, "opt", "rot", rotated).score(test)
    assert result.d_s < 1e-20 and result.d_o < 1e-12


def test_result_breakdowns_are_consistent(coin_split):
    result = _score(coin_split, "opt", "forgetful")
    test_episodes = coin_split[1].sizes["episode"]
    assert result.d_s_per_time.shape == (20,) and result.d_o_per_episode.shape == (test_episodes,)
    assert result.d_o == pytest.approx(result.d_o_per_time.sum())
    assert result.d_s == pytest.approx(result.d_s_per_episode.mean())
    assert result.embedded.shape == result.target_whitened.shape == (test_episodes, 20, 2)
    assert result.simulated_output.shape == (test_episodes, 20, 1)
    curves = result.curves
    assert len(curves.steps) == len(curves.train) == len(curves.validation) >= 1
    assert set(result.versions) == {"simlib", "torch", "numpy"}
    assert result.to_dict()["d_s"] == result.d_s


def test_fitting_never_mutates_its_inputs(coin_split):
    train, test = coin_split
    before = (train.copy(deep=True), test.copy(deep=True))
    Simulation().fit(train, "history", "opt", _load("opt")).score(test)
    xr.testing.assert_identical(train, before[0])
    xr.testing.assert_identical(test, before[1])


def test_fits_are_reproducible(coin_split):
    first = _score(coin_split, "history", "opt", random_state=4)
    second = _score(coin_split, "history", "opt", random_state=4)
    assert first.d_s == second.d_s and first.d_o == second.d_o


class _NormalOutput:
    """A machine with a Normal output family (for the family-mismatch check)."""

    input_dim, state_dim = 2, 2

    def __init__(self):
        from simlib.families import Normal

        self.output = Normal()

    def initial_state(self, batch):
        return torch.zeros(batch, 2, dtype=torch.float64)

    def step(self, x, s):
        s = s + x.to(torch.float64)
        return torch.stack([s[:, 0], torch.ones_like(s[:, 0])], 1), s


def test_outputs_of_different_families_raise_instead_of_switching_metric(coin):
    odd = _NormalOutput()
    traces = sample_traces(coin, {"opt": _load("opt"), "odd": odd}, 40, seed=0)
    with pytest.raises(SimlibError, match="family"):
        Simulation().fit(traces, "opt", "odd", odd)


@pytest.mark.parametrize("settings", [{"phi": "kernel"}, {"n_components": 0}, {"n_components": "most"}])
def test_bad_settings_are_user_errors(coin_split, settings):
    with pytest.raises(SimlibError):
        _score(coin_split, "opt", "history", **settings)


def test_score_before_fit_is_a_user_error(coin_split):
    with pytest.raises(SimlibError):
        Simulation().score(coin_split[1])


def test_estimator_parameters_round_trip():
    sim = Simulation(n_components="full", hidden=32)
    params = sim.get_params()
    assert params["n_components"] == "full" and params["hidden"] == 32 and "random_state" in params
    assert Simulation(**params).get_params() == params
    assert sim.set_params(hidden=16).hidden == 16
    assert "hidden=16" in repr(sim)
    with pytest.raises(SimlibError):
        sim.set_params(width=3)


def test_traces_holding_nan_states_are_refused_by_fit_and_score():
    import numpy as np

    from simlib import SimlibError, machines, tasks
    from simlib.simulation import Simulation
    from simlib.traces import sample_traces

    opt, history = machines.load("opt:beta-bernoulli"), machines.load("history:beta-bernoulli")
    traces = sample_traces(tasks.get("beta-bernoulli"), {"a": history, "b": opt}, 20, seed=0)
    fitted = Simulation(random_state=0).fit(traces, source="a", target="b", simulator=opt)
    broken = traces.copy(deep=True)
    broken["a_state"].values[3, 4, 0] = np.nan
    with pytest.raises(SimlibError, match="a_state hold NaN"):
        fitted.score(broken)
    with pytest.raises(SimlibError, match="a_state hold NaN"):
        Simulation(random_state=0).fit(broken, source="a", target="b", simulator=opt)


def test_a_fit_says_why_it_stopped(coin_split):
    """The step cap is not convergence, and says so; the closed form and L-BFGS's own end are."""
    capped = _score(coin_split, "opt", "history", max_steps=20)
    assert (capped.curves.stopped, capped.converged) == ("step cap", False)
    assert capped.to_dict()["stopped"] == "step cap"
    linear = _score(coin_split, "history", "opt", phi="linear")
    assert (linear.curves.stopped, linear.converged) == ("closed form", True)
    full = _score(coin_split, "opt", "history")
    assert full.converged == (full.curves.stopped in ("L-BFGS converged", "validation loss stopped improving"))


def test_a_new_phi_kind_is_one_factory_and_one_registration(coin_split):
    """A phi that always predicts the target's whitened mean (zero) scores D_s = 1 by construction."""
    from simlib.embedding import EMBEDDINGS, FitCurves, register_embedding

    class MeanEmbedding:
        def fit(self, x, y, x_val, y_val):
            self.width_ = y.shape[1]
            self.curves_ = FitCurves(np.array([0]), np.array([1.0]), np.array([1.0]), True, "closed form")
            return self

        def predict(self, x):
            return np.zeros((x.shape[0], self.width_))

    register_embedding("mean", lambda settings: MeanEmbedding())
    try:
        train, test = coin_split
        result = Simulation(phi="mean").fit(train, "history", "opt", _load("opt")).score(train)
        assert result.phi == "mean" and result.d_s == pytest.approx(1.0, abs=1e-9)
        with pytest.raises(SimlibError, match="already registered"):
            register_embedding("mean", lambda settings: MeanEmbedding())
    finally:
        EMBEDDINGS.pop("mean")
    with pytest.raises(SimlibError, match="unknown phi 'mean'"):
        Simulation(phi="mean").fit(train, "history", "opt", _load("opt"))
