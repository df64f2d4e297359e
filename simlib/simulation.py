"""Approximate simulation (paper §3.4): does machine M simulate machine N?

Shaped like a scikit-learn estimator: the constructor takes hyperparameters only,
:meth:`Simulation.fit` learns both whitenings and the embedding phi on training episodes,
:meth:`Simulation.score` measures on held-out episodes

* ``D_s`` -- mean squared error between ``phi(z_N)`` and ``z_M`` in M's whitened space
  (per component; 0 = perfect, 1 = no better than M's mean state);
* ``D_o`` -- ``KL(f_N(x, s_N) || f_M(x, phi(s_N)))`` summed over the steps of an episode and
  averaged over episodes (the units of eq. 2), where ``phi(s_N)`` is mapped back to M's raw
  state space and M is stepped from it on the same input.

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
from simlib.behaviour import divergence, has_expected_rewards, reward_gap, unavailable_measures
from simlib.embedding import FitCurves, LinearEmbedding, MLPEmbedding
from simlib.errors import SimlibError
from simlib.machine import StateMachine
from simlib.traces import require_machine
from simlib.threads import FIT_THREADS
from simlib.whitening import fit_whitening

OUTPUT_MEASURES = ("kl", "js", "return")
PHIS = ("mlp", "linear")


@dataclass(frozen=True)
class SimulationResult:
    """Scores of one direction (``source`` simulated by ``target``) on held-out episodes.

    Arrays: ``d_s_per_time [T]``, ``d_o_per_time [T]`` (means over episodes),
    ``d_s_per_episode [E]``, ``d_o_per_episode [E]``, ``embedded [E, T, k_target]``
    (``phi(z_source)``), ``target_whitened [E, T, k_target]``, ``simulated_output [E, T, P]``
    (``f_target`` at the embedded states).

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

    def to_dict(self) -> dict:
        """Scalars and settings as plain JSON-ready data."""
        return {
            "d_s": self.d_s,
            "d_o": self.d_o,
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
        phi: ``"mlp"`` (three hidden layers, the paper's) or ``"linear"`` (least squares).
        hidden: width of the MLP's hidden layers.
        max_steps: L-BFGS iterations at most for the MLP.
        validation_fraction: share of the training episodes held out for early stopping.
        output_measure: D_o's measure: ``"kl"`` or ``"js"`` between outputs (eq. 2), or
            ``"return"`` for policies on closed-loop traces (eq. 3): the absolute mean difference
            of the pseudo-return both policies would earn along the traced stream.
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
        src = traces[f"{source}_state"].values
        tgt = traces[f"{target}_state"].values
        k_source, k_target = self._components(src.shape[-1], tgt.shape[-1])
        self.source_whitening_ = fit_whitening(src.reshape(-1, src.shape[-1]), k_source)
        self.target_whitening_ = fit_whitening(tgt.reshape(-1, tgt.shape[-1]), k_target)
        z_src = self.source_whitening_.transform(src)
        z_tgt = self.target_whitening_.transform(tgt)
        fit_rows, val_rows = self._validation_split(src.shape[0])
        self.embedding_ = self._embedding().fit(
            _rows(z_src, fit_rows), _rows(z_tgt, fit_rows), _rows(z_src, val_rows), _rows(z_tgt, val_rows)
        )
        self.source_, self.target_, self.simulator_ = source, target, simulator
        return self

    def score(self, traces: xr.Dataset) -> SimulationResult:
        """D_s and D_o of the fitted phi on ``traces`` (use episodes phi was not fitted on)."""
        if not hasattr(self, "embedding_"):
            raise SimlibError("Simulation.score called before fit")
        source, target = self.source_, self.target_
        self._check(traces, source, target, self.simulator_)
        z_src = self.source_whitening_.transform(traces[f"{source}_state"].values)
        z_tgt = self.target_whitening_.transform(traces[f"{target}_state"].values)
        episodes, horizon, k_target = z_tgt.shape
        embedded = self.embedding_.predict(z_src.reshape(-1, z_src.shape[-1])).reshape(episodes, horizon, k_target)
        state_error = ((embedded - z_tgt) ** 2).mean(-1)
        simulated = self._step_from(embedded, traces["input"].values)
        original = traces[f"{source}_output"].values
        if self.output_measure == "return" and not has_expected_rewards(traces):
            output_error, d_o = None, None
            units = f"unavailable: {unavailable_measures(traces)['d_o']}"
        elif self.output_measure == "return":
            output_error = reward_gap(traces, original, simulated)
            d_o, units = abs(float(output_error.sum(1).mean())), "|pseudo-return(original) - pseudo-return(simulated)|"
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
        )

    def _check(self, traces: xr.Dataset, source: str, target: str, simulator: StateMachine) -> None:
        if self.phi not in PHIS:
            raise SimlibError(f"unknown phi {self.phi!r}; use one of {PHIS}")
        valid_int = isinstance(self.n_components, int) and not isinstance(self.n_components, bool)
        if not (self.n_components in (None, "full") or (valid_int and self.n_components >= 1)):
            raise SimlibError(f"n_components must be None, 'full' or a positive int, got {self.n_components!r}")
        if self.output_measure not in OUTPUT_MEASURES:
            raise SimlibError(f"unknown output_measure {self.output_measure!r}; use one of {OUTPUT_MEASURES}")
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

    def _embedding(self) -> MLPEmbedding | LinearEmbedding:
        if self.phi == "linear":
            return LinearEmbedding()
        return MLPEmbedding(
            hidden=self.hidden, max_steps=self.max_steps, random_state=self.random_state, threads=self.threads
        )

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
