"""``simlib reproduce``: recipes, task selection, the quick pipeline end to end, resuming, errors."""

import json

import numpy as np
import pytest
import xarray as xr

from simlib import tasks
from simlib.cli.app import main
from simlib.errors import SimlibError
from simlib.machines.checkpoint import read_checkpoint
from simlib.machines.zoo import zoo_path
from simlib.pipeline.jobs import EvaluateJob
from simlib.pipeline.mikulik2020 import Reproduction, ReproduceSettings, select_tasks
from simlib.pipeline.results import FIGURE4
from simlib.training.recipes import is_shipped_run, recipe


def test_recipes_are_the_shipped_commands():
    for name in ("normal-gamma", "bernoulli-bandit", "beta-bernoulli"):
        task = tasks.get(name)
        shipped = read_checkpoint(zoo_path(name))["training"]["settings"]
        settings = recipe(task, seed=shipped["seed"])  # rnn:bernoulli-bandit is seed 1
        assert all(getattr(settings, key) == value for key, value in shipped.items())
        assert is_shipped_run(task, settings)
        assert not is_shipped_run(task, recipe(task, seed=shipped["seed"] + 1))
        assert recipe(task, 3).seed == 3
    short = recipe(tasks.get("beta-bernoulli"), 1, steps=50, hidden=2)
    assert (short.steps, short.snapshot_every, short.hidden) == (50, 5, 2)


def test_task_selection():
    assert len(select_tasks(None)) == 14
    assert len(select_tasks(["prediction"])) == 10 and len(select_tasks(["bandit"])) == 4
    assert select_tasks(["normal-gamma", "bandit", "normal-gamma"])[-1] == "normal-gamma"
    with pytest.raises(SimlibError, match="unknown task or group"):
        select_tasks(["coin"])


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """The quick pipeline on one prediction and one (short-horizon) bandit task."""
    out = tmp_path_factory.mktemp("reproduce")
    lines: list[str] = []
    settings = ReproduceSettings.quick(tasks=("beta-bernoulli", "bernoulli-bandit"), episodes=60, widths=(2,))
    files = Reproduction(settings, out, log=lines.append).run()
    return out, files, lines


def test_quick_run_writes_the_tidy_table_and_every_figure(quick_run):
    out, files, _ = quick_run
    results = xr.open_dataset(out / "results.nc").load()
    assert results["value"].dims == ("task", "seed", "stage", "measure")
    assert list(results["task"].values) == ["bernoulli-bandit", "beta-bernoulli"]
    assert list(results["seed"].values) == [0, 1] and list(results["stage"].values) == ["init", "final"]
    assert np.isfinite(results["value"].sel(measure=list(FIGURE4))).all()
    assert list(results["units"].values) == ["reward", "nats"]
    for name in ("figure4.png", "memory.png", "beta-bernoulli/figure1.png", "beta-bernoulli/figure2.png",
                 "beta-bernoulli/figure3.png", "bernoulli-bandit/figure2.png", "results.csv", "memory.csv"):
        assert (out / name).stat().st_size > 1000, name
    rows = (out / "results.csv").read_text().splitlines()
    assert rows[0] == "task,seed,stage,measure,value"
    memory = xr.open_dataset(out / "memory.nc").load()
    assert memory["width"].values.tolist() == [2, 256] and memory["task"].values.tolist() == ["bernoulli-bandit"]


def test_quick_run_values_are_the_comparisons(quick_run):
    out, _, _ = quick_run
    results = xr.open_dataset(out / "results.nc").load()
    record = json.loads((out / "evaluations" / "beta-bernoulli" / "seed-1-final.json").read_text())
    value = results["value"].sel(task="beta-bernoulli", seed=1, stage="final")
    assert value.sel(measure="behaviour").item() == pytest.approx(record["report"]["behaviour"]["value"])
    assert value.sel(measure="rnn_to_opt_d_s").item() == pytest.approx(record["report"]["a_to_b"]["d_s"])
    assert value.sel(measure="opt_to_rnn_d_o").item() == pytest.approx(record["report"]["b_to_a"]["d_o"])
    assert record["report"]["b"] == "opt:beta-bernoulli"


def test_training_moves_the_agents_towards_opt(quick_run):
    out, _, _ = quick_run
    behaviour = xr.open_dataset(out / "results.nc").load()["value"].sel(measure="behaviour", task="beta-bernoulli")
    assert (behaviour.sel(stage="final") < behaviour.sel(stage="init")).all()


def test_a_finished_reproduction_is_not_redone(quick_run):
    out, _, _ = quick_run
    before = xr.open_dataset(out / "results.nc").load()
    lines: list[str] = []
    settings = ReproduceSettings.quick(tasks=("beta-bernoulli", "bernoulli-bandit"), episodes=60, widths=(2,))
    Reproduction(settings, out, log=lines.append).run()
    assert not [line for line in lines if line.startswith(("train", "evaluated"))]
    xr.testing.assert_identical(before, xr.open_dataset(out / "results.nc").load())


def test_a_rerun_with_other_settings_recomputes_instead_of_reusing(tmp_path, monkeypatch):
    """The cache is keyed by what made each evaluation: other --episodes re-evaluate (the second
    and later comparisons reuse the first report, to keep the test short)."""
    calls, reports = [], []
    real = EvaluateJob.comparison

    def counted(self, task, payload, log):
        calls.append(self.episodes)
        if not reports:
            reports.append(real(self, task, payload, log))
        return reports[0]

    def evaluations(episodes: int) -> list[int]:
        settings = ReproduceSettings.quick(tasks=("normal-normal",), seeds=1, episodes=episodes, widths=(), train=False)
        Reproduction(settings, tmp_path, log=lambda line: None).run()
        return calls

    monkeypatch.setattr(EvaluateJob, "comparison", counted)
    monkeypatch.setattr(Reproduction, "_figures", lambda self, records: {})
    assert evaluations(20) == [20]
    assert evaluations(20) == [20]
    assert evaluations(30) == [20, 30]
    assert evaluations(30) == [20, 30]


def test_no_train_uses_only_existing_runs(quick_run, tmp_path, capsys):
    out, _, _ = quick_run
    code = main(["reproduce", "--quick", "--tasks", "beta-bernoulli", "--widths", "none", "--episodes", "60", "--no-train",
                 "--out", str(out)])
    assert code == 0
    assert "beta-bernoulli" in capsys.readouterr().out
    code = main(["reproduce", "--quick", "--tasks", "normal-normal", "--episodes", "40", "--no-train", "--out", str(tmp_path)])
    assert code == 0
    assert "only its untrained agent is evaluated" in capsys.readouterr().err
    value = xr.open_dataset(tmp_path / "results.nc").load()["value"].sel(task="normal-normal", measure="behaviour")
    assert np.isfinite(value.sel(stage="init")).all() and np.isnan(value.sel(stage="final")).all()
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--tasks", "coin"], "unknown task or group"),
        (["--tasks", ""], "no task chosen"),
        (["--tasks", " , "], "no task chosen"),
        (["--widths", "0,2"], "--widths"),
        (["--seeds", "0"], "seeds"),
    ],
)
def test_bad_options_are_one_line_errors(argv, message, tmp_path, capsys):
    code = main(["reproduce", "--quick", "--out", str(tmp_path / "r"), *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()
