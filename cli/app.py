"""The ``simlib`` command line: parse, call the library, print or write. No analysis here.

Start-up is kept light: torch, xarray, scikit-learn and the registries are imported inside the
commands, so ``simlib --help`` and a mistyped command or option answer in a fraction of a second.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from typer.core import TyperGroup

from simlib.errors import SimlibError
from simlib.io import atomic_path, require_writable_file, require_writable_folder, write_text
from simlib.parsing import natural_number, positive_integer
from simlib.suggest import did_you_mean

if TYPE_CHECKING:
    from simlib.machine import StateMachine
    from simlib.task import Task

MAX_SEED = 2**62
"""simlib.random.MAX_SEED, repeated here so that parsing options needs no torch (a test keeps them equal)."""


class _Commands(TyperGroup):
    """Typer's group, with 'did you mean ...?' for a mistyped command."""

    def resolve_command(self, ctx, args):
        name = args[0] if args else None
        if name is not None and not name.startswith("-") and self.get_command(ctx, name) is None:
            hint = did_you_mean(name, self.list_commands(ctx))
            ctx.fail(f"unknown command {name!r}{hint}; simlib --help lists them")
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="simlib",
    help="Compare state machines: does this recurrent agent compute what that one computes?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_Commands,
)


def _components(value: Optional[str]) -> int | str | None:
    if value is None or value == "full":
        return value
    count = positive_integer(value)
    if count is not None:
        return count
    raise typer.BadParameter(f"expected a positive integer or 'full', got {value!r}", param_hint="--n-components")


def _task(name: Optional[str]) -> Task | None:
    from simlib import tasks as task_registry

    return task_registry.get(name) if name else None


def _seeds(value: Optional[str]) -> tuple[int, ...] | None:
    """``--seeds 0,1,2``: distinct ASCII whole numbers up to MAX_SEED."""
    if value is None:
        return None
    seeds = tuple(natural_number(part.strip()) for part in value.split(","))
    if not seeds or None in seeds or any(seed > MAX_SEED for seed in seeds):
        raise typer.BadParameter(
            f"expected seeds from 0 to {MAX_SEED} separated by commas, got {value!r}", param_hint="--seeds"
        )
    if len(set(seeds)) != len(seeds):
        raise typer.BadParameter(f"a seed is repeated in {value!r}", param_hint="--seeds")
    return seeds


def _load_all(specs: list[str], task: Task | None) -> list[StateMachine]:
    """Load the machines of one comparison; a machine that names no task (a ``py:`` factory's)
    takes the task of the others."""
    from simlib.machines import load

    machines = [load(spec, task) for spec in specs]
    known = task or next((m.task for m in machines if getattr(m, "task", None) is not None), None)
    for spec, machine in zip(specs, machines):
        if getattr(machine, "task", None) is None:
            if known is None:
                raise SimlibError(f"machine {spec!r} names no task and neither do the others; pass --task")
            machine.task = known
    return machines


