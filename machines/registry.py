"""Machine specs: strings -> machines.

* ``KIND:TASK`` -- a built-in machine for a registered task (``opt:beta-bernoulli``);
* ``rnn:TASK`` -- the shipped meta-trained LSTM, ``rnn:TASK@init`` the same architecture with
  its initial weights, ``rnn:TASK@STEP`` a training snapshot;
* ``gittins:TASK@GAMMA`` -- the Gittins-index policy with discount ``GAMMA`` (default: the
  task's discount if below 1, else ``1 - 1 / horizon``);
* ``ucb:TASK@CHI`` -- UCB with exploration parameter ``CHI``; ``rescorla-wagner:TASK@ALPHA`` --
  the delta-rule learner with learning rate ``ALPHA``;
* ``PATH.pt`` (optionally ``PATH.pt@init`` / ``@STEP``) -- a checkpoint written by ``simlib train``;
* ``py:MODULE:FACTORY`` -- a user's machine: imports ``MODULE`` (dotted; the current directory
  is searched first) and calls ``FACTORY()``, or ``FACTORY(task)`` when it takes an argument and
  a task is given (``py:my_agents:make`` finds ``my_agents.py`` in the current directory).
  ``py`` is a reserved kind and task names hold no colon, so it never reads as ``KIND:TASK``.
  Only code a user names in a spec is imported; never code named inside a checkpoint.

A kind's machine is configured by the task (its prior, its horizon). Every loaded machine
carries ``spec`` and ``task`` attributes, so a comparison can read the task off its machines.
"""

from __future__ import annotations

import importlib
import inspect
import math
import os
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from simlib import tasks as task_registry
from simlib.errors import SimlibError
from simlib.suggest import did_you_mean
from simlib.parsing import decimal_number
from simlib.machine import StateMachine, check_machine
from simlib.machines.bandit_agents import BayesOptimalAgent, GittinsAgent, ThompsonAgent, UCBAgent
from simlib.machines.dependent_agents import DependentBayesAgent
from simlib.machines.informative_agents import InformativeBayesAgent, InformativeThompsonAgent
from simlib.machines.rescorla_wagner import RescorlaWagnerAgent
from simlib.machines.restless_agents import RestlessBayesAgent, RestlessThompsonAgent
from simlib.machines.harlow_agents import HarlowBayesAgent, SideWinStayAgent
from simlib.machines.maze_agents import MazeBayesAgent, MemorylessMazeAgent
from simlib.machines.two_step_agents import HybridLearner, TwoStepBayesAgent
from simlib.machines.beta_bernoulli import (
    CountPredictor,
    ForgetfulPredictor,
    HistoryPredictor,
    logodds_predictor,
    posterior_predictor,
)
from simlib.machines.checkpoint import machine_from_checkpoint, read_checkpoint
from simlib.machines.conjugate import (
    DirichletCategoricalPredictor,
    GammaExponentialPredictor,
    GammaNormalPredictor,
    NormalGammaPredictor,
    NormalNormalPredictor,
)
from simlib.machines.reparametrise import random_orthogonal, rotate
from simlib.machines.zoo import shipped, zoo_path
from simlib.task import Task
from simlib.tasks import (
    BanditTask,
    BernoulliBandit,
    BetaBernoulli,
    DependentBandit,
    DirichletCategorical,
    GammaExponential,
    GammaNormal,
    GaussianBandit,
    InformativeArmBandit,
    NormalGamma,
    NormalNormal,
    RestlessBandit,
    HarlowTask,
    OneShotMaze,
    TwoStepTask,
)

Builder = Callable[..., StateMachine]


@dataclass(frozen=True)
class Kind:
    """A kind of machine: one line saying what it is, and a builder per task class it supports.

    ``option`` names the builder keyword that ``KIND:TASK@VALUE`` sets (a float), if any.
    ``exact``: the machine is derived from its task class's generative model, so it is built for
    that class only, not for subclasses (which may change the model); otherwise for subclasses too.
    """

    summary: str
    builders: dict[type, Builder]
    option: str | None = None
    exact: bool = True

    def builder(self, task: Task) -> Builder | None:
        if self.exact:
            return self.builders.get(type(task))
        return next((build for cls, build in self.builders.items() if isinstance(task, cls)), None)


