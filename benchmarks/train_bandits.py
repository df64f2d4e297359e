"""CPU time of bandit meta-training to a given quality, recipe beside recipe, same seeds.

Trains the width-256 LSTM on one bandit task with each recipe and seed and prints, at every
snapshot, the training CPU seconds (evaluations excluded) and the Bayes regret to ``opt`` on
5 000 held-out episodes (standard error about 0.0006 on bernoulli-bandit; see
``ActorCriticObjective.evaluate``); then the CPU seconds to the target regret (default: the
shipped ``rnn:TASK``'s on the held-out episodes) and the final agent's regret on ``--episodes``
further held-out episodes, with its standard error.

``old`` is the recipe the shipped Bernoulli agents record (2 000 steps of 256 episodes, lr
1e-3), ``a2c`` the same with plain advantage actor-critic, and ``--candidate KEY=VALUE ...``
the old recipe with settings changed. Runs are resumable checkpoints under ``--out`` (default:
a temporary folder), so a second call only prints. Run it alone: figures are one thread's CPU.

    python benchmarks/train_bandits.py [--task bernoulli-bandit] [--recipes old a2c] [--seeds 0 1]
        [--candidate batch=64 lr=5e-4 per_step_critic=true steps=4000 snapshot_every=400]
        [--gap G] [--out DIR] [--episodes 20000]
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from simlib import machines, tasks
from simlib.behaviour import evaluate_play
from simlib.training import ActorCriticSettings, train_bandit_agent

OLD = ActorCriticSettings(steps=2000, batch=256, lr=1e-3, snapshot_every=250, critic_hidden=256)
RECIPES = {"old": OLD, "a2c": replace(OLD, estimator="a2c")}


def candidate(overrides: list[str]) -> ActorCriticSettings:
    """The old recipe with ``KEY=VALUE`` overrides of :class:`ActorCriticSettings` fields."""
    values = {}
    for item in overrides:
        key, _, text = item.partition("=")
        if key not in ActorCriticSettings.__dataclass_fields__:
            raise SystemExit(f"no setting {key!r}; one of {sorted(ActorCriticSettings.__dataclass_fields__)}")
        default = getattr(OLD, key)
        values[key] = text.lower() in ("1", "true", "yes") if isinstance(default, bool) else type(default)(text)
    return replace(OLD, **values)


def first_reaching(history: dict, gap: float) -> tuple[int, float] | None:
    """(step, training CPU seconds) of the first snapshot whose regret is at most ``gap``."""
    for step, regret, cpu in zip(history["step"], history["regret"], history["cpu_seconds"]):
        if regret <= gap:
            return step, cpu
    return None


def held_out_regret(task_name: str, spec: str, episodes: int) -> tuple[float, float]:
    """Mean summed Bayes regret of machine ``spec`` on ``episodes`` episodes (seed 11), with its SE."""
    task = tasks.get(task_name)
    opt = machines.load(f"opt:{task_name}")
    _, regret = evaluate_play(task, machines.load(spec, task), episodes, 11, critic=opt, summed=True)
    return float(regret.mean()), float(regret.std(ddof=1) / np.sqrt(regret.size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="bernoulli-bandit")
    parser.add_argument("--recipes", nargs="*", default=["old"], choices=sorted(RECIPES))
    parser.add_argument("--candidate", nargs="*", default=None, metavar="KEY=VALUE",
                        help="also train the old recipe with these settings changed (e.g. batch=64 lr=5e-4)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--gap", type=float, default=None,
                        help="target regret (default: the shipped rnn:TASK's on the held-out episodes)")
    parser.add_argument("--episodes", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=None, help="keep the runs here (resumable)")
    args = parser.parse_args()
    task = tasks.get(args.task)
    recipes = {name: RECIPES[name] for name in args.recipes}
    if args.candidate is not None:
        recipes["candidate"] = candidate(args.candidate)
    gap = args.gap
    if gap is None:
        gap, se = held_out_regret(args.task, f"rnn:{args.task}", args.episodes)
        print(f"target: rnn:{args.task}'s summed Bayes regret, {gap:.5f} ± {se:.5f} ({args.episodes} episodes)")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.out or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for name, recipe in recipes.items():
            for seed in args.seeds:
                settings = replace(recipe, seed=seed)
                path = folder / f"{args.task}-{name}-seed{seed}.pt"
                payload = train_bandit_agent(task, settings, path, device="cpu", threads=1, progress=False)
                report(name, seed, payload, gap, held_out_regret(args.task, str(path), args.episodes))


def report(name: str, seed: int, payload: dict, gap: float, final: tuple[float, float]) -> None:
    """One run: its command, every snapshot, the CPU seconds to ``gap`` and the final held-out regret."""
    history = payload["training"]["history"]
    print(f"\n{name}, seed {seed}: {payload['training']['command']}")
    print(f"  {'step':>6}{'CPU s':>8}{'regret':>9}")
    for step, cpu, regret in zip(history["step"], history["cpu_seconds"], history["regret"]):
        print(f"  {step:>6}{cpu:>8.0f}{regret:>9.4f}")
    hit = first_reaching(history, gap)
    reached = "not reached" if hit is None else f"step {hit[0]}, {hit[1]:.0f} s CPU"
    print(f"  to a regret of {gap:.4f}: {reached}; final agent held out: {final[0]:.5f} ± {final[1]:.5f}", flush=True)


if __name__ == "__main__":
    main()
