"""Task families: every task has one, the core asks it instead of branching, and a new family,
task or machine kind is one module plus its registration lines (the toy below is that module)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np
import pytest

from simlib import tasks
from simlib.behaviour import prediction_divergence
from simlib.compare import compare
from simlib.errors import SimlibError
from simlib import task_family
from simlib.machines import CountPredictor, bayes_optimal, load, register_builder, register_kind, specs
from simlib.machines import registry as machine_registry
from simlib.task_family import INTERACTIVE, PREDICTION, PredictionFamily, family_of, recorded_family, register_family
from simlib.tasks import registry
from simlib.training import recipes, trainers
from simlib.training.predictor import TrainSettings


# --- the toy family: everything a new kind of task needs -------------------------------------
class JensenShannonFamily(PredictionFamily):
    """Prediction scored by Jensen-Shannon instead of KL, behaviour and D_o alike."""

    name = "toy-js"
    output_measure = "js"

    def behaviour(self, task, a, b, traces, episodes, seed, critic):
        return prediction_divergence(traces, "b", "a", b.output, measure="js")


TOY = JensenShannonFamily()


@dataclass(frozen=True)
class ToyCoin(tasks.BetaBernoulli):
    name: str = "toy-coin"
    family = TOY


def register_toy() -> None:
    """The registration lines: the family, the task, its Bayes agent and a new machine kind."""
    register_family(TOY)
    tasks.register("toy-coin", "a coin scored by Jensen-Shannon")(ToyCoin)
    register_builder("opt", ToyCoin)(lambda task: CountPredictor(task.a, task.b))
    register_kind("stubborn", "the Bayes agent of a coin believed to land heads (prior Beta(5, 1))")
    register_builder("stubborn", tasks.BetaBernoulli)(lambda task: CountPredictor(5.0, 1.0))
    register_builder("stubborn", ToyCoin)(lambda task: CountPredictor(5.0, 1.0))
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def toy(monkeypatch):
    """The toy family and task registered for one test (every registry restored after)."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(task_family, "FAMILIES", dict(task_family.FAMILIES))
    monkeypatch.setattr(trainers, "TRAINERS", dict(trainers.TRAINERS))
    kinds = {name: replace(kind, builders=dict(kind.builders)) for name, kind in machine_registry._KINDS.items()}
    monkeypatch.setattr(machine_registry, "_KINDS", kinds)
    register_toy()
    return tasks.get("toy-coin", horizon=8)


def test_every_registered_task_has_the_family_of_its_protocol_shape():
    for name in tasks.names():
        task = tasks.get(name)
        assert family_of(task) is (INTERACTIVE if task.closed_loop else PREDICTION), name


def test_a_new_family_changes_compares_behaviour_and_d_o_without_touching_the_core(toy):
    coin = tasks.get("beta-bernoulli", horizon=8)
    reports = {
        task.name: compare(load(f"stubborn:{task.name}", task), load(f"opt:{task.name}", task), task,
                           episodes=60, seed=0, resamples=50, flips=50)
        for task in (coin, toy)
    }
    kl_report, js_report = reports["beta-bernoulli"], reports["toy-coin"]
    assert ("stubborn:toy-coin", "the Bayes agent of a coin believed to land heads (prior Beta(5, 1))") in specs()
    assert kl_report.behaviour.metric == "kl(b||a)" and js_report.behaviour.metric == "js(b||a)"
    # the same traces (one seed), so JS < KL here: JS is bounded by log 2 per step, KL is not
    assert 0 < js_report.behaviour.value < kl_report.behaviour.value
    assert js_report.a_to_b.mlp.output_measure.startswith("js(") and kl_report.a_to_b.mlp.output_measure.startswith("kl(")
    assert json.loads(json.dumps(js_report.to_dict()))["behaviour"]["interval_of"] == "mean over episodes"


def test_a_family_without_its_own_trainer_trains_like_its_parent_until_it_registers_one(toy, tmp_path):
    assert trainers.trainer_for(toy).settings is TrainSettings
    calls = []

    def fake_train(task, settings, out, **options):
        calls.append((task.name, settings.steps, str(out)))
        return {"trained": task.name}

    trainers.register_trainer(JensenShannonFamily, TrainSettings, fake_train)
    assert recipes.train(toy, TrainSettings(steps=3), tmp_path / "toy.pt") == {"trained": "toy-coin"}
    assert calls == [("toy-coin", 3, str(tmp_path / "toy.pt"))]
    assert trainers.trainer_for(tasks.get("beta-bernoulli")).train is not fake_train


def test_a_family_that_contradicts_its_tasks_protocol_shape_is_refused(toy):
    @dataclass(frozen=True)
    class Confused(tasks.BetaBernoulli):
        family = INTERACTIVE

    with pytest.raises(SimlibError, match="closed_loop"):
        family_of(Confused())
    with pytest.raises(SimlibError, match="not a TaskFamily"):
        family_of(type("Odd", (tasks.BetaBernoulli,), {"family": "prediction"})())


def test_family_names_are_registered_once_and_saved_files_name_their_family(toy):
    class Impostor(PredictionFamily):
        name = "toy-js"

    with pytest.raises(SimlibError, match="already registered"):
        register_family(Impostor())
    assert register_family(TOY) is TOY
    assert isinstance(bayes_optimal(toy), CountPredictor) and bayes_optimal(toy).task is toy
    with pytest.raises(SimlibError, match="already exists"):
        register_kind("stubborn", "again")
    with pytest.raises(SimlibError, match="already registered"):
        register_builder("opt", ToyCoin)
    with pytest.raises(SimlibError, match="lowercase"):
        register_kind("Bad:Kind", "no")
    assert recorded_family({"family": "toy-js"}) is TOY
    assert recorded_family({"closed_loop": 1}) is INTERACTIVE and recorded_family({}) is PREDICTION


def test_the_interactive_family_picks_the_machine_with_exact_action_values_as_critic():
    task = tasks.get("bernoulli-bandit")
    opt, thompson = load("opt:bernoulli-bandit"), load("thompson:bernoulli-bandit")
    assert INTERACTIVE.critic(thompson, opt) is opt and INTERACTIVE.critic(opt, thompson) is opt
    assert INTERACTIVE.critic(thompson, thompson) is None and INTERACTIVE.critic(thompson, thompson, opt) is opt
    assert PREDICTION.critic(thompson, opt) is None
    rows = INTERACTIVE.within_episode(task, [opt, thompson], opt, 200, 0)
    assert rows.shape == (2, task.horizon) and np.allclose(rows[0], 0, atol=1e-12) and rows[1].sum() > 0