def _coin(build: Builder) -> dict[type, Builder]:
    return {BetaBernoulli: build}


_KINDS: dict[str, Kind] = {
    "opt": Kind(
        "Bayes-optimal predictor; state = minimal sufficient statistics",
        {
            BetaBernoulli: lambda t: CountPredictor(t.a, t.b),
            DirichletCategorical: lambda t: DirichletCategoricalPredictor(t.alpha),
            GammaExponential: lambda t: GammaExponentialPredictor(t.shape, t.rate),
            NormalNormal: lambda t: NormalNormalPredictor(t.prior_mean, t.prior_std, t.noise_std),
            NormalGamma: lambda t: NormalGammaPredictor(t.mu0, t.kappa, t.alpha, t.beta),
            GammaNormal: lambda t: GammaNormalPredictor(t.mean, t.alpha, t.beta),
            BernoulliBandit: BayesOptimalAgent,
            GaussianBandit: BayesOptimalAgent,
            DependentBandit: DependentBayesAgent,
            InformativeArmBandit: InformativeBayesAgent,
            RestlessBandit: RestlessBayesAgent,
            TwoStepTask: TwoStepBayesAgent,
            HarlowTask: HarlowBayesAgent,
            OneShotMaze: MazeBayesAgent,
        },
    ),
    "posterior": Kind(
        "Bayes-optimal, state = posterior Beta parameters (alpha, beta)",
        _coin(lambda t: posterior_predictor(t.a, t.b)),
    ),
    "logodds": Kind("Bayes-optimal, state = (log posterior odds, flips)", _coin(lambda t: logodds_predictor(t.a, t.b))),
    "rotated": Kind(
        "Bayes-optimal, state = a fixed reflection-rotation of (heads, flips)",
        _coin(lambda t: rotate(CountPredictor(t.a, t.b), random_orthogonal(2, seed=0, reflect=True))),
    ),
    "history": Kind(
        "Bayes readout of the whole history kept slot by slot (non-minimal sufficient statistic)",
        # capacity horizon + 1: an FSM leaf at depth T is stepped once more to read its outputs
        _coin(lambda t: HistoryPredictor(t.a, t.b, capacity=t.horizon + 1)),
    ),
    "forgetful": Kind(
        "remembers only the last observation and predicts from it alone",
        _coin(lambda t: ForgetfulPredictor(t.a, t.b)),
    ),
    "gittins": Kind(
        "Gittins-index policy (arms treated as independent); @GAMMA sets its discount (default: the task's, or 1 - 1/horizon)",
        {
            cls: lambda t, gamma=None: GittinsAgent(t, gittins_discount(t) if gamma is None else gamma)
            for cls in (BernoulliBandit, GaussianBandit, DependentBandit)
        },
        option="gamma",
    ),
    "thompson": Kind(
        "Thompson sampling (outputs P(arm is best | posterior); restless: Wang's fixed-volatility filter)",
        {
            RestlessBandit: RestlessThompsonAgent,
            InformativeArmBandit: InformativeThompsonAgent,
            BanditTask: ThompsonAgent,
        },
        exact=False,
    ),
    "ucb": Kind(
        "UCB on observed mean rewards, bonus sqrt(chi log n / n_i); @CHI (default 2 = UCB1, restless 1)",
        {BanditTask: UCBAgent},
        option="chi",
        exact=False,
    ),
    "rescorla-wagner": Kind(
        "Rescorla-Wagner delta rule on the pulled arm, greedy readout; @ALPHA its learning rate (default 0.2)",
        {BanditTask: lambda t, alpha=0.2: RescorlaWagnerAgent(t, alpha)},
        option="alpha",
        exact=False,
    ),
    "model-free": Kind(
        "Daw et al.'s model-free learner: SARSA(lambda) first-stage values, softmax; @LAMBDA its trace (default 1 = TD(1))",
        {TwoStepTask: lambda t, trace=1.0: HybridLearner(t, w=0.0, trace=trace)},
        option="trace",
    ),
    "model-based": Kind(
        "Daw et al.'s model-based learner: first-stage values from the known transitions, softmax",
        {TwoStepTask: lambda t: HybridLearner(t, w=1.0)},
    ),
    "win-stay-side": Kind(
        "win-stay lose-shift on the side of the last selection, blind to the stimuli (Harlow's memoryless control)",
        {HarlowTask: SideWinStayAgent},
    ),
    "memoryless": Kind(
        "the best policy of the current cell alone, no memory (Wang's feed-forward control on the maze)",
        {OneShotMaze: MemorylessMazeAgent},
    ),
    "hybrid": Kind(
        "Daw et al.'s hybrid learner, w x model-based + (1 - w) x model-free; @W its weight (default 0.5)",
        {TwoStepTask: lambda t, w=0.5: HybridLearner(t, w=w)},
        option="w",
    ),
}
RNN_SUMMARY = "shipped meta-trained LSTM; @init: untrained, @STEP: a training snapshot"


