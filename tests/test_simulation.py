"""Approximate simulation on machines whose answers are known analytically.

Reparametrisations of the Bayes-optimal coin machine simulate each other; the count machine
simulates the history machine but not the other way round (the paper's asymmetry); the
forgetful machine and the Bayes machine simulate neither way.
"""

import io
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
import xarray as xr
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import estimator_checks
from sklearn.utils.validation import check_is_fitted

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
    return Simulation(_load(target), source, target, **settings).fit(train).evaluate(test)


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
    result = Simulation(rotated, "opt", "rot", phi="linear").fit(train).evaluate(test)
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
    Simulation(_load("opt"), "history", "opt").fit(train).score(test)
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
        Simulation(odd, "opt", "odd").fit(traces)


@pytest.mark.parametrize("settings", [{"phi": "kernel"}, {"n_components": 0}, {"n_components": "most"}])
def test_bad_settings_are_user_errors(coin_split, settings):
    with pytest.raises(SimlibError):
        _score(coin_split, "opt", "history", **settings)


def test_use_before_fit_is_a_user_error_and_sklearns_not_fitted_error(coin_split):
    sim = Simulation(_load("opt"), "history", "opt")
    for method in (sim.score, sim.evaluate):
        with pytest.raises(SimlibError, match="not fitted") as raised:
            method(coin_split[1])
        assert isinstance(raised.value, NotFittedError)
    with pytest.raises(NotFittedError):
        check_is_fitted(sim)


def test_fit_needs_the_simulator_and_traces(coin_split):
    with pytest.raises(SimlibError, match="simulating machine"):
        Simulation(source="history", target="opt").fit(coin_split[0])
    with pytest.raises(SimlibError, match="xarray.Dataset"):
        Simulation(_load("opt"), "history", "opt").fit(np.zeros((10, 3)))


def test_estimator_parameters_round_trip():
    sim = Simulation(n_components="full", hidden=32)
    params = sim.get_params()
    assert params["n_components"] == "full" and params["hidden"] == 32 and "random_state" in params
    assert {"simulator", "source", "target"} <= set(params)
    assert Simulation(**params).get_params() == params
    assert sim.set_params(hidden=16).hidden == 16
    assert "hidden=16" in repr(sim)
    with pytest.raises(SimlibError, match="width"):
        sim.set_params(width=3)


def test_clone_copies_the_settings_and_none_of_the_fit(coin_split):
    train, test = coin_split
    fitted = Simulation(_load("opt"), "history", "opt", n_components="full", phi="linear", random_state=3).fit(train)
    fitted.score(test)
    copy = clone(fitted)
    params, copied = fitted.get_params(deep=False), copy.get_params(deep=False)
    simulator = copied.pop("simulator")  # clone deep-copies a parameter that is not an estimator
    assert copied == {k: v for k, v in params.items() if k != "simulator"}
    assert type(simulator) is type(fitted.simulator) and simulator is not fitted.simulator
    assert not any(name.endswith("_") for name in vars(copy))
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    assert copy.fit(train).score(test) == fitted.score(test)


