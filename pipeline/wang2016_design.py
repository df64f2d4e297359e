"""Wang et al. 2016's bandit experiments: which agents are trained, where they are tested, against which baselines."""

from __future__ import annotations

STRUCTURED = (
    "independent-bandit",
    "dependent-bandit",
    "dependent-bandit-easy",
    "dependent-bandit-medium",
    "dependent-bandit-hard",
)
"""Wang's D_i, D_u, D_e, D_m, D_h (Figure 2)."""
INFORMATIVE = "informative-arm-bandit"
RESTLESS, RESTLESS_TEST = "restless-bandit", "restless-bandit-test"
RASTER = "dependent-bandit-medium"
"""Figure 2b's task: the agent trained on D_m, tested on D_m."""
BANDIT_TASKS = (*STRUCTURED, INFORMATIVE, RESTLESS)
"""The bandit tasks that have an agent (§3.1)."""
TWO_STEP = "two-step"
HARLOW, HARLOW_TEST = "harlow", "harlow-test"
MAZE = "one-shot-maze"
MDP_TASKS = (TWO_STEP, HARLOW, MAZE)
"""The Markov decision problems that have an agent (§3.2)."""
AGENT_TASKS = (*BANDIT_TASKS, *MDP_TASKS)
TWO_STEP_AGENTS = ("rnn", "opt", "model-based", "model-free")
"""Figure 5's agents: the meta-trained LSTM, the Bayes agent and Daw et al.'s two references."""
SHORT = dict(zip(STRUCTURED, ("D_i", "D_u", "D_e", "D_m", "D_h")))
"""Wang's names of the structured distributions."""
BASELINES = {
    **{name: ("opt", "gittins", "thompson", "ucb") for name in STRUCTURED},
    INFORMATIVE: ("opt", "thompson", "ucb"),
    RESTLESS: ("opt", "thompson", "ucb", "rescorla-wagner@0.2", "rescorla-wagner@0.8"),
}
TRAINING_VOLATILITY_GAP = (2 / 30, 4 / 30)
"""The volatilities restless-bandit's agent never trains on: Figure 4c's out-of-sample range."""


def baseline_spec(kind: str, task_name: str) -> str:
    """The machine spec of a baseline label on a task: ``"ucb@1"`` -> ``"ucb:TASK@1"``."""
    base, _, option = kind.partition("@")
    return f"{base}:{task_name}" + (f"@{option}" if option else "")