def gittins_discount(task: BanditTask) -> float:
    """The Gittins baseline's default discount: the task's if below 1, else ``1 - 1 / horizon``."""
    return task.discount if task.discount < 1.0 else 1.0 - 1.0 / task.horizon


RESERVED_KINDS = ("rnn", "py")
"""Kinds the spec parser reads itself: shipped checkpoints and user modules."""


def register_kind(name: str, summary: str, *, option: str | None = None, exact: bool = True) -> None:
    """Add the machine kind ``name`` (specs ``NAME:TASK``), one line of ``summary`` saying what it is;
    its machines come with :func:`register_builder`. ``option`` and ``exact`` as for :class:`Kind`."""
    if not re.fullmatch(r"[a-z][a-z0-9-]*", name or ""):
        raise SimlibError(f"a machine kind is lowercase letters, digits and hyphens, got {name!r}")
    if name in _KINDS or name in RESERVED_KINDS:
        raise SimlibError(f"a machine kind called {name!r} already exists")
    _KINDS[name] = Kind(summary, {}, option, exact)


def register_builder(kind: str, task_class: type) -> Callable[[Builder], Builder]:
    """A decorator: ``build(task)`` makes ``KIND``'s machine for tasks of ``task_class``
    (``@register_builder("opt", MyTask)`` gives ``opt:my-task`` and :func:`bayes_optimal` for it)."""
    if kind not in _KINDS:
        raise SimlibError(f"unknown machine kind {kind!r}; register it with register_kind first")
    if task_class in _KINDS[kind].builders:
        raise SimlibError(f"{kind!r} machines for {task_class.__name__} are already registered")

    def add(build: Builder) -> Builder:
        _KINDS[kind].builders[task_class] = build
        return build

    return add


def kinds() -> list[str]:
    """Machine kinds, sorted (``rnn`` included)."""
    return sorted([*_KINDS, "rnn"])


def specs() -> list[tuple[str, str]]:
    """Every loadable ``KIND:TASK`` spec with a one-line summary."""
    rows = []
    for kind_name in kinds():
        for task_name in task_registry.names():
            if kind_name == "rnn":
                if task_name in shipped():
                    rows.append((f"rnn:{task_name}", RNN_SUMMARY))
            elif _KINDS[kind_name].builder(task_registry.get(task_name)) is not None:
                rows.append((f"{kind_name}:{task_name}", _KINDS[kind_name].summary))
    return rows


def bayes_optimal(task: Task) -> StateMachine | None:
    """The Bayes-optimal machine of ``task`` (its own parameters), or None where simlib has no
    solver for the task's class (such a task can still be trained on and compared)."""
    build = _KINDS["opt"].builder(task)
    if build is None:
        return None
    machine = build(task)
    machine.task, machine.spec = task, f"opt:{task.name}"
    return machine


