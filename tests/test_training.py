"""Meta-training: learning happens, checkpoints are complete, interrupted runs resume exactly."""

import os

import pytest
import torch

from simlib import SimlibError, machines, tasks
from simlib.device import resolve_device
from simlib.training import TrainSettings, train_predictor, warmup_cosine

TINY = TrainSettings(steps=60, batch=32, snapshot_every=20, eval_episodes=64)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "coin.pt"
    return path, train_predictor(tasks.get("beta-bernoulli"), TINY, path, progress=False)


def test_training_reduces_the_kl_to_the_bayes_optimal_predictor(trained):
    _, payload = trained
    history = payload["training"]["history"]
    assert history["step"] == [0, 20, 40, 60]
    assert history["kl"][-1] < 0.25 * history["kl"][0]
    assert payload["training"]["finished"] and "resume" not in payload
    assert payload["training"]["episodes_seen"] == 60 * 32
    assert payload["training"]["command"].startswith("simlib train beta-bernoulli --steps 60 --batch 32")


def test_checkpoint_is_weights_only_and_loads_as_machines(trained):
    path, payload = trained
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "simlib-checkpoint" and [s["step"] for s in raw["snapshots"]] == [0, 20, 40, 60]
    final, init, middle = (machines.load(f"{path}{stage}") for stage in ("", "@init", "@20"))
    assert final.task == tasks.get("beta-bernoulli") and final.spec == str(path)
    for name, tensor in init.state_dict().items():
        assert torch.equal(tensor, payload["snapshots"][0]["state_dict"][name])
        assert torch.equal(middle.state_dict()[name], payload["snapshots"][1]["state_dict"][name])
    assert not torch.equal(final.state_dict()["core.weight_hh_l0"], init.state_dict()["core.weight_hh_l0"])
    with pytest.raises(SimlibError):
        machines.load(f"{path}@7")


def test_a_skip_input_stack_round_trips_and_its_upper_layer_reads_the_input(tmp_path):
    from dataclasses import replace

    from simlib.families import Policy
    from simlib.machines import lstm_agent

    settings = replace(TINY, steps=4, snapshot_every=2, layers=2, skip_inputs=True)
    path = tmp_path / "stacked.pt"
    payload = train_predictor(tasks.get("beta-bernoulli"), settings, path, progress=False)
    assert payload["architecture"]["layers"] == 2 and payload["architecture"]["skip_inputs"] is True
    assert payload["training"]["command"].endswith("--layers 2 --skip-inputs")
    loaded = machines.load(str(path))
    assert loaded.state_dim == 2 * 2 * TINY.hidden and isinstance(loaded.core, machines.lstm.SkipInputLSTM)
    x = torch.rand(5, loaded.input_dim, dtype=torch.float64)
    assert torch.equal(loaded.step(x, loaded.initial_state(5))[0],
                       machines.load(str(path)).step(x, loaded.initial_state(5))[0])
    plain, skip = (lstm_agent(3, Policy(2), 4, 0, 2, skip_inputs=flag) for flag in (False, True))
    first_layers = [w for name, w in plain.core.named_parameters() if name.endswith("_l0")] + list(skip.core.cells[0].parameters())
    with torch.no_grad():  # first layers that output nothing: h = o * tanh(c) = 0.5 * tanh(0)
        for weight in first_layers:
            weight.zero_()
    inputs = torch.eye(3)
    assert torch.allclose(plain.step(inputs, plain.initial_state(3))[0][0], plain.step(inputs, plain.initial_state(3))[0][1])
    said = skip.step(inputs, skip.initial_state(3))[0]
    assert not torch.allclose(said[0], said[1])  # the second layer still sees the input
    with pytest.raises(SimlibError, match="skip_inputs needs a stack"):
        TrainSettings(skip_inputs=True)


def test_interrupted_run_resumes_to_the_same_weights(tmp_path, trained, resumes_exactly):
    def train(path, callback):
        return train_predictor(tasks.get("beta-bernoulli"), TINY, path, progress=False, callback=callback)

    resumes_exactly(train, tmp_path / "resumed.pt", trained[1], "kl")


def test_a_finished_run_is_not_retrained_and_other_settings_are_refused(trained):
    path, _ = trained
    before = os.stat(path).st_mtime_ns
    train_predictor(tasks.get("beta-bernoulli"), TINY, path, progress=False)
    assert os.stat(path).st_mtime_ns == before
    with pytest.raises(SimlibError, match="different run"):
        train_predictor(tasks.get("beta-bernoulli"), TrainSettings(steps=80), path, progress=False)
    with pytest.raises(SimlibError, match="different run"):
        train_predictor(tasks.get("beta-bernoulli-fair"), TINY, path, progress=False)


def test_a_run_recorded_before_a_task_parameter_was_added_still_matches(tmp_path, trained):
    path, _ = trained
    written = torch.load(path, weights_only=True)
    old = dict(written, task={k: v for k, v in written["task"].items() if k != "horizon"})  # as if horizon came later
    torch.save(old, tmp_path / "old.pt")
    again = train_predictor(tasks.get("beta-bernoulli"), TINY, tmp_path / "old.pt", progress=False)
    assert again["training"]["finished"] and tasks.current_config(old["task"]) == tasks.get("beta-bernoulli").config()


