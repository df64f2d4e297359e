"""The task registry: names -> task factories with their default parameters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simlib.errors import SimlibError
from simlib.suggest import did_you_mean
from simlib.task import Task
from simlib.tasks.bandits import BernoulliBandit, GaussianBandit
from simlib.tasks.beta_bernoulli import BetaBernoulli
from simlib.tasks.dependent_bandits import DependentBandit
from simlib.tasks.dirichlet_categorical import DirichletCategorical
from simlib.tasks.gamma_exponential import GammaExponential
from simlib.tasks.gaussian import GammaNormal, NormalGamma, NormalNormal
from simlib.tasks.informative_arm import InformativeArmBandit
from simlib.tasks.restless import TEST_VOLATILITIES, RestlessBandit
from simlib.tasks.harlow import HarlowTask
from simlib.tasks.maze import OneShotMaze
from simlib.tasks.two_step import TwoStepTask


@dataclass(frozen=True)
class TaskEntry:
    """A registered task: how to build it and one line saying what it is."""

    factory: Callable[..., Task]
    summary: str


def _entry_for(cls: type, name: str, summary: str, **defaults) -> TaskEntry:
    """A registry entry building ``cls(name=name, **defaults)`` with user overrides on top."""
    return TaskEntry(lambda **overrides: cls(**{"name": name, **defaults, **overrides}), summary)


_REGISTRY: dict[str, TaskEntry] = {
    entry_name: _entry_for(spec[0], entry_name, spec[1], **spec[2])
    for entry_name, spec in {
        "beta-bernoulli": (BetaBernoulli, "coin flips, p ~ Beta(1, 1); predict the next flip (Bernoulli)", {}),
        "beta-bernoulli-fair": (
            BetaBernoulli, "fair coins, p ~ Beta(10, 10); predict the next flip (Bernoulli)", {"a": 10.0, "b": 10.0}
        ),
        "beta-bernoulli-bent": (
            BetaBernoulli, "bent coins, p ~ Beta(0.2, 0.2); predict the next flip (Bernoulli)", {"a": 0.2, "b": 0.2}
        ),
        "dirichlet-categorical": (
            DirichletCategorical, "three-sided die, p ~ Dirichlet(1, 1, 1); predict the next roll (Categorical)", {}
        ),
        "dirichlet-categorical-5": (
            DirichletCategorical,
            "five-sided die, p ~ Dirichlet(0.5, ..., 0.5); predict the next roll (Categorical)",
            {"alpha": (0.5,) * 5},
        ),
        "gamma-exponential": (
            GammaExponential, "waiting times, rate ~ Gamma(2, rate 2); predict the next wait (Lomax)", {}
        ),
        "gamma-exponential-tight": (
            GammaExponential,
            "waiting times, rate ~ Gamma(20, rate 20); predict the next wait (Lomax)",
            {"shape": 20.0, "rate": 20.0},
        ),
        "normal-normal": (NormalNormal, "x ~ N(mu, 1), mu ~ N(0, 1); predict the next x (Normal)", {}),
        "normal-gamma": (
            NormalGamma, "x ~ N(mu, 1/tau), (mu, tau) ~ NormalGamma(0, 1, 2, 2); predict the next x (Student-t)", {}
        ),
        "gamma-normal": (GammaNormal, "x ~ N(0, 1/tau), tau ~ Gamma(2, rate 2); predict the next x (Student-t)", {}),
        "bernoulli-bandit": (
            BernoulliBandit, "two arms, reward ~ Bernoulli(p_i), p_i ~ Beta(1, 1); maximise the return", {}
        ),
        "bernoulli-bandit-bent": (
            BernoulliBandit,
            "two arms, reward ~ Bernoulli(p_i), p_i ~ Beta(0.5, 0.5); maximise the return",
            {"a": 0.5, "b": 0.5},
        ),
        "gaussian-bandit": (
            GaussianBandit, "two arms, reward ~ N(mu_i, 1), mu_i ~ N(0, 1); maximise the return", {}
        ),
        "gaussian-bandit-noisy": (
            GaussianBandit,
            "two arms, reward ~ N(mu_i, 2^2), mu_i ~ N(0, 1); maximise the return",
            {"noise_std": 2.0},
        ),
        "independent-bandit": (
            BernoulliBandit, "Wang's D_i: two arms, p_i ~ U[0, 1] independently, 100 pulls", {"horizon": 100}
        ),
        "dependent-bandit": (DependentBandit, "Wang's D_u: two arms (p1, 1 - p1), p1 ~ U[0, 1], 100 pulls", {}),
        "dependent-bandit-easy": (
            DependentBandit, "Wang's D_e: two arms (p1, 1 - p1), p1 in {0.1, 0.9}, 100 pulls", {"values": (0.1, 0.9)}
        ),
        "dependent-bandit-medium": (
            DependentBandit,
            "Wang's D_m: two arms (p1, 1 - p1), p1 in {0.25, 0.75}, 100 pulls",
            {"values": (0.25, 0.75)},
        ),
        "dependent-bandit-hard": (
            DependentBandit, "Wang's D_h: two arms (p1, 1 - p1), p1 in {0.4, 0.6}, 100 pulls", {"values": (0.4, 0.6)}
        ),
        "informative-arm-bandit": (
            InformativeArmBandit,
            "Wang's 11 deterministic arms: a target pays 5, nine pay 1, arm 11 pays 0.1 x the target's index; 5 pulls",
            {},
        ),
        "restless-bandit": (
            RestlessBandit,
            "Wang's restless bandit: arms (p1, 1 - p1), p1 a reflected random walk, "
            "volatility ~ U([0, 2/30] u [4/30, 6/30]); 150 pulls",
            {},
        ),
        "restless-bandit-test": (
            RestlessBandit,
            "Wang's restless test set: as restless-bandit with volatility ~ U[0, 6/30]",
            {"volatilities": TEST_VOLATILITIES},
        ),
        "harlow": (
            HarlowTask,
            "Wang's Harlow task on feature vectors: fixate (0.2), then pick the rewarded of two stimuli (+1/-1), "
            "sides reshuffled; 10 trials of 2 steps",
            {},
        ),
        "harlow-test": (
            HarlowTask, "the Harlow task on the held-out stimulus pool (Wang's 1 000 held-out images)", {"pool": "test"}
        ),
        "one-shot-maze": (
            OneShotMaze,
            "Wang's one-shot navigation on a 13-cell I-maze: the goal (+10) in one of 4 alcoves, respawn after "
            "each hit, local view; 60 steps",
            {},
        ),
        "two-step": (
            TwoStepTask,
            "Wang's two-step task: S1 -a1/a2-> S2/S3 (common 0.75), the good one pays 1 w.p. 0.9, "
            "the other 0.1; 10 trials of 2 steps",
            {},
        ),
    }.items()
}


def register(name: str, summary: str, **defaults) -> Callable[[type], type]:
    """Register a task class under ``name`` (a class decorator, or call it on a class):
    ``get(name, **overrides)`` then builds ``cls(name=name, **defaults, **overrides)``.

    Checkpoints record a task's ``config()``; a user task registered before loading is rebuilt
    from it like the built-in ones (no code is imported from a checkpoint).
    """

    def add(cls: type) -> type:
        if name in _REGISTRY:
            raise SimlibError(f"a task called {name!r} is already registered")
        _REGISTRY[name] = _entry_for(cls, name, summary, **defaults)
        return cls

    return add


def names() -> list[str]:
    """Registered task names, sorted."""
    return sorted(_REGISTRY)


def summary(name: str) -> str:
    """One line describing a registered task."""
    return _entry(name).summary


def get(name: str, **overrides) -> Task:
    """The task called ``name``, with any parameter overridden (``get("beta-bernoulli", horizon=8)``)."""
    entry = _entry(name)
    try:
        return entry.factory(**overrides)
    except SimlibError:
        raise
    except (TypeError, ValueError) as error:
        raise SimlibError(f"bad parameter for task {name!r}: {error}") from None


def from_config(config: dict) -> Task:
    """Rebuild a task from its ``config()`` (its name must be registered, see :func:`register`)."""
    params = dict(config)
    name = params.pop("name", None)
    if name not in _REGISTRY:
        raise SimlibError(
            f"task {name!r} is not registered; register its class with simlib.tasks.register({name!r}, ...) first"
        )
    return get(name, **params)


def current_config(config: dict) -> dict:
    """A recorded task ``config()`` as today's task records it: parameters added since it was
    written take their defaults, so an old checkpoint's task still matches; an unregistered or
    unreadable record is returned as it is."""
    try:
        return from_config(config).config()
    except (SimlibError, TypeError, ValueError):
        return dict(config)


def label(task: Task | dict) -> str:
    """A task's name with the parameters it changes from the registered default, so two priors
    never look alike in a report: ``"bernoulli-bandit (a=0.5, b=0.5)"``; the bare name for the
    default task (``task`` may be a task or its ``config()``)."""
    config = dict(task if isinstance(task, dict) else task.config())
    name = config.pop("name", "?")
    if name not in _REGISTRY:
        return name
    default = get(name).config()
    changed = [f"{key}={_short(value)}" for key, value in config.items() if default.get(key) != value]
    return f"{name} ({', '.join(changed)})" if changed else name


def _short(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_short(v) for v in value) + ")"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _entry(name: str) -> TaskEntry:
    if name not in _REGISTRY:
        hint = did_you_mean(name, names()) if isinstance(name, str) else ""
        raise SimlibError(f"unknown task {name!r}{hint}; known tasks: {', '.join(names())}")
    return _REGISTRY[name]