def test_simlibs_clone_is_sklearns_and_compare_never_imports_sklearn(coin_split):
    from simlib.estimator import clone as simlib_clone

    fitted = Simulation(_load("opt"), "history", "opt", phi="linear", hidden=8).fit(coin_split[0])
    ours, theirs = simlib_clone(fitted), clone(fitted)
    assert set(ours.get_params()) == set(theirs.get_params())
    assert all(ours.get_params()[k] == v for k, v in theirs.get_params().items() if k != "simulator")
    assert not hasattr(ours, "embedding_") and ours.simulator is not fitted.simulator
    code = (
        "import sys; from simlib import machines; from simlib.compare import compare; "
        "compare(machines.load('posterior:beta-bernoulli'), machines.load('opt:beta-bernoulli'), episodes=20, "
        "resamples=10, flips=10, max_steps=5); print(sorted(m for m in sys.modules if m.startswith('sklearn')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# scikit-learn's estimator checks that need no data. The data-driven ones (check_estimator,
# parametrize_with_checks: fit/predict/score on generated numpy arrays, pickling, n_features_in_,
# idempotence, not overwriting parameters, ...) do not apply: Simulation's X is an xarray.Dataset
# of traces holding two named machines, which numpy arrays cannot be, and its fit refuses them with
# a SimlibError. The tests below them re-run the applicable ones on traces.
# check_estimators_unfitted only calls predict/predict_proba/decision_function, which Simulation
# has none of; test_use_before_fit_is_... checks score and evaluate instead.
SKLEARN_CHECKS = [
    estimator_checks.check_no_attributes_set_in_init,
    estimator_checks.check_parameters_default_constructible,
    estimator_checks.check_get_params_invariance,
    estimator_checks.check_set_params,
    estimator_checks.check_estimator_cloneable,
    estimator_checks.check_estimator_repr,
    estimator_checks.check_do_not_raise_errors_in_init_or_set_params,
    estimator_checks.check_valid_tag_types,
    estimator_checks.check_estimator_tags_renamed,
    estimator_checks.check_mixin_order,
]


@pytest.mark.parametrize("check", SKLEARN_CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize("configured", [False, True], ids=["default", "configured"])
def test_sklearn_estimator_checks(check, configured):
    estimator = Simulation(_load("opt"), "history", "opt", n_components="full", hidden=16) if configured else Simulation()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # check_set_params only warns when set_params validates
        check("Simulation", estimator)


def test_fit_is_idempotent_returns_self_and_leaves_params_alone(coin_split):
    """check_fit_idempotent, check_estimators_fit_returns_self, check_dont_overwrite_parameters and
    check_estimators_overwrite_params, on traces."""
    train, test = coin_split
    sim = Simulation(_load("opt"), "history", "opt", max_steps=30, random_state=2)
    before = sim.get_params(deep=False)
    assert sim.fit(train) is sim
    first = sim.score(test)
    after = sim.get_params(deep=False)
    assert after.keys() == before.keys() and all(after[k] is before[k] for k in before)
    public = {name for name in vars(sim) if not name.startswith("_")}
    assert public - set(before) == {"source_whitening_", "target_whitening_", "embedding_", "result_"}
    sim.fit(train)
    assert not hasattr(sim, "result_")  # a refit drops the last score's result
    assert sim.score(test) == first


def test_a_pickled_fit_scores_the_same(coin_split):
    """check_estimators_pickle, on traces."""
    train, test = coin_split
    sim = Simulation(_load("opt"), "history", "opt", phi="linear").fit(train)
    assert pickle.loads(pickle.dumps(sim)).score(test) == sim.score(test)


def test_score_is_one_minus_d_s_and_keeps_the_result(coin_split):
    train, test = coin_split
    sim = Simulation(_load("forgetful"), "opt", "forgetful", phi="linear").fit(train)
    value = sim.score(test)
    assert type(value) is float and value == 1.0 - sim.result_.d_s
    assert sim.result_.to_dict() == sim.evaluate(test).to_dict()
    assert 0.0 < value < 1.0  # some, not all, of the forgetful machine's state is predictable


def test_result_dataset_keeps_the_traces_labels(coin_split):
    train, test = coin_split
    result = _score(coin_split, "history", "opt", phi="linear")
    dataset = result.to_dataset()
    np.testing.assert_array_equal(dataset["episode"].values, test["episode"].values)
    assert not np.array_equal(dataset["episode"].values, np.arange(test.sizes["episode"]))  # a real subset
    np.testing.assert_array_equal(dataset["time"].values, test["time"].values)
    assert list(dataset["param"].values) == list(test["opt_param"].values)
    assert dataset["d_s"].dims == ("episode", "time") and dataset["d_o"].dims == ("episode", "time")
    assert dataset["embedded"].dims == ("episode", "time", "component")
    assert float(dataset["d_s"].mean()) == pytest.approx(result.d_s)
    assert float(dataset["d_o"].sum("time").mean()) == pytest.approx(result.d_o)
    np.testing.assert_allclose(dataset["d_s"].mean("episode"), result.d_s_per_time)
    assert "d_o_signed" not in dataset and "d_o_abs" not in dataset  # divergences cannot cancel
    assert dataset.attrs["d_s"] == result.d_s and dataset.attrs["source"] == "history"
    assert list(dataset.attrs["n_components"]) == [2, 2] and dataset.attrs["converged"] == 1
    reread = xr.open_dataset(io.BytesIO(bytes(dataset.to_netcdf(engine="scipy"))), engine="scipy")
    xr.testing.assert_allclose(reread, dataset)
    assert reread.attrs["d_o"] == dataset.attrs["d_o"] and list(reread.attrs["n_components"]) == [2, 2]


def test_traces_holding_nan_states_are_refused_by_fit_and_score():
    import numpy as np

    from simlib import SimlibError, machines, tasks
    from simlib.simulation import Simulation
    from simlib.traces import sample_traces

    opt, history = machines.load("opt:beta-bernoulli"), machines.load("history:beta-bernoulli")
    traces = sample_traces(tasks.get("beta-bernoulli"), {"a": history, "b": opt}, 20, seed=0)
    fitted = Simulation(opt, source="a", target="b", random_state=0).fit(traces)
    broken = traces.copy(deep=True)
    broken["a_state"].values[3, 4, 0] = np.nan
    with pytest.raises(SimlibError, match="a_state hold NaN"):
        fitted.score(broken)
    with pytest.raises(SimlibError, match="a_state hold NaN"):
        Simulation(opt, source="a", target="b", random_state=0).fit(broken)


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
        mean = Simulation(_load("opt"), "history", "opt", phi="mean").fit(train)
        result = mean.evaluate(train)
        assert result.phi == "mean" and result.d_s == pytest.approx(1.0, abs=1e-9)
        assert mean.score(train) == pytest.approx(0.0, abs=1e-9)  # the score's 0: phi predicts the mean state
        with pytest.raises(SimlibError, match="already registered"):
            register_embedding("mean", lambda settings: MeanEmbedding())
    finally:
        EMBEDDINGS.pop("mean")
    with pytest.raises(SimlibError, match="unknown phi 'mean'"):
        Simulation(_load("opt"), "history", "opt", phi="mean").fit(train)