def require_bayes_optimal(task: Task) -> StateMachine:
    """:func:`bayes_optimal`, or a :class:`SimlibError` naming the task when there is none."""
    machine = bayes_optimal(task)
    if machine is None:
        raise SimlibError(f"no Bayes-optimal machine for task {task.name!r} ({type(task).__name__})")
    return machine


def load(spec: str, task: Task | None = None) -> StateMachine:
    """Build the machine a spec names.

    Args:
        spec: ``KIND:TASK[@STAGE]``, ``PATH.pt[@STAGE]`` or ``py:MODULE:FACTORY`` (see the
            module docstring).
        task: use this task object (e.g. with another horizon) instead of the default one;
            its name must match the task the spec names or the checkpoint was trained on.
    """
    if spec.startswith(PY_PREFIX):
        machine = _from_python(spec, task)
        _set(machine, "spec", spec)
        return machine
    base, _, stage = spec.partition("@")
    if base.endswith(".pt"):
        machine = _from_file(base, stage or "final", task)
    else:
        machine = _from_kind(base, stage, task, spec)
    machine.spec = spec
    return machine


def _from_file(path: str, stage: str, task: Task | None) -> StateMachine:
    payload = read_checkpoint(path)
    machine = machine_from_checkpoint(payload, stage, source=path)
    return _with_task(machine, task, f"checkpoint {path} was trained on")


def _from_kind(base: str, stage: str, task: Task | None, spec: str) -> StateMachine:
    kind_name, sep, task_name = base.partition(":")
    if not sep or not kind_name or not task_name:
        hint = did_you_mean(spec, [name for name, _ in specs()])
        raise SimlibError(
            f"bad machine spec {spec!r}{hint}: expected KIND:TASK (e.g. opt:beta-bernoulli), PATH.pt or py:MODULE:FACTORY"
        )
    if kind_name not in kinds():
        hint = did_you_mean(kind_name, [*kinds(), PY_PREFIX[:-1]])
        raise SimlibError(f"unknown machine kind {kind_name!r} in {spec!r}{hint}; known kinds: {', '.join(kinds())}, py")
    if task is None:
        task = task_registry.get(task_name)
    elif task.name != task_name:
        raise SimlibError(f"machine {spec!r} is built for task {task_name!r}, not {task.name!r}")
    if kind_name == "rnn":
        path = zoo_path(task_name)
        machine = machine_from_checkpoint(read_checkpoint(path), stage or "final", source=f"rnn:{task_name}")
        return _with_task(machine, task, f"rnn:{task_name} was trained on")
    kind = _KINDS[kind_name]
    if stage and kind.option is None:
        with_option = ", ".join(name for name, k in _KINDS.items() if k.option)
        raise SimlibError(f"only rnn, checkpoint and {with_option} specs take an @ suffix, not {spec!r}")
    build = kind.builder(task)
    if build is None:
        raise SimlibError(f"no {kind_name!r} machine for task {task_name!r}")
    options = {kind.option: _number(stage, spec)} if stage else {}
    try:
        machine = build(task, **options)
    except SimlibError:
        raise
    except ValueError as error:
        raise SimlibError(f"bad machine spec {spec!r}: {error}") from None
    machine.task = task
    return machine


PY_PREFIX = "py:"


def _from_python(spec: str, task: Task | None) -> StateMachine:
    """``py:MODULE:FACTORY``: import the module the user named and call its factory."""
    module_name, sep, attribute = spec[len(PY_PREFIX):].partition(":")
    if not sep or not _dotted(module_name) or not _dotted(attribute):
        raise SimlibError(
            f"bad machine spec {spec!r}: expected py:MODULE:FACTORY with dotted Python names (e.g. py:my_agents:make)"
        )
    factory = _import_user_module(module_name, spec)
    for part in attribute.split("."):
        if not hasattr(factory, part):
            raise SimlibError(f"machine spec {spec!r}: {module_name!r} has no attribute {attribute!r}")
        factory = getattr(factory, part)
    if not callable(factory):
        raise SimlibError(f"machine spec {spec!r}: {module_name}.{attribute} is a {type(factory).__name__}, not callable")
    machine = _call_factory(factory, task, spec, f"{module_name}.{attribute}")
    if isinstance(machine, type) or not hasattr(machine, "step"):
        raise SimlibError(
            f"machine spec {spec!r}: {module_name}.{attribute}() returned a {type(machine).__name__}, not a machine "
            "(see simlib.StateMachine)"
        )
    try:
        check_machine(machine, spec)
    except SimlibError:
        raise
    except Exception as error:  # the user's initial_state or step failed on the probe
        raise SimlibError(f"machine spec {spec!r}: probing the machine raised {_user_error(error)}") from None
    own = getattr(machine, "task", None)
    if own is None:
        _set(machine, "task", task)  # None when no task was given: comparisons read it off the other machine
        return machine
    return _with_task(machine, task, f"machine {spec!r} is built for task")


