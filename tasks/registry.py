"""The task registry: names -> task factories with their default parameters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simlib.errors import SimlibError
from simlib.task import Task
from simlib.tasks.beta_bernoulli import BetaBernoulli


@dataclass(frozen=True)
class TaskEntry:
    """A registered task: how to build it and one line saying what it is."""

    factory: Callable[..., Task]
    summary: str


_REGISTRY: dict[str, TaskEntry] = {
    "beta-bernoulli": TaskEntry(
        lambda **kw: BetaBernoulli(**{"name": "beta-bernoulli", **kw}),
        "coin flips, p ~ Beta(1, 1); predict the next flip (Bernoulli)",
    ),
}


def names() -> list[str]:
    """Registered task names, sorted."""
    return sorted(_REGISTRY)


def summary(name: str) -> str:
    """One line describing a registered task."""
    return _entry(name).summary


def get(name: str, **overrides) -> Task:
    """The task called ``name``, with any parameter overridden (``get("beta-bernoulli", horizon=8)``)."""
    try:
        return _entry(name).factory(**overrides)
    except TypeError as error:
        raise SimlibError(f"bad parameter for task {name!r}: {error}") from None


def from_config(config: dict) -> Task:
    """Rebuild a task from its ``config()``."""
    params = dict(config)
    return get(params.pop("name", None), **params)


def _entry(name: str) -> TaskEntry:
    if name not in _REGISTRY:
        raise SimlibError(f"unknown task {name!r}; known tasks: {', '.join(names())}")
    return _REGISTRY[name]