def test_every_prediction_family_trains(tmp_path):
    for name in ("dirichlet-categorical", "gamma-exponential", "normal-gamma"):
        payload = train_predictor(
            tasks.get(name), TrainSettings(steps=20, batch=16, snapshot_every=20, eval_episodes=32),
            tmp_path / f"{name}.pt", progress=False,
        )
        kl = payload["training"]["history"]["kl"]
        assert all(map(torch.isfinite, map(torch.tensor, kl))) and kl[-1] < kl[0], name


def test_bandit_tasks_are_refused(tmp_path, toy_bandit):
    with pytest.raises(SimlibError):
        train_predictor(toy_bandit, TINY, tmp_path / "x.pt", progress=False)


def test_bad_settings_and_devices_are_user_errors():
    with pytest.raises(SimlibError):
        TrainSettings(steps=0)
    with pytest.raises(SimlibError):
        TrainSettings(lr=-1.0)
    for seed in (-1, 2**62 + 1, 1.5, True):
        with pytest.raises(SimlibError, match="a seed must be a whole number"):
            TrainSettings(seed=seed)
    from simlib.random import make_generator

    with pytest.raises(SimlibError, match="a seed must be a whole number"):
        make_generator(-3)
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(SimlibError):
        resolve_device("tpu")


@pytest.mark.parametrize("gpu", [True, False])
def test_auto_picks_the_gpu_exactly_when_one_is_present(monkeypatch, gpu):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    assert resolve_device("auto").type == ("cuda" if gpu else "cpu")
    if not gpu:
        with pytest.raises(SimlibError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_schedule_warms_up_then_decays():
    values = [warmup_cosine(step, 1000) for step in range(1, 1001)]
    assert values[0] == pytest.approx(1 / 50) and max(values) == pytest.approx(1.0)
    assert values.index(max(values)) == 49
    assert values[-1] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(values[49:], values[50:]))


def test_a_user_task_registered_before_loading_round_trips_through_its_checkpoint(tmp_path, monkeypatch):
    from simlib.tasks import registry

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    tasks.register("test-loaded-coin", "a coin loaded towards heads", a=3.0)(tasks.BetaBernoulli)
    with pytest.raises(SimlibError, match="already registered"):
        tasks.register("test-loaded-coin", "again")(tasks.BetaBernoulli)
    task = tasks.get("test-loaded-coin", horizon=8)
    settings = TrainSettings(steps=2, batch=8, snapshot_every=2, eval_episodes=8, hidden=4)
    train_predictor(task, settings, tmp_path / "user.pt", progress=False)
    assert machines.load(str(tmp_path / "user.pt")).task == task
    del registry._REGISTRY["test-loaded-coin"]
    with pytest.raises(SimlibError, match="not registered"):
        machines.load(str(tmp_path / "user.pt"))


def test_a_task_without_a_bayes_solver_trains_on_its_log_loss_and_compares(tmp_path, monkeypatch):
    """A subclass may change the generative model, so it gets no inherited opt: the trainer
    reports the held-out log-loss instead of eq. (2), and compare needs no opt."""
    from simlib.compare import compare
    from simlib.tasks import registry

    class Sticky(tasks.BetaBernoulli):
        """Coins whose flips a user's own model might correlate (same sampling, for the test)."""

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    tasks.register("test-sticky-coin", "a user's coin without a Bayes solver")(Sticky)
    task = tasks.get("test-sticky-coin", horizon=6)
    assert machines.bayes_optimal(task) is None
    settings = TrainSettings(steps=4, batch=16, snapshot_every=2, eval_episodes=32, hidden=4)
    payload = train_predictor(task, settings, tmp_path / "sticky.pt", progress=False)
    losses = payload["training"]["history"]["log_loss"]
    assert len(losses) == 3 and all(6 * 0.5 < value < 6 * 1.0 for value in losses)  # nats per 6 flips
    trained, untrained = (machines.load(f"{tmp_path / 'sticky.pt'}{stage}") for stage in ("", "@init"))
    report = compare(trained, untrained, task, episodes=20, seed=0)
    assert report.task is task and report.behaviour.value >= 0


def test_progress_shows_a_measured_figure_with_its_step_or_a_dash():
    import io

    from simlib.training.progress import Progress

    stream = io.StringIO()
    progress = Progress("train coin", 10, stream=stream, measured=("kl",))
    progress.update(1, force=True, loss=0.5)
    progress.measure(0, kl=2.8)
    progress.update(2, force=True, loss=0.4)
    progress.measure(5, kl=0.0123)
    progress.update(6, force=True, loss=0.3)
    first, second, third = (line.rsplit("  ", 1)[0] for line in stream.getvalue().splitlines())
    assert first == "train coin  1/10 [##..................] loss 0.5  kl —"
    assert second == "train coin  2/10 [####................] loss 0.4  kl@0 2.8"
    assert third == "train coin  6/10 [############........] loss 0.3  kl@5 0.0123"


def test_the_training_progress_line_never_shows_a_stale_kl_as_current(tmp_path, capsys):
    settings = TrainSettings(steps=4, batch=8, snapshot_every=2, eval_episodes=16)
    train_predictor(tasks.get("beta-bernoulli"), settings, tmp_path / "p.pt", progress=True)
    lines = capsys.readouterr().err.splitlines()  # not a terminal: the first step, then every snapshot
    assert [line.split()[2] for line in lines] == ["1/4", "2/4", "4/4"]
    assert [line.split("kl@")[1].split()[0] for line in lines] == ["0", "2", "4"]
