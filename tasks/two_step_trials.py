"""The neuroscience analyses of the two-step task (Daw et al. 2011; Wang et al. 2016, Figure 5).

A trial is two steps of a closed-loop trace: the first-stage choice at step ``2k``, the
second-stage state observed at step ``2k + 1`` and the reward of that step. The *stay
probability* is ``P(choice_{k+1} = choice_k)`` split by whether trial k was rewarded and whether
its transition was common or rare. A model-free learner stays after rewards whatever the
transition (a main effect of reward); a model-based one stays after rewarded common and
unrewarded rare trials and switches otherwise (a reward x transition interaction).

:func:`stay_regression` is the logistic regression the literature reports,
``stay ~ 1 + reward + transition + reward x transition`` with both factors coded +-1
(rewarded, common = +1), fitted by iteratively reweighted least squares.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from simlib.fsm import FiniteMealy, greedy_view
from simlib.fsm.views import TIE_MARGIN
from simlib.tasks.two_step import SECOND, TwoStepTask

CELLS = (("rewarded", "common"), ("rewarded", "rare"), ("unrewarded", "common"), ("unrewarded", "rare"))
"""The four (outcome, transition) cells of Figure 5, in its order."""
TERMS = ("intercept", "reward", "transition", "reward_x_transition")


@dataclass(frozen=True)
class Trials:
    """Every trial of every episode: ``[E, K]`` arrays (K = trials per episode).

    ``choice``: the first-stage action (0 = a1); ``common``: whether the transition was the
    common one; ``rewarded``: whether the second stage paid 1; ``stay``: whether the next
    trial's choice repeats this one (``[E, K - 1]``).
    """

    choice: np.ndarray
    common: np.ndarray
    rewarded: np.ndarray

    @property
    def stay(self) -> np.ndarray:
        return self.choice[:, 1:] == self.choice[:, :-1]


def trials_of(task: TwoStepTask, traces: xr.Dataset) -> Trials:
    """The trials of closed-loop ``traces`` of ``task`` (the driver's actions)."""
    actions = traces["action"].values.astype(int)
    inputs = traces["input"].values
    choice = actions[:, 0::2]
    second = task.decode_observation(inputs[:, 1::2]).argmax(-1) == SECOND
    common = (choice == 0) == second
    rewarded = traces["reward"].values[:, 1::2] > 0.5
    return Trials(choice=choice, common=common, rewarded=rewarded)


def stay_probabilities(trials: Trials) -> xr.Dataset:
    """P(stay) in each cell of :data:`CELLS` with its standard error and count, as a dataset over ``cell``.

    The standard error is clustered by episode (trials of one episode are not independent):
    ``sqrt(sum_e (stays_e - p n_e)**2) / sum_e n_e``.
    """
    stay = trials.stay
    rewarded, common = trials.rewarded[:, :-1], trials.common[:, :-1]
    p, se, n = [], [], []
    for outcome, transition in CELLS:
        mask = (rewarded == (outcome == "rewarded")) & (common == (transition == "common"))
        count = mask.sum(1)
        stays = (stay & mask).sum(1)
        total = count.sum()
        prob = stays.sum() / total if total else np.nan
        p.append(prob)
        se.append(np.sqrt(((stays - prob * count) ** 2).sum()) / total if total else np.nan)
        n.append(int(total))
    labels = [f"{outcome} {transition}" for outcome, transition in CELLS]
    return xr.Dataset(
        {"stay": ("cell", np.array(p)), "stay_se": ("cell", np.array(se)), "trials": ("cell", np.array(n))},
        coords={"cell": labels},
    )


def stay_regression(trials: Trials, max_iter: int = 50) -> dict[str, dict[str, float]]:
    """Logistic regression of stay on reward, transition and their interaction (+-1 codes).

    Returns ``{term: {"coef", "se"}}`` for :data:`TERMS` (standard errors from the Fisher
    information at the fit).
    """
    reward = np.where(trials.rewarded[:, :-1], 1.0, -1.0).ravel()
    transition = np.where(trials.common[:, :-1], 1.0, -1.0).ravel()
    design = np.stack([np.ones_like(reward), reward, transition, reward * transition], axis=1)
    y = trials.stay.ravel().astype(np.float64)
    coef = np.zeros(design.shape[1])
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-design @ coef))
        weight = np.clip(p * (1 - p), 1e-10, None)
        information = design.T @ (design * weight[:, None])
        update = np.linalg.solve(information, design.T @ (y - p))
        coef = coef + update
        if np.abs(update).max() < 1e-10:
            break
    p = 1.0 / (1.0 + np.exp(-design @ coef))
    information = design.T @ (design * np.clip(p * (1 - p), 1e-10, None)[:, None])
    se = np.sqrt(np.diag(np.linalg.inv(information)))
    return {term: {"coef": float(c), "se": float(s)} for term, c, s in zip(TERMS, coef, se)}




def decision_view(machine: FiniteMealy, task: TwoStepTask, margin: float = TIE_MARGIN) -> FiniteMealy:
    """``machine`` (over :meth:`TwoStepTask.input_alphabet`) with its outputs reduced to the
    decision that matters (:func:`~simlib.fsm.greedy_view`): after a return to S1, the greedy
    first-stage choice (``[1, 0]``, ``[0, 1]``, or ``[0.5, 0.5]`` within ``margin``); after an
    arrival at S2 or S3, where every action is optimal, one "any" symbol (``[-1, -1]``). The
    view starts where ``machine`` is after the start input, so words are trials from the first
    one on."""
    if tuple(machine.input_labels) != task.input_alphabet()[1]:
        raise ValueError("the machine's inputs are not the two-step task's alphabet")
    return greedy_view(machine, margin, indifferent=task.symbols_at(1), start="start")
