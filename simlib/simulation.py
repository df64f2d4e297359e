"""Approximate simulation (paper §3.4): does machine M simulate machine N?

:class:`Simulation` is a scikit-learn estimator (:class:`simlib.estimator.Estimator`, the
protocol of :class:`sklearn.base.BaseEstimator` without scikit-learn's import cost): the
constructor stores the simulating machine M (``simulator``), the names of N (``source``) and M
(``target``) in the traces and the hyperparameters, unchanged. ``fit(X)`` learns both whitenings
and the embedding phi on training traces ``X`` (an :class:`xarray.Dataset` from
:func:`simlib.traces.sample_traces`); ``evaluate(X)`` gives the rich
:class:`SimulationResult` on held-out traces and ``score(X)`` its float ``1 - D_s`` (higher is
better), keeping the result in ``result_``. The measures:

* ``D_s`` -- mean squared error between ``phi(z_N)`` and ``z_M`` in M's whitened space
  (per component; 0 = perfect, 1 = no better than M's mean state);
* ``D_o`` -- ``KL(f_N(x, s_N) || f_M(x, phi(s_N)))`` summed over the steps of an episode and
  averaged over episodes (the units of eq. 2), where ``phi(s_N)`` is mapped back to M's raw
  state space and M is stepped from it on the same input. On closed-loop traces (output
  measure ``"return"``) D_o is eq. (3), the absolute gap of the pseudo-returns both policies
  earn along the traced stream; since over- and under-earning cancel in it, ``d_o_abs`` (the
  per-step absolute gaps summed over time, which cannot cancel) and the signed gap
  ``d_o_signed`` are reported beside it.

:meth:`SimulationResult.to_dataset` labels the per-episode and per-step arrays with the traces'
episode and time coordinates.

:func:`score_states` scores plain state arrays (recorded hidden states, no machines): D_s both
ways with the shuffled control, its p-value and the closed-form baselines of
:mod:`simlib.baselines`.

Fitting never mutates the traces or the parameters, and the output measure never changes behind
the user's back: if the two machines' output families differ, fitting and scoring raise instead
of switching metric.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field

import numpy as np
import torch
import xarray as xr

import simlib
from simlib.baselines import representation_baselines
from simlib.behaviour import divergence, has_expected_rewards, reward_gap, unavailable_measures
from simlib.bootstrap import bootstrap_ci, few_samples_warning, paired_p_values
from simlib.embedding import EMBEDDINGS, EmbeddingSettings, FitCurves
from simlib.errors import SimlibError
from simlib.estimator import Estimator, clone
from simlib.machine import StateMachine
from simlib.traces import require_machine, shuffled_pairing, split_episodes
from simlib.threads import FIT_THREADS, fit_threads
from simlib.whitening import fit_whitening

OUTPUT_MEASURES = ("kl", "js", "return")
PHI_STEPS = 400
"""L-BFGS iterations at most per MLP fit of phi, by default."""
SIGN_FLIP_TEST = "one-sided paired sign-flip over held-out episodes: phi's value below the shuffled control's"
"""What ``controls.p_values`` test (:func:`simlib.bootstrap.sign_flip_p_value`)."""
SMALL_TEST_CONSEQUENCE = "bootstrap intervals and permutation p-values rest on few samples; score more episodes"


@functools.cache
def _not_fitted() -> type:
    """``NotFitted``: a :class:`Simulation` used before ``fit``, a one-line user error that is
    also scikit-learn's :class:`~sklearn.exceptions.NotFittedError`. Made on first use, so
    that importing this module does not import scikit-learn."""
    from sklearn.exceptions import NotFittedError

    return type("NotFitted", (SimlibError, NotFittedError), {"__module__": __name__, "__doc__": _not_fitted.__doc__})


def __getattr__(name: str):
    if name == "NotFitted":
        return _not_fitted()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class SimulationResult:
    """Scores of one direction (``source`` simulated by ``target``) on held-out episodes.

    Arrays: ``d_s_per_step [E, T]``, ``d_o_per_step [E, T]`` (the per-step values D_s and D_o
    summarise), ``d_s_per_time [T]``, ``d_o_per_time [T]`` (means over episodes),
    ``d_s_per_episode [E]`` (means over time), ``d_o_per_episode [E]`` (sums over time),
    ``embedded [E, T, k_target]`` (``phi(z_source)``), ``target_whitened [E, T, k_target]``,
    ``simulated_output [E, T, P]`` (``f_target`` at the embedded states). Their labels:
    ``episodes [E]`` and ``times [T]`` (the scored traces' ``episode`` and ``time``
    coordinates) and ``param_names [P]``; :meth:`to_dataset` attaches them.

    With the ``"return"`` output measure (reward units): ``d_o_signed`` is the mean over episodes
    of ``pseudo-return(original) - pseudo-return(simulated)`` (positive: the simulated policy
    earns less; per episode ``d_o_signed_per_episode [E]``, per step ``d_o_per_step``), ``d_o``
    its absolute value (eq. 3, the paper's), and ``d_o_abs`` the mean over episodes of
    ``sum_t |pseudo-reward_t(original) - pseudo-reward_t(simulated)|`` (per episode
    ``d_o_abs_per_episode [E]``): per-step absolute gaps, which cannot cancel within an episode
    or across episodes as the signed gaps do. All three are None for the divergence measures,
    which are non-negative per step already.

    ``d_o`` and its arrays are None when the output measure cannot be computed from the traces
    (``"return"`` in an environment that gives no expected rewards); ``output_measure`` says why.
    """

    source: str
    target: str
    phi: str
    d_s: float
    d_o: float | None
    output_measure: str
    d_s_per_time: np.ndarray
    d_o_per_time: np.ndarray | None
    d_s_per_episode: np.ndarray
    d_o_per_episode: np.ndarray | None
    n_components: tuple[int, int]
    explained_variance: tuple[float, float]
    curves: FitCurves
    converged: bool
    embedded: np.ndarray = field(repr=False)
    target_whitened: np.ndarray = field(repr=False)
    simulated_output: np.ndarray = field(repr=False)
    episodes: np.ndarray = field(repr=False)
    times: np.ndarray = field(repr=False)
    param_names: tuple[str, ...] = field(repr=False)
    d_s_per_step: np.ndarray = field(repr=False)
    d_o_per_step: np.ndarray | None = field(repr=False)
    versions: dict = field(default_factory=dict)
    d_o_signed: float | None = None
    d_o_signed_per_episode: np.ndarray | None = field(default=None, repr=False)
    d_o_abs: float | None = None
    d_o_abs_per_episode: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """Scalars and settings as plain JSON-ready data."""
        return {
            "d_s": self.d_s,
            "d_o": self.d_o,
            "d_o_signed": self.d_o_signed,
            "d_o_abs": self.d_o_abs,
            "phi": self.phi,
            "output_measure": self.output_measure,
            "n_components": list(self.n_components),
            "explained_variance": list(self.explained_variance),
            "converged": self.converged,
            "stopped": self.curves.stopped,
            "fit_steps": int(self.curves.steps[-1]),
            "validation_mse": float(self.curves.validation.min()),
        }

    def to_dataset(self) -> xr.Dataset:
        """The per-step and per-episode arrays, labelled, as an :class:`xarray.Dataset`.

        Dims ``episode`` and ``time`` carry the scored traces' coordinates (so the result lines up
        with them), ``component`` indexes M's whitened principal components and ``param`` the
        output parameters. Variables: ``d_s (episode, time)``, ``embedded`` and
        ``target_whitened (episode, time, component)``, ``simulated_output (episode, time,
        param)``; where the output measure is available ``d_o (episode, time)`` (per-step
        divergence in nats, or the signed pseudo-reward gap), and on closed-loop traces
        ``d_o_signed`` and ``d_o_abs (episode)``. The attrs hold the scalars and settings, written
        so the dataset saves to netCDF: ``d_o`` is NaN where unavailable, ``converged`` 0 or 1.
        """
        cell = ("episode", "time")
        variables = {
            "d_s": (cell, self.d_s_per_step, {"long_name": "D_s: (phi(z_source) - z_target)^2, mean over components"}),
            "embedded": (cell + ("component",), self.embedded, {"long_name": "phi(z_source), target's whitened space"}),
            "target_whitened": (cell + ("component",), self.target_whitened, {"long_name": "z_target, whitened"}),
            "simulated_output": (
                cell + ("param",), self.simulated_output, {"long_name": "f_target(x, phi(s_source)) parameters"}
            ),
        }
        if self.d_o_per_step is not None:
            variables["d_o"] = (cell, self.d_o_per_step, {"long_name": f"D_o per step: {self.output_measure}"})
        for name, values, meaning in (
            ("d_o_signed", self.d_o_signed_per_episode, "pseudo-return(original) - pseudo-return(simulated)"),
            ("d_o_abs", self.d_o_abs_per_episode, "sum_t |pseudo-reward_t(original) - pseudo-reward_t(simulated)|"),
        ):
            if values is not None:
                variables[name] = (("episode",), values, {"long_name": meaning})
        coords = {
            "episode": self.episodes,
            "time": self.times,
            "component": np.arange(self.embedded.shape[-1]),
            "param": list(self.param_names),
        }
        attrs = {
            "source": self.source,
            "target": self.target,
            "phi": self.phi,
            "output_measure": self.output_measure,
            "d_s": self.d_s,
            "d_o": np.nan if self.d_o is None else self.d_o,
            "n_components": list(self.n_components),
            "explained_variance": list(self.explained_variance),
            "converged": int(self.converged),
        }
        return xr.Dataset(variables, coords=coords, attrs=attrs)


class Simulation(Estimator):
    """Fit phi from machine N's states to machine M's and score how well M simulates N.

    A scikit-learn estimator whose ``X`` is a traces :class:`xarray.Dataset` holding both
    machines (``{source}_state``, ``{source}_output``, ``{target}_state``, ``input``, ...),
    not an array: it sets no ``n_features_in_``, and scikit-learn's data-driven estimator checks
    (which feed numpy arrays) do not apply. ``y`` is ignored.

    Args:
        simulator: the simulating machine M itself, stepped from the embedded states for D_o.
            ``fit`` and ``evaluate`` need it; only :func:`score_states`, which measures D_s on
            bare state arrays, does without.
        source: name of the simulated machine N in the traces.
        target: name of the simulating machine M in the traces.
        n_components: principal components kept per machine. ``None`` is the paper's setting
            (both machines projected to the dimension of the smaller state); an int projects
            both to that many; ``"full"`` keeps every informative component of each machine.
            Always capped by the numerical rank of each machine's states.
        phi: ``"mlp"`` (three hidden layers, the paper's), ``"linear"`` (least squares), or a kind
            added with :func:`simlib.embedding.register_embedding`.
        hidden: width of the MLP's hidden layers.
        max_steps: L-BFGS iterations at most for the MLP.
        validation_fraction: share of the training episodes held out for early stopping.
        output_measure: D_o's measure: ``"kl"`` or ``"js"`` between outputs (eq. 2), or
            ``"return"`` for policies on closed-loop traces (eq. 3): the absolute mean difference
            of the pseudo-return both policies would earn along the traced stream (see
            :class:`SimulationResult` for the signed gap and the per-step gaps that cannot cancel).
        random_state: seeds the validation split and the MLP.
        threads: torch intra-op threads while fitting (one by default, so results do not
            depend on the machine's core count; None: torch's default; see :mod:`simlib.threads`).

    Fitted attributes: ``source_whitening_`` and ``target_whitening_`` (the machines' whitenings),
    ``embedding_`` (phi, with its fit curves in ``embedding_.curves_``); after :meth:`score`,
    ``result_`` (the :class:`SimulationResult` of the last scored traces).

    Settings are checked when fitting, not in the constructor (scikit-learn's rule); a bad one,
    traces that lack a machine or a simulator of another output family raise
    :class:`~simlib.errors.SimlibError`, and so does :meth:`set_params` with an unknown name.
    """

    def __init__(
        self,
        simulator: StateMachine | None = None,
        source: str = "a",
        target: str = "b",
        *,
        n_components: int | str | None = None,
        phi: str = "mlp",
        hidden: int = 64,
        max_steps: int = PHI_STEPS,
        validation_fraction: float = 0.15,
        output_measure: str = "kl",
        random_state: int = 0,
        threads: int | None = FIT_THREADS,
    ) -> None:
        self.simulator = simulator
        self.source = source
        self.target = target
        self.n_components = n_components
        self.phi = phi
        self.hidden = hidden
        self.max_steps = max_steps
        self.validation_fraction = validation_fraction
        self.output_measure = output_measure
        self.random_state = random_state
        self.threads = threads

    def fit(self, X: xr.Dataset, y: None = None) -> Simulation:
        """Learn both whitenings and phi: ``{source}_state`` -> ``{target}_state`` of the training
        traces ``X`` (not modified; ``y`` is ignored). Returns self."""
        self._check(X)
        vars(self).pop("result_", None)  # a refit invalidates the last score's result
        self._fit_states(X[f"{self.source}_state"].values, X[f"{self.target}_state"].values)
        return self

    def _fit_states(self, src: np.ndarray, tgt: np.ndarray) -> None:
        """Whitenings and phi from paired state arrays ``[E, T, D_source]``, ``[E, T, D_target]``."""
        k_source, k_target = self._components(src.shape[-1], tgt.shape[-1])
        self.source_whitening_ = fit_whitening(src.reshape(-1, src.shape[-1]), k_source)
        self.target_whitening_ = fit_whitening(tgt.reshape(-1, tgt.shape[-1]), k_target)
        z_src = self.source_whitening_.transform(src)
        z_tgt = self.target_whitening_.transform(tgt)
        fit_rows, val_rows = self._validation_split(src.shape[0])
        self.embedding_ = self._embedding().fit(
            _rows(z_src, fit_rows), _rows(z_tgt, fit_rows), _rows(z_src, val_rows), _rows(z_tgt, val_rows)
        )

    def _state_error(self, src: np.ndarray, tgt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(phi(z_source), z_target, squared error per step [E, T])`` of raw states ``[E, T, D]``."""
        z_src = self.source_whitening_.transform(src)
        z_tgt = self.target_whitening_.transform(tgt)
        embedded = self.embedding_.predict(z_src.reshape(-1, z_src.shape[-1])).reshape(z_tgt.shape)
        return embedded, z_tgt, ((embedded - z_tgt) ** 2).mean(-1)

    def evaluate(self, X: xr.Dataset) -> SimulationResult:
        """D_s, D_o and their breakdowns of the fitted phi on traces ``X`` (use episodes phi was
        not fitted on). Pure: neither ``X`` nor the estimator changes."""
        if not hasattr(self, "embedding_"):
            raise _not_fitted()("Simulation is not fitted: call fit(traces) before evaluate or score")
        self._check(X)
        source, target = self.source, self.target
        embedded, z_tgt, state_error = self._state_error(X[f"{source}_state"].values, X[f"{target}_state"].values)
        simulated = self._step_from(embedded, X["input"].values)
        original = X[f"{source}_output"].values
        signed = absolute = None
        if self.output_measure == "return" and not has_expected_rewards(X):
            output_error, d_o = None, None
            units = f"unavailable: {unavailable_measures(X)['d_o']}"
        elif self.output_measure == "return":
            output_error = reward_gap(X, original, simulated)
            signed, absolute = output_error.sum(1), np.abs(output_error).sum(1)
            d_o, units = abs(float(signed.mean())), "|pseudo-return(original) - pseudo-return(simulated)|"
        else:
            output_error = divergence(self.simulator.output, original, simulated, self.output_measure)
            d_o, units = float(output_error.sum(1).mean()), f"{self.output_measure}(original||simulated), nats summed over time"
        curves = self.embedding_.curves_
        return SimulationResult(
            source=source,
            target=target,
            phi=self.phi,
            d_s=float(state_error.mean()),
            d_o=d_o,
            output_measure=units,
            d_s_per_time=state_error.mean(0),
            d_o_per_time=None if output_error is None else output_error.mean(0),
            d_s_per_episode=state_error.mean(1),
            d_o_per_episode=None if output_error is None else output_error.sum(1),
            n_components=(self.source_whitening_.n_components, self.target_whitening_.n_components),
            explained_variance=(
                float(self.source_whitening_.explained.sum()),
                float(self.target_whitening_.explained.sum()),
            ),
            curves=curves,
            converged=curves.converged,
            embedded=embedded,
            target_whitened=z_tgt,
            simulated_output=simulated,
            episodes=X["episode"].values,
            times=X["time"].values,
            param_names=tuple(self.simulator.output.param_names),
            d_s_per_step=state_error,
            d_o_per_step=output_error,
            versions={"simlib": simlib.__version__, "torch": torch.__version__, "numpy": np.__version__},
            d_o_signed=None if signed is None else float(signed.mean()),
            d_o_signed_per_episode=signed,
            d_o_abs=None if absolute is None else float(absolute.mean()),
            d_o_abs_per_episode=absolute,
        )

    def score(self, X: xr.Dataset, y: None = None) -> float:
        """``1 - D_s`` on traces ``X`` (``y`` is ignored): scikit-learn's higher-is-better score.

        D_s is the per-component MSE in the target's whitened space, where 1 means no better
        than the target's mean state, so the score is R²-like: 1 for a perfect simulation, 0
        for phi predicting M's mean state, negative for worse. The full
        :class:`SimulationResult` (D_o included) is kept in ``result_``.
        """
        self.result_ = self.evaluate(X)
        return 1.0 - self.result_.d_s

    def _check(self, traces: xr.Dataset) -> None:
        """Settings, simulator and ``traces`` fit together, else a one-line SimlibError."""
        self._check_settings()
        if not isinstance(traces, xr.Dataset):
            raise SimlibError(
                f"Simulation takes traces (an xarray.Dataset from simlib.traces.sample_traces), got {type(traces).__name__}"
            )
        if self.simulator is None:
            raise SimlibError(
                "Simulation needs the simulating machine for D_o: Simulation(simulator=M, source=..., target=...); "
                "for bare states use simlib.simulation.score_states"
            )
        source, target, simulator = self.source, self.target, self.simulator
        if self.output_measure == "return" and "mean_reward" not in traces:
            raise SimlibError("output_measure 'return' needs closed-loop traces (they record mean_reward)")
        require_machine(traces, source)
        require_machine(traces, target)
        for name in (source, target):
            for kind in ("state", "output"):
                if not np.isfinite(traces[f"{name}_{kind}"].values).all():
                    raise SimlibError(f"the traces' {name}_{kind} hold NaN or inf: no simulation score can be computed")
        recorded = json.loads(traces.attrs["machines"])
        if recorded[source]["output"] != simulator.output.config():
            raise SimlibError(
                f"D_o compares outputs of one family, but {source!r} outputs {recorded[source]['output']} "
                f"and the simulator outputs {simulator.output.config()}"
            )
        if traces.sizes[f"{target}_state_dim"] != simulator.state_dim:
            raise SimlibError(f"the simulator's state_dim does not match machine {target!r} in the traces")

    def _check_settings(self) -> None:
        if self.phi not in EMBEDDINGS:
            raise SimlibError(f"unknown phi {self.phi!r}; use one of {tuple(EMBEDDINGS)}")
        valid_int = isinstance(self.n_components, int) and not isinstance(self.n_components, bool)
        if not (self.n_components in (None, "full") or (valid_int and self.n_components >= 1)):
            raise SimlibError(f"n_components must be None, 'full' or a positive int, got {self.n_components!r}")
        if self.output_measure not in OUTPUT_MEASURES:
            raise SimlibError(f"unknown output_measure {self.output_measure!r}; use one of {OUTPUT_MEASURES}")

    def _components(self, dim_source: int, dim_target: int) -> tuple[int | None, int | None]:
        if self.n_components == "full":
            return None, None
        k = min(dim_source, dim_target) if self.n_components is None else int(self.n_components)
        return k, k

    def _validation_split(self, episodes: int) -> tuple[np.ndarray, np.ndarray]:
        n_val = max(1, int(round(self.validation_fraction * episodes)))
        if episodes - n_val < 1:
            raise SimlibError(f"too few training episodes ({episodes}) to hold out a validation set")
        order = np.random.default_rng(self.random_state).permutation(episodes)
        return np.sort(order[n_val:]), np.sort(order[:n_val])

    def _embedding(self):
        settings = EmbeddingSettings(self.hidden, self.max_steps, self.random_state, self.threads)
        return EMBEDDINGS[self.phi](settings)

    @torch.no_grad()
    def _step_from(self, embedded: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """``f_M(x, phi(s_N))`` for every (episode, step): ``[E, T, n_params]`` float64."""
        episodes, horizon = embedded.shape[:2]
        states = self.target_whitening_.inverse(embedded).reshape(episodes * horizon, -1)
        x = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float64).reshape(episodes * horizon, -1))
        y, _ = self.simulator.step(x, torch.from_numpy(states))
        return y.to(torch.float64).cpu().numpy().reshape(episodes, horizon, -1)


def _rows(z: np.ndarray, episodes: np.ndarray) -> np.ndarray:
    """The (episode, time) rows of the chosen episodes of ``z [E, T, k]``: ``[n * T, k]``."""
    return z[episodes].reshape(-1, z.shape[-1])


def score_states(
    states_a: np.ndarray,
    states_b: np.ndarray,
    *,
    phi: str = "mlp",
    n_components: int | str | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    hidden: int = 64,
    resamples: int = 1000,
    level: float = 0.95,
    flips: int = 2000,
    threads: int | None = FIT_THREADS,
) -> dict:
    """D_s both ways between two recorded sets of hidden states, with controls and baselines.

    For states recorded without their machines (so no D_o, which steps the simulator):
    ``states_a [E, T, D_a]`` and ``states_b [E, T, D_b]`` paired row by row (episode ``e``, step
    ``t`` of both saw the same inputs), or ``[n, D]`` (each row then counts as an episode).
    ``test_fraction`` of the episodes are held out; phi (``"mlp"`` or ``"linear"``) and the
    whitening are those of :class:`Simulation` with the same settings, fitted on the rest.

    Returns a JSON-ready dict shaped like ``compare``'s report: ``a_to_b`` (phi maps A's states
    into B's) and ``b_to_a``, each with ``d_s``; ``controls`` with ``shuffled`` (phi fitted on a
    shuffled pairing, scored on the held-out pairs), ``bootstrap`` intervals of the mean D_s
    and ``p_values`` (one-sided paired sign-flip test that phi beats the shuffled control,
    :func:`simlib.bootstrap.sign_flip_p_value`); ``baselines`` (:mod:`simlib.baselines` on the
    held-out states); ``warnings`` (one line each; empty when none).
    """
    a, b = _episodes(states_a, "a"), _episodes(states_b, "b")
    if a.shape[:2] != b.shape[:2]:
        raise SimlibError(f"states_a and states_b must pair row by row, got shapes {np.shape(states_a)} and {np.shape(states_b)}")
    traces = xr.Dataset({"a_state": (("episode", "time", "a_state_dim"), a), "b_state": (("episode", "time", "b_state_dim"), b)})
    estimator = Simulation(n_components=n_components, phi=phi, hidden=hidden, random_state=seed, threads=threads)
    estimator._check_settings()
    train, test = split_episodes(traces, test_fraction, seed)
    directions, controls = {}, {}
    with fit_threads(threads):
        for key, source, target in (("a_to_b", "a", "b"), ("b_to_a", "b", "a")):
            held_out = test[f"{source}_state"].values, test[f"{target}_state"].values
            for scores, pairs in ((directions, train), (controls, shuffled_pairing(train, target, seed + 1))):
                model = clone(estimator)
                model._fit_states(pairs[f"{source}_state"].values, pairs[f"{target}_state"].values)
                scores[key] = {"model": model, "d_s": model._state_error(*held_out)[2].mean(1)}
    n_test = int(test.sizes["episode"])
    return {
        "episodes": int(traces.sizes["episode"]),
        "test_episodes": n_test,
        "a_to_b": _state_summary(directions["a_to_b"]),
        "b_to_a": _state_summary(directions["b_to_a"]),
        "controls": {
            "shuffled": {key: {"d_s": float(c["d_s"].mean())} for key, c in controls.items()},
            "bootstrap": {"level": level, "resamples": resamples, **{
                key: {"d_s": list(bootstrap_ci(d["d_s"], resamples, level, seed))} for key, d in directions.items()}},
            "p_values": {"test": SIGN_FLIP_TEST, "flips": flips, **{
                key: paired_p_values({"d_s": d["d_s"]}, {"d_s": controls[key]["d_s"]}, flips, seed)
                for key, d in directions.items()}},
        },
        "baselines": representation_baselines(test["a_state"].values, test["b_state"].values),
        "warnings": few_samples_warning(n_test, "held-out episodes", SMALL_TEST_CONSEQUENCE),
        "settings": {"phi": phi, "n_components": n_components, "test_fraction": test_fraction, "seed": seed,
                     "hidden": hidden, "threads": threads},
    }


def _episodes(states: np.ndarray, name: str) -> np.ndarray:
    """Recorded states as ``[E, T, D]`` float64 (``[n, D]`` becomes ``[n, 1, D]``)."""
    array = np.asarray(states, dtype=np.float64)
    if array.ndim not in (2, 3) or 0 in array.shape:
        raise SimlibError(f"states_{name} must be [episodes, time, dim] or [rows, dim], got shape {array.shape}")
    return array[:, None, :] if array.ndim == 2 else array


def _state_summary(direction: dict) -> dict:
    model = direction["model"]
    curves = model.embedding_.curves_
    return {
        "d_s": float(direction["d_s"].mean()),
        "phi": model.phi,
        "n_components": [model.source_whitening_.n_components, model.target_whitening_.n_components],
        "explained_variance": [float(model.source_whitening_.explained.sum()), float(model.target_whitening_.explained.sum())],
        "converged": curves.converged,
        "stopped": curves.stopped,
    }
