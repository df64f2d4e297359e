"""Approximate simulation (paper §3.4): does machine M simulate machine N?

Shaped like a scikit-learn estimator: the constructor takes hyperparameters only,
:meth:`Simulation.fit` learns both whitenings and the embedding phi on training episodes,
:meth:`Simulation.score` measures on held-out episodes

* ``D_s`` -- mean squared error between ``phi(z_N)`` and ``z_M`` in M's whitened space
  (per component; 0 = perfect, 1 = no better than M's mean state);
* ``D_o`` -- ``KL(f_N(x, s_N) || f_M(x, phi(s_N)))`` summed over the steps of an episode and
  averaged over episodes (the units of eq. 2), where ``phi(s_N)`` is mapped back to M's raw
  state space and M is stepped from it on the same input. On closed-loop traces (output
  measure ``"return"``) D_o is eq. (3), the absolute gap of the pseudo-returns both policies
  earn along the traced stream; since over- and under-earning cancel in it, ``d_o_abs`` (the
  per-step absolute gaps summed over time, which cannot cancel) and the signed gap
  ``d_o_signed`` are reported beside it.

:func:`score_states` scores plain state arrays (recorded hidden states, no machines): D_s both
ways with the shuffled control, its p-value and the closed-form baselines of
:mod:`simlib.baselines`.

Fitting never mutates the traces, and the output measure never changes behind the user's back:
if the two machines' output families differ, scoring raises instead of switching metric.
"""

from __future__ import annotations

import inspect
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
from simlib.machine import StateMachine
from simlib.traces import require_machine, shuffled_pairing, split_episodes
from simlib.threads import FIT_THREADS, torch_threads
from simlib.whitening import fit_whitening

OUTPUT_MEASURES = ("kl", "js", "return")
SIGN_FLIP_TEST = "one-sided paired sign-flip over held-out episodes: phi's value below the shuffled control's"
"""What ``controls.p_values`` test (:func:`simlib.bootstrap.sign_flip_p_value`)."""
SMALL_TEST_CONSEQUENCE = "bootstrap intervals and permutation p-values rest on few samples; score more episodes"


@dataclass(frozen=True)
class SimulationResult:
    """Scores of one direction (``source`` simulated by ``target``) on held-out episodes.

    Arrays: ``d_s_per_time [T]``, ``d_o_per_time [T]`` (means over episodes),
    ``d_s_per_episode [E]``, ``d_o_per_episode [E]``, ``embedded [E, T, k_target]``
    (``phi(z_source)``), ``target_whitened [E, T, k_target]``, ``simulated_output [E, T, P]``
    (``f_target`` at the embedded states).

    With the ``"return"`` output measure (reward units): ``d_o_signed`` is the mean over episodes
    of ``pseudo-return(original) - pseudo-return(simulated)`` (positive: the simulated policy
    earns less; per episode ``d_o_signed_per_episode [E]``, per step ``d_o_per_time``), ``d_o``
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


class Simulation:
    """Fit phi from one machine's states to another's and score the simulation.

    Args:
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
    """

    def __init__(
        self,
        n_components: int | str | None = None,
        phi: str = "mlp",
        hidden: int = 64,
        max_steps: int = 400,
        validation_fraction: float = 0.15,
        output_measure: str = "kl",
        random_state: int = 0,
        threads: int | None = FIT_THREADS,
    ) -> None:
        self.n_components = n_components
        self.phi = phi
        self.hidden = hidden
        self.max_steps = max_steps
        self.validation_fraction = validation_fraction
        self.output_measure = output_measure
        self.random_state = random_state
        self.threads = threads

    def get_params(self, deep: bool = True) -> dict:
        """The constructor's arguments (scikit-learn's estimator convention)."""
        return {name: getattr(self, name) for name in inspect.signature(type(self).__init__).parameters if name != "self"}

    def set_params(self, **params) -> Simulation:
        """Change hyperparameters; unknown names raise. Returns self."""
        unknown = set(params) - set(self.get_params())
        if unknown:
            raise SimlibError(f"unknown Simulation parameters: {sorted(unknown)}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        return f"Simulation({', '.join(f'{k}={v!r}' for k, v in self.get_params().items())})"

    def fit(self, traces: xr.Dataset, source: str, target: str, simulator: StateMachine) -> Simulation:
        """Learn whitenings and phi: ``source`` states -> ``target`` states.

        Args:
            traces: training episodes holding both machines (not modified).
            source: name of the simulated machine N in ``traces``.
            target: name of the simulating machine M in ``traces``.
            simulator: the machine M itself, stepped from embedded states when scoring.
        """
        self._check(traces, source, target, simulator)
        self._fit_states(traces[f"{source}_state"].values, traces[f"{target}_state"].values)
        self.source_, self.target_, self.simulator_ = source, target, simulator
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

    def score(self, traces: xr.Dataset) -> SimulationResult:
        """D_s and D_o of the fitted phi on ``traces`` (use episodes phi was not fitted on)."""
        if not hasattr(self, "embedding_"):
            raise SimlibError("Simulation.score called before fit")
        source, target = self.source_, self.target_
        self._check(traces, source, target, self.simulator_)
        embedded, z_tgt, state_error = self._state_error(traces[f"{source}_state"].values, traces[f"{target}_state"].values)
        simulated = self._step_from(embedded, traces["input"].values)
        original = traces[f"{source}_output"].values
        signed = absolute = None
        if self.output_measure == "return" and not has_expected_rewards(traces):
            output_error, d_o = None, None
            units = f"unavailable: {unavailable_measures(traces)['d_o']}"
        elif self.output_measure == "return":
            output_error = reward_gap(traces, original, simulated)
            signed, absolute = output_error.sum(1), np.abs(output_error).sum(1)
            d_o, units = abs(float(signed.mean())), "|pseudo-return(original) - pseudo-return(simulated)|"
        else:
            output_error = divergence(self.simulator_.output, original, simulated, self.output_measure)
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
            versions={"simlib": simlib.__version__, "torch": torch.__version__, "numpy": np.__version__},
            d_o_signed=None if signed is None else float(signed.mean()),
            d_o_signed_per_episode=signed,
            d_o_abs=None if absolute is None else float(absolute.mean()),
            d_o_abs_per_episode=absolute,
        )

    def _check(self, traces: xr.Dataset, source: str, target: str, simulator: StateMachine) -> None:
        self._check_settings()
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
        y, _ = self.simulator_.step(x, torch.from_numpy(states))
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
    with torch_threads(threads):
        for key, source, target in (("a_to_b", "a", "b"), ("b_to_a", "b", "a")):
            held_out = test[f"{source}_state"].values, test[f"{target}_state"].values
            for scores, pairs in ((directions, train), (controls, shuffled_pairing(train, target, seed + 1))):
                model = Simulation(**estimator.get_params())
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