def _dotted(name: str) -> bool:
    return bool(name) and all(part.isidentifier() for part in name.split("."))


def _import_user_module(name: str, spec: str) -> object:
    """Import ``name`` with the current directory searched first (removed from ``sys.path`` after)."""
    here = os.getcwd()
    sys.path.insert(0, here)
    importlib.invalidate_caches()
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name is not None and (name == error.name or name.startswith(error.name + ".")):
            raise SimlibError(
                f"machine spec {spec!r}: no module named {error.name!r} (searched the current directory and sys.path)"
            ) from None
        raise SimlibError(f"machine spec {spec!r}: importing {name!r} failed: {_user_error(error)}") from None
    except SimlibError:
        raise
    except Exception as error:  # the user's module raised while it was imported
        raise SimlibError(f"machine spec {spec!r}: importing {name!r} failed: {_user_error(error)}") from None
    finally:
        sys.path.remove(here)


def _call_factory(factory: Callable, task: Task | None, spec: str, name: str) -> object:
    """``factory(task)`` if it takes a positional argument and a task is given, else ``factory()``."""
    try:
        parameters = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature
        parameters = []
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    takes_task = bool(positional) and task is not None
    if positional and task is None and positional[0].kind != positional[0].VAR_POSITIONAL and (
        positional[0].default is inspect.Parameter.empty
    ):
        raise SimlibError(f"machine spec {spec!r}: {name}() takes a task; pass one (--task TASK)")
    try:
        return factory(task) if takes_task else factory()
    except SimlibError:
        raise
    except Exception as error:  # the user's factory failed: one line, with where
        raise SimlibError(f"machine spec {spec!r}: {name}() raised {_user_error(error)}") from None


def _user_error(error: BaseException) -> str:
    """``Type: message (file:line)`` of an exception raised in a user's code."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" ({os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    if isinstance(error, SyntaxError) and error.filename:
        where = f" ({os.path.basename(error.filename)}:{error.lineno})"
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}{where}" if message else f"{type(error).__name__}{where}"


def _set(machine: object, name: str, value: object) -> None:
    try:
        setattr(machine, name, value)
    except (AttributeError, TypeError):
        raise SimlibError(
            f"machine {type(machine).__name__} does not accept a {name!r} attribute (simlib records spec and task on it)"
        ) from None


def _number(text: str, spec: str) -> float:
    """The ``@VALUE`` of a spec as a finite float."""
    value = decimal_number(text)
    if value is None or not math.isfinite(value):
        raise SimlibError(f"bad machine spec {spec!r}: {text!r} after @ is not a finite decimal number")
    return value


def _with_task(machine: StateMachine, task: Task | None, context: str) -> StateMachine:
    """Use ``task`` in place of the recorded one, if given: the same task, parameters included
    (a machine trained on one prior is not silently run on another prior's episodes)."""
    if task is not None:
        if task.name != machine.task.name:
            raise SimlibError(f"{context} {machine.task.name!r}, not {task.name!r}")
        if task.config() != machine.task.config():
            changed = sorted(key for key in {**task.config(), **machine.task.config()}
                             if task.config().get(key) != machine.task.config().get(key))
            raise SimlibError(f"{context} {task.name!r} with other parameters ({', '.join(changed)} differ)")
        machine.task = task
    return machine
