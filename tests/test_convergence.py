"""Convergence analysis (paper Figure 2): analytic zeros, exact distances, snapshots, files, CLI."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import xarray as xr
from scipy.spatial.distance import jensenshannon

from simlib import machines, tasks
from simlib.behaviour import own_play
from simlib.cli.app import main
from simlib.convergence import (
    analyse,
    behavioural_distances,
    embed,
    load_convergence,
    save_convergence,
    summary,
    within_episode,
)
from simlib.errors import SimlibError
from simlib.families import Bernoulli
from simlib.machines import keep_final_snapshot, machine_from_checkpoint, read_checkpoint
from simlib.machines.checkpoint import snapshot_machines
from simlib.machines.runs import load_runs
from simlib.training import TrainSettings, train_predictor

HORIZON = 6


class Constant:
    """Predicts P(heads) = p whatever it sees; state: a step counter."""

    input_dim, state_dim, output = 2, 1, Bernoulli()

    def __init__(self, p: float) -> None:
        self.p = p

    def initial_state(self, batch: int) -> torch.Tensor:
        return torch.zeros(batch, 1, dtype=torch.float64)

    def step(self, x: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.full((x.shape[0], 1), self.p, dtype=torch.float64), s + 1


@pytest.fixture(scope="module")
def coin():
    return tasks.get("beta-bernoulli", horizon=HORIZON)


@pytest.fixture(scope="module")
def coin_machines(coin):
    kinds = ("opt", "rotated", "posterior", "forgetful")
    return {kind: machines.load(f"{kind}:beta-bernoulli", coin) for kind in kinds}


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory, coin):
    """Two tiny trained runs (seeds 0 and 1) with snapshots at steps 0, 10, 20."""
    folder = tmp_path_factory.mktemp("runs")
    paths = []
    for seed in (0, 1):
        settings = TrainSettings(steps=20, batch=16, snapshot_every=10, hidden=4, seed=seed, eval_episodes=50)
        train_predictor(coin, settings, folder / f"seed-{seed}.pt", progress=False)
        paths.append(folder / f"seed-{seed}.pt")
    return paths


def test_bayes_agents_have_zero_within_episode_dissimilarity_and_distance(coin, coin_machines):
    opt = coin_machines["opt"]
    same = {0: opt, 1: coin_machines["rotated"], 2: coin_machines["posterior"]}
    within = within_episode(coin, same, opt, episodes=100, seed=3)
    assert within.dims == ("step", "time") and within.shape == (3, HORIZON)
    assert within.attrs["units"] == "nats"
    np.testing.assert_allclose(within.values, 0.0, atol=1e-12)
    distances = behavioural_distances(coin, {str(k): m for k, m in same.items()}, episodes=100, seed=3)
    np.testing.assert_allclose(distances.values, 0.0, atol=1e-12)


def test_forgetful_machine_differs_from_the_second_observation_on(coin, coin_machines):
    opt = coin_machines["opt"]
    within = within_episode(coin, {0: coin_machines["forgetful"]}, opt, episodes=200, seed=0).values[0]
    np.testing.assert_allclose(within[:2], 0.0, atol=1e-12)  # no flip, or exactly one: same prediction
    assert np.all(within[2:] > 1e-3)
    distances = behavioural_distances(coin, coin_machines, episodes=200, seed=0)
    assert float(distances.sel(point="opt", other="forgetful")) > 1e-2


def test_distances_are_symmetric_bounded_and_exact_for_constant_predictors(coin, coin_machines):
    points = {**coin_machines, "low": Constant(1e-9), "high": Constant(1 - 1e-9), "third": Constant(1 / 3)}
    distances = behavioural_distances(coin, points, episodes=50, seed=1)
    values = distances.values
    assert distances.dims == ("point", "other") and list(distances["point"].values) == list(points)
    np.testing.assert_array_equal(values, values.T)
    np.testing.assert_array_equal(np.diag(values), 0.0)
    assert np.all(values <= HORIZON * math.log(2) + 1e-12)
    expected = HORIZON * jensenshannon([1 / 3, 2 / 3], [1e-9, 1 - 1e-9]) ** 2
    assert float(distances.sel(point="third", other="low")) == pytest.approx(expected, rel=1e-9)
    assert float(distances.sel(point="low", other="high")) == pytest.approx(HORIZON * math.log(2), rel=1e-6)


def test_bandit_distance_is_the_mean_absolute_cumulative_regret():
    task = tasks.get("bernoulli-bandit", horizon=5)
    opt, thompson = machines.load("opt:bernoulli-bandit", task), machines.load("thompson:bernoulli-bandit", task)
    distances = behavioural_distances(task, {"opt": opt, "thompson": thompson}, critic=opt, episodes=300, seed=2)
    assert distances.attrs["units"] == "reward"
    regret = own_play(task, thompson, 300, 2, critic=opt)[1].mean(0)
    assert float(distances.sel(point="opt", other="opt")) == 0.0
    assert float(distances.sel(point="opt", other="thompson")) == pytest.approx(np.abs(regret.cumsum()).mean())
    assert float(distances.sel(point="thompson", other="opt")) > 0.0
    within = within_episode(task, {0: opt, 7: thompson}, opt, episodes=300, seed=2)
    np.testing.assert_allclose(within.sel(step=0).values, 0.0, atol=1e-12)
    np.testing.assert_allclose(within.sel(step=7).values, regret)
    with pytest.raises(SimlibError, match="critic"):
        behavioural_distances(task, {"thompson": thompson}, episodes=10)


def test_embedding_recovers_a_euclidean_configuration():
    points = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0], [1.0, 1.0]])
    exact = np.linalg.norm(points[:, None] - points[None], axis=-1)
    names = ["opt", "a", "b", "c"]
    distances = xr.DataArray(exact, dims=("point", "other"), coords={"point": names, "other": names})
    embedding = embed(distances, reference="opt", seed=0)
    assert embedding.dims == ("point", "axis") and embedding.shape == (4, 2)
    np.testing.assert_array_equal(embedding.sel(point="opt").values, 0.0)
    recovered = np.linalg.norm(embedding.values[:, None] - embedding.values[None], axis=-1)
    np.testing.assert_allclose(recovered, exact, atol=1e-3)


def test_snapshot_machines_cover_every_stage(tiny_runs):
    payload = read_checkpoint(tiny_runs[0])
    stages = snapshot_machines(payload)
    assert list(stages) == [0, 10, 20]
    final = machine_from_checkpoint(payload, "final").state_dict()
    for name, tensor in stages[20].state_dict().items():
        assert torch.equal(tensor, final[name]), name
    pruned = snapshot_machines(keep_final_snapshot(payload))
    assert list(pruned) == [0, 20]
    for name, tensor in pruned[0].state_dict().items():  # rebuilt from the seed
        assert torch.equal(tensor, stages[0].state_dict()[name]), name


def test_load_runs_names_runs_by_seed_and_requires_one_task(tiny_runs):
    loaded = load_runs([*tiny_runs, tiny_runs[0]])
    assert list(loaded.runs) == ["seed-0", "seed-1", "seed-0#2"]
    assert loaded.task.horizon == HORIZON and list(loaded.histories["seed-1"]["step"]) == [0, 10, 20]
    with pytest.raises(SimlibError, match="trained on"):
        load_runs([tiny_runs[0], "rnn:beta-bernoulli"])  # same task name, other horizon


def test_analyse_layout_and_netcdf_round_trip(tiny_runs, coin, coin_machines, tmp_path):
    loaded = load_runs(tiny_runs)
    runs = {**loaded.runs, "seed-1": {k: m for k, m in loaded.runs["seed-1"].items() if k != 10}}
    opt = coin_machines["opt"]
    dataset = analyse(coin, runs, opt, loaded.histories, episodes=40, distance_episodes=20, seed=0)
    assert dataset["within"].dims == ("run", "step", "time") and dataset.sizes["step"] == 3
    assert np.isnan(dataset["within"].sel(run="seed-1", step=10)).all()
    assert np.isfinite(dataset["within"].sel(run="seed-0")).all()
    assert list(dataset["point"].values) == ["seed-0@0", "seed-0@10", "seed-0@20", "seed-1@0", "seed-1@20", "opt"]
    assert list(dataset["point_step"].values) == [0, 10, 20, 0, 20, -1]
    assert list(dataset["point_run"].values)[-1] == "opt"
    np.testing.assert_array_equal(dataset["embedding"].sel(point="opt").values, 0.0)
    assert dataset["train_kl"].dims == ("run", "record") and dataset["train_kl"].shape == (2, 3)
    again = within_episode(coin, loaded.runs["seed-0"], opt, episodes=40, seed=0)
    np.testing.assert_array_equal(dataset["within"].sel(run="seed-0").values, again.values)
    rows = summary(dataset)
    assert rows["seed-1"]["last_step"] == 20
    assert rows["seed-0"]["within_last"] == pytest.approx(float(again.sel(step=20).sum()))
    first_to_opt = float(dataset["distance"].sel(point="seed-0@0", other="opt"))
    assert rows["seed-0"]["distance_first"] == pytest.approx(first_to_opt)
    path = save_convergence(dataset, tmp_path / "convergence.nc")
    xr.testing.assert_identical(load_convergence(path), dataset)
    assert xr.open_dataset(path, engine="scipy").attrs["task"] == "beta-bernoulli"


def test_cli_converge_end_to_end(tiny_runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["converge", *map(str, tiny_runs), "--episodes", "30", "--distance-episodes", "10"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = tmp_path / "converge-beta-bernoulli"
    assert sorted(p.name for p in out.iterdir()) == ["convergence.nc", "figure2.png"]
    png = (out / "figure2.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    dataset = load_convergence(out / "convergence.nc")
    assert list(dataset["run"].values) == ["seed-0", "seed-1"] and dataset.attrs["episodes"] == 30
    assert "seed-0" in captured.out and "seed-1" in captured.out and "0 -> 20" in captured.out


@pytest.mark.parametrize(
    "runs, message",
    [
        (["missing.pt"], "no checkpoint file"),
        (["rnn:beta-bernoulli", "rnn:gamma-exponential"], "trained on"),
        (["opt:beta-bernoulli"], "expected a checkpoint"),
    ],
)
def test_cli_converge_bad_input_is_one_line(runs, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["converge", *runs])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err
    assert not list(tmp_path.iterdir())


def test_embedding_a_non_euclidean_distance_matrix_is_finite():
    """This matrix (a one-seed quick reproduction's) has two negative Gram eigenvalues; a
    classical start that takes their square root made the MDS fail on NaN."""
    import xarray as xr

    from simlib.convergence import classical_scaling, embed

    d = np.array([[0.0, 0.0721, 0.2886, 0.8603], [0.0721, 0.0, 0.0778, 0.4968],
                  [0.2886, 0.0778, 0.0, 0.2659], [0.8603, 0.4968, 0.2659, 0.0]])
    names = ["a", "b", "c", "opt"]
    embedded = embed(xr.DataArray(d, dims=("point", "other"), coords={"point": names, "other": names}), "opt", 0)
    assert np.isfinite(embedded.values).all() and np.allclose(embedded.sel(point="opt"), 0.0)
    points = np.random.default_rng(1).normal(size=(6, 2))
    euclidean = np.linalg.norm(points[:, None] - points[None], axis=-1)
    recovered = classical_scaling(euclidean)
    assert np.allclose(np.linalg.norm(recovered[:, None] - recovered[None], axis=-1), euclidean, atol=1e-10)