@app.command("compare")
def compare_command(
    a: Annotated[str, typer.Argument(help="Machine spec A, e.g. history:beta-bernoulli or py:my_agents:make.")],
    b: Annotated[str, typer.Argument(help="Reference machine spec B, e.g. opt:beta-bernoulli.")],
    task: Annotated[Optional[str], typer.Option(help="Task name (default: the machines' own task).")] = None,
    episodes: Annotated[int, typer.Option(min=10, help="Episodes to trace.")] = 500,
    seed: Annotated[
        Optional[int], typer.Option(min=0, max=MAX_SEED, help="Seed for traces, split, phi and controls [0].")
    ] = None,
    seeds: Annotated[
        Optional[str],
        typer.Option(help="Compare once per seed, e.g. 0,1,2, and report each run and mean +- sd (not with --seed)."),
    ] = None,
    n_components: Annotated[
        Optional[str], typer.Option(help="Principal components per machine: an integer, 'full', or the paper's default.")
    ] = None,
    driver: Annotated[
        str, typer.Option(help="Bandit tasks: which machine acts in the simulation traces, 'a' or 'b'.")
    ] = "a",
    threads: Annotated[
        int, typer.Option(min=1, max=1024, help="Torch threads while fitting phi (results differ slightly between counts).")
    ] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
    out: Annotated[
        Optional[Path],
        typer.Option(help="Folder for report.json, traces.nc and figure3.png (with --seeds: one seed-N/ each, seeds.json)."),
    ] = None,
) -> None:
    """Behaviour and approximate simulation in both directions, with controls."""
    components = _components(n_components)
    chosen_seeds = _seeds(seeds)
    if chosen_seeds is not None and seed is not None:
        raise SimlibError("give --seed or --seeds, not both")
    if out is not None:
        require_writable_folder(out)
    chosen = _task(task)
    machine_a, machine_b = _load_all([a, b], chosen)
    options = {
        "episodes": episodes,
        "n_components": components,
        "driver": driver,
        "critic": _critic(machine_a, machine_b),
        "threads": threads,
    }
    if chosen_seeds is not None:
        _compare_seeds(machine_a, machine_b, chosen, chosen_seeds, options, as_json, out)
        return
    from simlib.cli.report_text import comparison_text
    from simlib.compare import compare

    report = compare(machine_a, machine_b, chosen, seed=0 if seed is None else seed, **options)
    summary = report.to_dict()
    if out is not None:
        _write_outputs(report, summary, out)
    typer.echo(json.dumps(summary) if as_json else comparison_text(summary))


def _compare_seeds(a, b, task, seeds: tuple[int, ...], options: dict, as_json: bool, out: Path | None) -> None:
    from simlib.many import compare_seeds

    result = compare_seeds(a, b, task, seeds=seeds, **options)
    summary = result.to_dict()
    if out is not None:
        for report, run in zip(result.reports, summary["runs"]):
            _write_outputs(report, run, out / f"seed-{report.seed}")
        write_text(out / "seeds.json", json.dumps(summary, indent=2) + "\n")
    typer.echo(json.dumps(summary) if as_json else _seeds_text(summary))


def _number(value: float | None) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3g}"


