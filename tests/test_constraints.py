"""Task parameters are validated once, by their declared constraints."""

import math

import pytest

from simlib import SimlibError, constraints, machines, tasks

BAD = (math.nan, math.inf, -math.inf, -1.0, 0, 2.5, "1", True, None, ())


def declared():
    for name in tasks.names():
        for field, constraint in type(tasks.get(name)).arg_constraints.items():
            yield name, field, constraint


@pytest.mark.parametrize("name, field, constraint", list(declared()), ids=lambda v: getattr(v, "description", v))
def test_every_declared_parameter_refuses_what_its_constraint_excludes(name, field, constraint):
    default = getattr(tasks.get(name), field)
    assert constraint.holds(default)
    for value in BAD:
        if isinstance(constraint, constraints.Each):
            value = (value,)
        if constraint.holds(value):
            continue
        with pytest.raises(SimlibError, match=f"{field} must be"):
            tasks.get(name, **{field: value})


def test_the_constraints_say_what_they_accept():
    assert constraints.positive_integer.holds(3) and not constraints.positive_integer.holds(3.0)
    assert constraints.real.holds(-2.5) and not constraints.real.holds(math.nan)
    assert constraints.unit_interval.holds(1) and not constraints.unit_interval.holds(1.5)
    assert not constraints.positive.holds(False) and not constraints.Each(constraints.positive).holds([])
    assert {field for _, field, _ in declared()} >= {"horizon", "a", "b", "alpha", "discount", "arms", "noise_std"}


def test_a_checkpoint_whose_task_record_breaks_a_constraint_is_refused(tmp_path):
    import torch

    payload = torch.load(machines.registry.zoo_path("beta-bernoulli"), weights_only=True)
    payload["task"] = {**payload["task"], "a": -1.0}
    torch.save(payload, tmp_path / "bad-task.pt")
    with pytest.raises(SimlibError, match="a must be a finite number > 0"):
        machines.load(str(tmp_path / "bad-task.pt"))


def test_a_task_label_names_the_parameters_it_changes():
    assert tasks.label(tasks.get("bernoulli-bandit")) == "bernoulli-bandit"
    assert tasks.label(tasks.get("bernoulli-bandit", a=0.5, b=0.5)) == "bernoulli-bandit (a=0.5, b=0.5)"
    assert tasks.label(tasks.get("bernoulli-bandit-bent")) == "bernoulli-bandit-bent"
    assert tasks.label(tasks.get("beta-bernoulli", horizon=8).config()) == "beta-bernoulli (horizon=8)"
