"""The two-step task in ``simlib reproduce wang2016`` (Wang et al. 2016, Figure 5): job and page section.

:class:`StayJob` plays the task with the meta-trained LSTM, the Bayes agent and Daw et al.'s
model-based and model-free learners; for each it records the stay probabilities of Figure 5
(rewarded/unrewarded x common/rare, clustered standard errors), the stay logistic regression
and the return, and fits the hybrid learner by maximum likelihood to each agent's choices
(``w``: the model-based weight). :func:`section` draws Figure 5 and writes the page's part.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from simlib import tasks as task_registry
from simlib.machines import load
from simlib.machines.two_step_fit import PARAMETERS, fit_hybrid
from simlib.pipeline.cache import cache_key
from simlib.pipeline.execute import Log
from simlib.pipeline.figures import save_figure
from simlib.pipeline.wang2016_design import TWO_STEP, TWO_STEP_AGENTS, baseline_spec
from simlib.pipeline.wang2016_jobs import DatasetJob, agent, identity
from simlib.plots.bandit_curves import grouped_bars
from simlib.tasks.two_step_trials import CELLS, TERMS, stay_probabilities, stay_regression, trials_of
from simlib.traces import sample_traces

SEED = 4
"""The episodes' seed (paired across agents)."""


@dataclass(frozen=True)
class StayJob(DatasetJob):
    """Figure 5's data on ``episodes`` episodes of the two-step task (``stays.nc``)."""

    out: Path
    episodes: int
    depends_on: tuple[str, ...] = ()
    id = "stays"

    @property
    def target(self) -> Path:
        return self.out / "stays.nc"

    def key(self) -> str:
        return cache_key(episodes=self.episodes, seed=SEED, agent=identity(self.out, f"rnn:{TWO_STEP}"),
                         agents=TWO_STEP_AGENTS)

    def build(self, log: Log) -> xr.Dataset:
        task = task_registry.get(TWO_STEP)
        stays, regressions, fits, returns = [], [], [], []
        for label in TWO_STEP_AGENTS:
            machine = agent(self.out, TWO_STEP) if label == "rnn" else load(baseline_spec(label, TWO_STEP))
            log(f"play {label} on {TWO_STEP} ({self.episodes} episodes) and fit the hybrid learner")
            traces = sample_traces(task, {"m": machine}, self.episodes, SEED, driver="m")
            trials = trials_of(task, traces)
            stays.append(stay_probabilities(trials))
            regression = stay_regression(trials)
            regressions.append([[regression[t]["coef"], regression[t]["se"]] for t in TERMS])
            fit = fit_hybrid(task, traces["input"].values, traces["action"].values)
            fits.append([[fit.params[p], fit.se[p]] for p in PARAMETERS])
            returns.append(traces["expected_reward"].values.sum(1))
        returns = np.array(returns)
        return xr.Dataset(
            {
                "stay": (("agent", "cell"), np.stack([s["stay"].values for s in stays])),
                "stay_se": (("agent", "cell"), np.stack([s["stay_se"].values for s in stays])),
                "regression": (("agent", "term", "estimate"), np.array(regressions)),
                "hybrid": (("agent", "parameter", "estimate"), np.array(fits)),
                "return": ("agent", returns.mean(1)),
                "return_se": ("agent", returns.std(1, ddof=1) / np.sqrt(returns.shape[1])),
            },
            coords={"agent": list(TWO_STEP_AGENTS), "cell": [f"{o} {t}" for o, t in CELLS], "term": list(TERMS),
                    "estimate": ["value", "se"], "parameter": list(PARAMETERS)},
            attrs={"episodes": self.episodes, "seed": SEED},
        )


SEPARATED = 100.0
"""A logistic coefficient's standard error beyond this means the fit diverged (separation)."""


def _se(value: float) -> str:
    return "–" if not np.isfinite(value) else f"{value:.3f}"


def _coefficient(estimate) -> str:
    value, se = (float(v) for v in estimate)
    return "diverges (separation)" if not np.isfinite(se) or se > SEPARATED else f"{value:.2f} ± {se:.2f}"


def section(out: Path, stays: xr.Dataset) -> tuple[Path, list[str]]:
    """Figure 5 (``figure5.png``) and the page's lines about it."""
    figure = grouped_bars(stays["stay"], stays["stay_se"], "Figure 5: stay probability after each kind of trial",
                          "P(repeat first-stage choice)")
    path = save_figure(figure, out / "figure5.png")
    header = " | ".join(str(c) for c in stays["cell"].values)
    lines = [
        "## Figure 5: the two-step task", "",
        f"Stay probabilities on {stays.attrs['episodes']} episodes (seed {stays.attrs['seed']}, the same task draws "
        "for every agent), with standard errors clustered by episode; the logistic regression of stay on reward, "
        "transition and their interaction (±1 codes); and the hybrid learner of Daw et al. 2011 fitted by maximum "
        "likelihood to each agent's first-stage choices (w = 1: model-based, w = 0: model-free). Wang: the meta-RL "
        "agent shows a \"perfectly model-based\" profile. opt is the exact Bayes-optimal agent: it counts the "
        "evidence of the whole episode, so one rare-transition outcome that contradicts its belief switches its "
        "choice only when the evidence was balanced; after outcomes that confirm its choice it always stays. Where "
        "a cell's stay probability is exactly 0 or 1 the logistic coefficients diverge (separation; shown as such); "
        "a fitted w at a bound has no standard error (–).", "",
        f"| agent | return ± SE | {header} | reward × transition ± SE | reward ± SE | hybrid w ± SE |",
        "|---|---|" + "---|" * (len(stays['cell']) + 3),
    ]
    for label in stays["agent"].values:
        row = stays.sel(agent=label)
        cells = " | ".join(f"{p:.3f} ± {s:.3f}" for p, s in zip(row["stay"].values, row["stay_se"].values))
        inter = row["regression"].sel(term="reward_x_transition").values
        reward = row["regression"].sel(term="reward").values
        w = row["hybrid"].sel(parameter="w").values
        lines.append(f"| {label} | {float(row['return']):.3f} ± {float(row['return_se']):.3f} | {cells} | "
                     f"{_coefficient(inter)} | {_coefficient(reward)} | {w[0]:.3f} ± {_se(w[1])} |")
    lines += ["", "![Figure 5](figure5.png)", ""]
    return path, lines