def _seeds_text(summary: dict) -> str:
    """Per-seed figures and mean +- sd across seeds, one aligned line each."""
    from simlib.tasks import label

    first = summary["runs"][0]
    columns = summary["columns"]
    heads = {
        "behaviour": f"behaviour ({summary['behaviour_metric']})",
        "a_to_b_d_s": "A->B D_s",
        "a_to_b_d_o": "A->B D_o",
        "b_to_a_d_s": "B->A D_s",
        "b_to_a_d_o": "B->A D_o",
    }
    rows = [[str(run["seed"]), *(_number(run_values[name]) for name in columns)]
            for run, run_values in zip(summary["runs"], summary["values"])]
    stats = summary["summary"]
    rows.append(["mean ± sd", *(f"{_number(stats[name]['mean'])} ± {_number(stats[name]['sd'])}" for name in columns)])
    table = [["seed", *(heads.get(name, name) for name in columns)], *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = [
        f"task {label(first['task_config'])}   A = {first['a']}   B = {first['b']}",
        f"{len(summary['runs'])} seeds, {first['episodes']} episodes each ({first['test_episodes']} held out); "
        f"A -> B: B simulates A; sd across seeds (n - 1)",
        "",
    ]
    for row in table:
        lines.append("  ".join([row[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(row[1:], widths[1:]))]))
    return "\n".join(lines)


def _critic(a, b):
    """Where the task's family measures Bayes regret and neither machine can score it: the
    task's Bayes-optimal agent, when one can be built (None otherwise, and where compare's own
    choice stands)."""
    from simlib.machines import bayes_optimal
    from simlib.task_family import family_of

    task = a.task
    family = family_of(task)
    if not family.measures_regret or family.critic(a, b) is not None:
        return None
    return bayes_optimal(task)


def _write_outputs(report, summary: dict, out: Path) -> None:
    from simlib.plots import simulation_panel
    from simlib.traces import save_traces

    write_text(out / "report.json", json.dumps(summary, indent=2) + "\n")
    save_traces(report.traces, out / "traces.nc")
    with atomic_path(out / "figure3.png") as temporary:
        simulation_panel(report).savefig(temporary, dpi=120)


MATRIX_SUFFIXES = (".nc", ".csv")  # simlib.many.MATRIX_SUFFIXES, without importing it


@app.command("matrix")
def matrix_command(
    specs: Annotated[
        list[str], typer.Argument(help="Two or more machine specs, e.g. opt:beta-bernoulli rnn:beta-bernoulli.")
    ],
    task: Annotated[Optional[str], typer.Option(help="Task name (default: the machines' own task).")] = None,
    episodes: Annotated[int, typer.Option(min=10, help="Episodes to trace (all machines on the same ones).")] = 500,
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Seed for traces, split and every phi.")] = 0,
    n_components: Annotated[
        Optional[str], typer.Option(help="Principal components per machine: an integer, 'full', or the paper's default.")
    ] = None,
    driver: Annotated[
        Optional[str], typer.Option(help="Bandit tasks: the spec of the machine that acts in the traces [the first].")
    ] = None,
    threads: Annotated[int, typer.Option(min=1, max=1024, help="Torch threads while fitting phi.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the matrices as one JSON object.")] = False,
    out: Annotated[Optional[Path], typer.Option(help="Write the matrices: FILE.nc (netCDF) or FILE.csv.")] = None,
) -> None:
    """D_s, D_o and behaviour between every ordered pair of machines (row simulated by column)."""
    components = _components(n_components)
    if len(specs) < 2:
        raise SimlibError(f"matrix needs at least two machine specs, got {len(specs)}")
    repeated = sorted({spec for spec in specs if specs.count(spec) > 1})
    if repeated:
        raise SimlibError(f"each spec once, please; repeated: {', '.join(repeated)}")
    if driver is not None and driver not in specs:
        raise SimlibError(f"--driver must be one of the specs, not {driver!r}{did_you_mean(driver, specs)}")
    if out is not None:
        if out.suffix.lower() not in MATRIX_SUFFIXES:
            raise SimlibError(f"--out must end in {' or '.join(MATRIX_SUFFIXES)}, got {out.name!r}")
        require_writable_file(out)
    from simlib.many import distance_matrix, matrix_to_dict, save_matrix

    chosen = _task(task)
    machines = dict(zip(specs, _load_all(specs, chosen)))
    dataset = distance_matrix(
        machines, chosen, episodes, seed, n_components=components, driver=driver, threads=threads
    )
    if out is not None:
        save_matrix(dataset, out)
    summary = matrix_to_dict(dataset)
    text = json.dumps(summary) if as_json else _matrix_text(summary)
    if out is not None and not as_json:
        text += f"\nwrote {out}"
    typer.echo(text)


def _matrix_text(summary: dict) -> str:
    """The matrices as aligned tables, rows simulated by columns."""
    from simlib.tasks import label

    names = summary["machines"]
    lines = [
        f"distance matrix on {label(summary['task_config'])}: {len(names)} machines, {summary['episodes']} episodes "
        f"({summary['test_episodes']} held out for scoring), seed {summary['seed']}",
        "row -> column: phi maps the row's states into the column's; low D_s and D_o = the column simulates the row",
    ]
    tables = [
        ("D_s (whitened MSE: 0 perfect, 1 no better than the column's mean state)", summary["d_s"]),
        (f"D_o ({summary['d_o']['measure']})", summary["d_o"]["value"]),
        (f"behaviour {summary['behaviour']['metric']} ({summary['behaviour']['units']})", summary["behaviour"]["value"]),
    ]
    for title, grid in tables:
        cells = [[_number(value) for value in row] for row in grid]
        first = max(len(name) for name in names)
        widths = [max(len(names[j]), *(len(row[j]) for row in cells)) for j in range(len(names))]
        lines += ["", title, "  ".join([" " * first, *(name.rjust(w) for name, w in zip(names, widths))])]
        for name, row in zip(names, cells):
            lines.append("  ".join([name.ljust(first), *(cell.rjust(w) for cell, w in zip(row, widths))]))
    return "\n".join(lines)


FSM_METHODS = ("auto", "exact", "quantised")  # simlib.fsm.from_task.METHODS, without importing it
GRAPH_SUFFIXES = (".graphml", ".gml", ".json")  # what simlib.fsm.write_graph writes


@app.command("fsm")
def fsm_command(
    spec: Annotated[str, typer.Argument(help="Machine spec, e.g. opt:beta-bernoulli or rnn:beta-bernoulli.")],
    task: Annotated[Optional[str], typer.Option(help="Task name (default: the machine's own task).")] = None,
    method: Annotated[
        str,
        typer.Option(help="'auto' (exact if the reachable states fit --max-states, else quantised), "
                          "'exact' (enumerate reachable states) or 'quantised' (k-means)."),
    ] = "auto",
    depth: Annotated[Optional[int], typer.Option(min=0, help="Exact: inputs to enumerate (default: the horizon).")] = None,
    max_states: Annotated[
        int, typer.Option(min=1, help="Exact: most reachable states to enumerate (auto: beyond it, quantise).")
    ] = 100_000,
    clusters: Annotated[
        int, typer.Option(min=1, help="Quantised: number of k-means states (per step, on tasks whose inputs arrive by step).")
    ] = 64,
    episodes: Annotated[int, typer.Option(min=1, help="Quantised: episodes to sample states from.")] = 500,
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Quantised: seed for episodes and k-means.")] = 0,
    out: Annotated[Optional[Path], typer.Option(help="Write the graph: .graphml, .gml or .json.")] = None,
    minimised: Annotated[bool, typer.Option("--minimise/--no-minimise", help="Write the minimised machine.")] = True,
) -> None:
    """Extract a finite Mealy machine, minimise it, optionally write it as a graph."""
    if method not in FSM_METHODS:
        raise typer.BadParameter(
            f"use one of {', '.join(FSM_METHODS)}, not {method!r}{did_you_mean(method, FSM_METHODS)}", param_hint="--method"
        )
    if out is not None:
        if out.suffix.lower() not in GRAPH_SUFFIXES:
            raise SimlibError(f"--out must end in {', '.join(GRAPH_SUFFIXES)}, got {out.name!r}")
        require_writable_file(out)
    from simlib import tasks as task_registry
    from simlib.cli.report_text import fsm_text
    from simlib.fsm import extract_on_task, finite_task, write_graph

    chosen = _task(task)
    (machine,) = _load_all([spec], chosen)
    extraction = extract_on_task(
        machine, machine.task, method, depth=depth, clusters=clusters, episodes=episodes, seed=seed,
        max_states=max_states,
    )
    if out is not None:
        write_graph(extraction.minimal if minimised else extraction.machine, out)
    typer.echo(fsm_text(spec, task_registry.label(finite_task(machine.task)), extraction.summary(), out, minimised))


@app.command("injectivity")
def injectivity_command(
    a: Annotated[str, typer.Argument(help="Machine spec A, e.g. opt:beta-bernoulli.")],
    b: Annotated[str, typer.Argument(help="Machine spec B, e.g. rnn:beta-bernoulli.")],
    task: Annotated[Optional[str], typer.Option(help="Task name (default: the machines' own task).")] = None,
    depth: Annotated[
        Optional[int], typer.Option(min=0, help="Enumerate every history of up to DEPTH observations (finite alphabets).")
    ] = None,
    episodes: Annotated[int, typer.Option(min=1, help="Without --depth: episodes to trace histories from.")] = 500,
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Seed for the traced episodes.")] = 0,
    n_components: Annotated[
        Optional[str], typer.Option(help="Principal components per machine: an integer, 'full', or the simulation's default.")
    ] = None,
    merge_tol: Annotated[float, typer.Option(help="Whitened mean squared distance below which states are merged.")] = 1e-6,
    separate_tol: Annotated[float, typer.Option(help="Whitened mean squared distance from which states are apart.")] = 1e-2,
    top: Annotated[int, typer.Option(min=1, help="Witness pairs to show per direction.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
    figure: Annotated[Optional[Path], typer.Option(help="Write the injectivity figure (PNG) here.")] = None,
) -> None:
    """Histories one machine merges and the other keeps apart, both ways, with witnesses."""
    from simlib.injectivity import injectivity

    components = _components(n_components)
    if figure is not None:
        require_writable_file(figure)
    from simlib.cli.report_text import injectivity_text

    chosen = _task(task)
    machine_a, machine_b = _load_all([a, b], chosen)
    report = injectivity(
        machine_a,
        machine_b,
        chosen,
        depth=depth,
        episodes=episodes,
        seed=seed,
        n_components=components,
        merge_tol=merge_tol,
        separate_tol=separate_tol,
    )
    if figure is not None:
        from simlib.plots import injectivity_figure

        with atomic_path(figure) as temporary:
            injectivity_figure(report).savefig(temporary, dpi=120, format="png")
    summary = report.to_dict(top)
    typer.echo(json.dumps(summary) if as_json else injectivity_text(summary, top))


@app.command("train")
def train_command(
    task: Annotated[str, typer.Argument(help="Task to meta-train on, e.g. beta-bernoulli or bernoulli-bandit.")],
    steps: Annotated[Optional[int], typer.Option(min=1, help="Optimiser steps, one fresh batch each [4000 | 2000].")] = None,
    batch: Annotated[Optional[int], typer.Option(min=1, help="Episodes per batch [256].")] = None,
    lr: Annotated[
        Optional[float], typer.Option(min=0.0, help="Peak Adam learning rate, warm-up then cosine [3e-3 | 1e-3].")
    ] = None,
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Seeds the initial weights and the training episodes.")] = 0,
    hidden: Annotated[Optional[int], typer.Option(min=1, help="Width N of every layer [32 | 256].")] = None,
    layers: Annotated[Optional[int], typer.Option(min=1, max=8, help="Stacked LSTM layers [1].")] = None,
    skip_inputs: Annotated[
        Optional[bool],
        typer.Option("--skip-inputs", help="Stacked layers above the first also read the input (Wang's two-LSTM agent) [off]."),
    ] = None,
    snapshot_every: Annotated[
        Optional[int], typer.Option(min=1, help="Steps between snapshots and resumable checkpoints [200 | 250].")
    ] = None,
    entropy: Annotated[
        Optional[float], typer.Option(min=0.0, help="Bandits: initial entropy bonus, annealed to 0 [0.01].")
    ] = None,
    trace_decay: Annotated[
        Optional[float], typer.Option(min=0.0, max=1.0, help="Bandits: GAE lambda, 1 = Monte Carlo [1.0].")
    ] = None,
    estimator: Annotated[
        Optional[str], typer.Option(help="Bandits: 'expected' (variance-reduced) or 'a2c' (plain) [expected].")
    ] = None,
    critic_hidden: Annotated[
        Optional[int], typer.Option(min=1, help="Bandits: width of the critic's hidden layers [256].")
    ] = None,
    discount: Annotated[
        Optional[float],
        typer.Option(min=0.0, max=1.0, help="Bandits: the training discount (the task's objective is unchanged) [the task's]."),
    ] = None,
    per_step_critic: Annotated[
        Optional[bool],
        typer.Option("--per-step-critic", help="Bandits: the critic predicts a return per remaining step [off]."),
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda[:N].")] = "auto",
    threads: Annotated[
        Optional[int], typer.Option(min=1, help="Torch threads on the CPU [1 | torch's default].")
    ] = None,
    out: Annotated[Optional[Path], typer.Option(help="Checkpoint to write (default: TASK.pt); resumed if unfinished.")] = None,
    final_only: Annotated[
        bool,
        typer.Option("--final-only", help="When finished, keep only the final snapshot (@init is rebuilt from the seed)."),
    ] = False,
    progress: Annotated[bool, typer.Option("--progress/--quiet", help="Show a progress line on stderr.")] = True,
) -> None:
    """Meta-train the paper's LSTM agent and write a checkpoint with snapshots.

    Prediction tasks: log-loss and Adam (defaults before the bar). Bandit tasks: batched
    actor-critic on the expected return (defaults after the bar).
    """
    from simlib import tasks as task_registry
    from simlib.cli.report_text import training_text
    from simlib.machines import keep_final_snapshot, save_checkpoint
    from simlib.training.recipes import settings_class, train

    chosen = task_registry.get(task)
    out = out if out is not None else Path(f"{task}.pt")
    if out.suffix != ".pt":
        raise SimlibError(f"--out must name a .pt file, got {out}")
    require_writable_file(out)
    _require_device(device)
    given = {
        "steps": steps, "batch": batch, "lr": lr, "hidden": hidden, "snapshot_every": snapshot_every, "entropy": entropy,
        "trace_decay": trace_decay, "estimator": estimator, "discount": discount, "critic_hidden": critic_hidden,
        "per_step_critic": per_step_critic, "layers": layers, "skip_inputs": skip_inputs,
    }
    options = {"seed": seed, **{key: value for key, value in given.items() if value is not None}}
    accepted = {field.name for field in fields(settings_class(chosen))}
    foreign = [f"--{key.replace('_', '-')}" for key in options if key not in accepted]
    if foreign:
        raise SimlibError(f"{', '.join(foreign)} do not apply to {task}'s trainer; see simlib train --help")
    settings = settings_class(chosen)(**options)
    payload = train(chosen, settings, out, device=device, threads=threads, progress=progress)
    if final_only:
        payload = keep_final_snapshot(payload)
        save_checkpoint(payload, out)
    typer.echo(training_text(payload, out))


PAPERS = ("mikulik2020", "wang2016")


@app.command("reproduce")
def reproduce_command(
    paper: Annotated[
        str, typer.Argument(help="mikulik2020 (meta-trained agents implement Bayes-optimal agents) or wang2016 (bandits, MDPs).")
    ] = "mikulik2020",
    tasks: Annotated[
        Optional[str], typer.Option(help="Comma-separated task names or groups: all, prediction, bandit [all].")
    ] = None,
    seeds: Annotated[
        Optional[int],
        typer.Option(min=1, help="Training runs (seeds 0..S-1) per task [10 | quick 2]; wang2016: per Harlow architecture [5 | 1]."),
    ] = None,
    episodes: Annotated[Optional[int], typer.Option(min=10, help="Episodes per comparison [500 | quick 100].")] = None,
    steps: Annotated[
        Optional[int], typer.Option(min=1, help="Override every recipe's training steps [shipped recipes | quick 30].")
    ] = None,
    widths: Annotated[
        Optional[str], typer.Option(help="Reduced-memory widths N, comma-separated, 'none' to skip [1,2,4 | quick 2].")
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda[:N].")] = "auto",
    threads: Annotated[Optional[int], typer.Option(min=1, help="Torch threads on the CPU (phi fits: 1 unless given).")] = None,
    out: Annotated[Path, typer.Option(help="Output folder; an interrupted run resumes from it.")] = Path("reproduce"),
    quick: Annotated[bool, typer.Option("--quick", help="Fewer seeds, episodes and steps: minutes on a CPU.")] = False,
    train: Annotated[
        bool, typer.Option("--train/--no-train", help="Train missing runs, or use only the runs already in --out.")
    ] = True,
    backend: Annotated[
        str, typer.Option(help="inprocess (one job after another here) or ray (each job a Ray task) [inprocess].")
    ] = "inprocess",
    address: Annotated[
        Optional[str], typer.Option(help="--backend ray: a running cluster's address (default: start a local instance).")
    ] = None,
    gpus_per_job: Annotated[
        Optional[float],
        typer.Option(min=0.01, max=1.0, help="--backend ray: the share of a GPU each job on a GPU asks for [1]."),
    ] = None,
) -> None:
    """Reproduce a paper. mikulik2020: train every task's agents over seeds, compare init and final
    with Opt in both directions, write results.nc/.csv, Figure 4 and Figures 1-3 per task.
    wang2016: Wang et al.'s bandit and MDP experiments with exact Bayes-optimal yardsticks (results-wang2016.md)."""
    if paper not in PAPERS:
        raise SimlibError(f"unknown paper {paper!r}{did_you_mean(paper, PAPERS)}; use one of {', '.join(PAPERS)}")
    require_writable_folder(out)
    _require_device(device)
    executor = _executor(backend, address, gpus_per_job)
    if paper == "wang2016":
        if tasks is not None or widths is not None or not train:
            raise SimlibError("--tasks, --widths and --no-train apply to mikulik2020 only")
        _reproduce_wang(episodes, steps, seeds, device, threads, out, quick, executor)
        return
    chosen_widths = _widths(widths)
    from simlib.cli.report_text import reproduce_text
    from simlib.pipeline.mikulik2020 import Reproduction, ReproduceSettings, select_tasks

    chosen = {
        "tasks": select_tasks(tasks.split(",") if tasks is not None else None),
        "seeds": seeds,
        "episodes": episodes,
        "steps": steps,
        "widths": chosen_widths,
        "device": device,
        "threads": threads,
        "train": train,
    }
    given = {key: value for key, value in chosen.items() if value is not None}
    settings = ReproduceSettings.quick(**given) if quick else ReproduceSettings(**given)
    files = Reproduction(settings, out, log=lambda line: typer.echo(line, err=True), executor=executor).run()
    typer.echo(reproduce_text(out, files))


BACKENDS = ("inprocess", "ray")


def _executor(backend: str, address: str | None, gpus_per_job: float | None):
    """The executor ``--backend`` names (``--address`` and ``--gpus-per-job`` only with ray)."""
    if backend not in BACKENDS:
        raise SimlibError(f"unknown backend {backend!r}{did_you_mean(backend, BACKENDS)}; use one of {', '.join(BACKENDS)}")
    if backend == "inprocess":
        if address is not None or gpus_per_job is not None:
            raise SimlibError("--address and --gpus-per-job apply to --backend ray only")
        from simlib.pipeline.execute import InProcessExecutor

        return InProcessExecutor()
    from simlib.pipeline.ray_executor import RayExecutor

    return RayExecutor(address=address, gpu_fraction=1.0 if gpus_per_job is None else gpus_per_job)


def _reproduce_wang(
    episodes: int | None, steps: int | None, seeds: int | None, device: str, threads: int | None, out: Path, quick: bool,
    executor,
) -> None:
    from simlib.cli.report_text import wang_text
    from simlib.pipeline.wang2016 import WangReproduction, WangSettings

    given = {key: value for key, value in {"episodes": episodes, "steps": steps, "harlow_seeds": seeds}.items()
             if value is not None}
    given.update(device=device, threads=threads)
    settings = WangSettings.quick(**given) if quick else WangSettings(**given)
    files = WangReproduction(settings, out, log=lambda line: typer.echo(line, err=True), executor=executor).run()
    typer.echo(wang_text(out, files))


def _widths(value: Optional[str]) -> tuple[int, ...] | None:
    if value is None:
        return None
    if value == "none":
        return ()
    parts = value.split(",")
    widths = tuple(positive_integer(part.strip()) for part in parts)
    if None in widths:
        raise typer.BadParameter(f"expected positive integers separated by commas, got {value!r}", param_hint="--widths")
    return widths


@app.command("converge")
def converge_command(
    runs: Annotated[list[str], typer.Argument(help="Training runs of one task: checkpoint PATH.pt or rnn:TASK.")],
    episodes: Annotated[int, typer.Option(min=1, help="Episodes per snapshot for the within-episode dissimilarity.")] = 500,
    distance_episodes: Annotated[
        int, typer.Option(min=1, help="Episodes per machine for the pairwise behavioural distances.")
    ] = 200,
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, help="Seeds the sampled episodes and the MDS embedding.")] = 0,
    device: Annotated[str, typer.Option(help="Where the pairwise divergences run: auto, cpu or cuda[:N].")] = "auto",
    out: Annotated[
        Optional[Path], typer.Option(help="Folder for convergence.nc and figure2.png [converge-TASK].")
    ] = None,
) -> None:
    """Convergence over training (paper Figure 2): every snapshot of every run against Opt."""
    from simlib.convergence import analyse, save_convergence, summary
    from simlib.machines import require_bayes_optimal
    from simlib.machines.runs import load_runs
    from simlib.plots import convergence_figure

    _require_device(device)
    loaded = load_runs(runs)
    out = require_writable_folder(out if out is not None else Path(f"converge-{loaded.task.name}"))
    reference = require_bayes_optimal(loaded.task)
    dataset = analyse(
        loaded.task,
        loaded.runs,
        reference,
        loaded.histories,
        episodes=episodes,
        distance_episodes=distance_episodes,
        seed=seed,
        device=device,
        log=lambda line: typer.echo(line, err=True),
    )
    save_convergence(dataset, out / "convergence.nc")
    with atomic_path(out / "figure2.png") as temporary:
        convergence_figure(dataset).savefig(temporary, dpi=120)
    typer.echo(_converge_text(dataset, summary(dataset), out))


def _converge_text(dataset, rows: dict[str, dict], out: Path) -> str:
    """The converge summary: per run, first -> last snapshot."""
    attrs = dataset.attrs
    lines = [
        f"convergence on {attrs['task']}: {len(rows)} run(s) against opt; {attrs['episodes']} episodes per "
        f"snapshot, {attrs['distance_episodes']} for distances, seed {attrs['seed']}",
        f"  within: {attrs['within_measure']}, summed over the episode ({attrs['within_units']})",
        f"  distance to opt: {attrs['distance_measure']} ({attrs['distance_units']})",
        f"  {'run':<12}{'steps':>14}{'within, first -> last':>28}{'distance, first -> last':>28}",
    ]
    for run, row in rows.items():
        steps = f"{row['first_step']} -> {row['last_step']}"
        within = f"{row['within_first']:.4g} -> {row['within_last']:.4g}"
        distance = f"{row['distance_first']:.4g} -> {row['distance_last']:.4g}"
        lines.append(f"  {run:<12}{steps:>14}{within:>28}{distance:>28}")
    lines.append(f"wrote {out / 'convergence.nc'} and {out / 'figure2.png'}")
    return "\n".join(lines)


@app.command("tasks")
def tasks_command() -> None:
    """List the registered tasks."""
    from simlib import tasks as task_registry

    for name in task_registry.names():
        typer.echo(f"{name:<28}{task_registry.summary(name)}")


@app.command("machines")
def machines_command() -> None:
    """List the machine specs that can be loaded (and py:MODULE:FACTORY, a user's machine)."""
    from simlib.machines import specs

    for spec, summary in specs():
        typer.echo(f"{spec:<32}{summary}")


def _is_usage_error(error: Exception) -> bool:
    """Click's and Typer's parse errors (their classes differ between Typer versions)."""
    return hasattr(error, "format_message") and hasattr(error, "exit_code")


def _require_device(name: str) -> None:
    """Refuse an unknown or absent ``--device`` before any work (training logs to stderr)."""
    from simlib.device import resolve_device

    resolve_device(name)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: user errors become one stderr line and exit code 2."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="simlib", standalone_mode=False)
    except SimlibError as error:
        print(f"simlib: error: {error}", file=sys.stderr)
        code = 2
    except MemoryError:
        print("simlib: error: out of memory: use fewer episodes or a smaller width", file=sys.stderr)
        code = 2
    except RuntimeError as error:
        if "allocate" not in str(error):
            raise
        print("simlib: error: out of memory (torch could not allocate a tensor): use fewer episodes or a smaller width",
              file=sys.stderr)
        code = 2
    except OSError as error:  # the disk filled up or a file vanished mid-run: still one line
        where = f": {error.filename}" if error.filename else ""
        print(f"simlib: error: {error.strerror or error}{where}", file=sys.stderr)
        code = 2
    except Exception as error:
        if type(error).__name__ == "Abort":
            print("simlib: aborted", file=sys.stderr)
            code = 1
        elif _is_usage_error(error):
            message = " ".join(error.format_message().split())
            if message:
                print(f"simlib: error: {message}", file=sys.stderr)
            code = 2 if message else 0  # a bare `simlib` has printed its help
        else:
            raise
    code = code if isinstance(code, int) else 0
    if argv is None:
        sys.exit(code)
    return code
