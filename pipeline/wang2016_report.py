"""Tables, figures and the results page of ``simlib reproduce wang2016``, from its output folder."""

from __future__ import annotations

import csv
import io
import json
import platform
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import simlib
from simlib.io import write_text
from simlib.machines.checkpoint import read_checkpoint
from simlib.pipeline.cache import read_dataset
from simlib.pipeline.figures import save_figure
from simlib.pipeline.wang2016_design import (
    AGENT_TASKS,
    HARLOW,
    INFORMATIVE,
    RESTLESS,
    SHORT,
    STRUCTURED,
    TRAINING_VOLATILITY_GAP,
    TWO_STEP,
)
from simlib.pipeline.wang2016_jobs import run_path
from simlib.pipeline.wang2016_harlow import section as harlow_section
from simlib.pipeline.wang2016_machines import PROBLEMS, machine_lines
from simlib.pipeline.wang2016_maze import section as maze_section
from simlib.pipeline.wang2016_two_step import section as two_step_section
from simlib.plots.bandit_curves import choice_shares, learning_rate_scatter, pull_raster, regret_curves, regret_matrix
from simlib.rescorla_wagner_fit import learning_rate_regression

if TYPE_CHECKING:
    from simlib.pipeline.wang2016 import WangSettings


def write_report(out: Path, settings: WangSettings, seconds: float) -> dict[str, Path]:
    """Every table, figure and the page from the evaluations in ``out`` (the curves, the
    comparisons and Figures 2b, 3, 4c, 5, 6 and 7's data), made with ``settings`` in ``seconds``."""
    files: dict[str, Path] = {}
    curves = {test: _curves_of(out, test) for test in (*STRUCTURED, INFORMATIVE, RESTLESS)}
    raster, choices, fit = (read_dataset(out / f"{name}.nc") for name in ("raster", "choices", "fit"))
    panels = {
        "2a: independent arms (D_i)": _panel(curves["independent-bandit"], "independent-bandit"),
        "2c: dependent uniform (D_u)": _panel(curves["dependent-bandit"], "dependent-bandit"),
        "2d: trained on D_m, tested on D_e": _panel(curves["dependent-bandit-easy"], "dependent-bandit-medium"),
        "2e: trained on D_m, tested on D_h": _panel(curves["dependent-bandit-hard"], "dependent-bandit-medium"),
        "4b: restless bandit": _panel(curves[RESTLESS], RESTLESS),
    }
    files["figure2"] = save_figure(regret_curves(panels, highlight="rnn"), out / "figure2.png")
    files["figure2b"] = save_figure(
        pull_raster(raster["suboptimal"].values, "2b: suboptimal pulls, rnn trained and tested on D_m"), out / "figure2b.png"
    )
    matrix = np.array([[_final(curves[test][f"rnn:{train}"]) for test in STRUCTURED] for train in STRUCTURED])
    opt_row = np.array([_final(curves[test]["opt"]) for test in STRUCTURED])
    names = [SHORT[n] for n in STRUCTURED]
    files["figure2f"] = save_figure(regret_matrix(matrix, names, names, opt_row, "opt"), out / "figure2f.png")
    files["figure3"] = save_figure(choice_shares(choices["share"], choices["regret"]), out / "figure3.png")
    regressions, groups = _regressions(fit)
    volatility = fit["volatility"].values
    fits = {label: fit[f"{label}_alpha"].values for label in ("rnn", "opt")}
    files["figure4c"] = save_figure(learning_rate_scatter(volatility, fits, groups), out / "figure4c.png")
    rows = _regret_rows(curves)
    files["regret"] = _csv(out / "regret.csv", rows)
    cross = [{"trained": SHORT[t], "tested": SHORT[s], "regret": matrix[i, j]} for i, t in enumerate(STRUCTURED)
             for j, s in enumerate(STRUCTURED)] + [{"trained": "opt", "tested": SHORT[s], "regret": opt_row[j]}
                                                    for j, s in enumerate(STRUCTURED)]
    files["cross"] = _csv(out / "cross.csv", cross)
    comparisons = [_comparison_row(json.loads((out / "compare" / f"{name}-{stage}.json").read_text()), stage)
                   for name in AGENT_TASKS for stage in ("init", "final")]
    files["compare"] = _csv(out / "compare.csv", comparisons)
    files["simulation"] = save_figure(_simulation_figure(comparisons), out / "simulation.png")
    files["fit"] = _csv(out / "fit.csv", [{"agent": a, "episodes": g, **r} for (a, g), r in regressions.items()])
    machines = {name: machine_lines(json.loads((out / f"fsm-{name}.json").read_text())) for name in PROBLEMS}
    files["figure5"], two_step = two_step_section(out, read_dataset(out / "stays.nc"))
    files["figure6"], harlow = harlow_section(out, read_dataset(out / "harlow.nc"))
    files["figure7"], maze = maze_section(out, read_dataset(out / "maze.nc"))
    page = _page(out, provenance(settings, seconds), rows, matrix, opt_row, choices, regressions, comparisons,
                 [*two_step, *machines[TWO_STEP], *harlow, *machines[HARLOW], *maze])
    files["page"] = write_text(out / "results-wang2016.md", page)
    return files


def provenance(settings: WangSettings, seconds: float) -> dict:
    """The settings, simlib version, CPU, Python and wall time the page reports."""
    return {
        "settings": asdict(settings),
        "simlib": simlib.__version__,
        "machine": _cpu(),
        "python": platform.python_version(),
        "seconds": round(seconds, 1),
    }


def _cpu() -> str:
    """The CPU model and core count (Linux), else the platform's machine name."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.machine()
    models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return f"{models[0]}, {len(models)} cores" if models else platform.machine()


def _curves_of(out: Path, test: str) -> dict:
    found = {}
    for path in sorted((out / "curves" / test).glob("*.nc")):
        data = read_dataset(path)
        found[data.attrs["agent"]] = data
    return found


def _panel(curves: dict, trained: str) -> dict:
    return {("rnn" if label.startswith("rnn") else label): data for label, data in curves.items()
            if not label.startswith("rnn") or label == f"rnn:{trained}"}


def _final(data) -> float:
    return float(data["cumulative_regret"].values[-1])


def _csv(path: Path, rows: list[dict]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return write_text(path, buffer.getvalue())


def _regret_rows(curves: dict) -> list[dict]:
    rows = []
    for test, by_agent in curves.items():
        for label, data in by_agent.items():
            if label.startswith("rnn") and label != f"rnn:{test}":
                continue
            rows.append({
                "task": test,
                "agent": label,
                "episodes": int(data.attrs["episodes"]),
                "return": data.attrs["return"],
                "return_se": data.attrs["return_se"],
                "cumulative_regret": _final(data),
                "cumulative_regret_se": float(data["cumulative_regret_se"].values[-1]),
            })
    return rows


def _regressions(fit) -> tuple[dict, dict]:
    nu = fit["volatility"].values
    low, high = TRAINING_VOLATILITY_GAP
    outside = (nu > low) & (nu < high)
    groups = {"in training range": ~outside, "out of sample (2/30, 4/30)": outside}
    results = {}
    for label in ("rnn", "opt"):
        alpha = fit[f"{label}_alpha"].values
        for group, mask in groups.items():
            if mask.sum() >= 3 and np.ptp(nu[mask]) > 0:
                results[(label, group)] = learning_rate_regression(alpha[mask], nu[mask])
    return results, groups


def _comparison_row(report: dict, stage: str) -> dict:
    behaviour = report["behaviour"]
    return {
        "task": report["task"],
        "stage": stage,
        "return_gap": behaviour["value"],
        "return_gap_se": behaviour.get("standard_error"),
        "rnn_return": behaviour.get("returns", {}).get("a"),
        "opt_return": behaviour.get("returns", {}).get("b"),
        "rnn_bayes_regret_per_step": behaviour.get("regret_per_step", {}).get("a"),
        "d_s_rnn_to_opt": report["a_to_b"]["d_s"],
        "d_o_rnn_to_opt": report["a_to_b"]["d_o"],
        "d_s_opt_to_rnn": report["b_to_a"]["d_s"],
        "d_o_opt_to_rnn": report["b_to_a"]["d_o"],
        "shuffled_d_s_rnn_to_opt": report["controls"]["shuffled"]["a_to_b"]["d_s"],
        "shuffled_d_s_opt_to_rnn": report["controls"]["shuffled"]["b_to_a"]["d_s"],
    }


def _simulation_figure(comparisons: list[dict]):
    """Mikulik et al.'s Figure 4 layout for the Wang tasks: behaviour and both directions, init beside final."""
    import xarray as xr
    from matplotlib.figure import Figure

    from simlib.plots import figure4

    names = list(dict.fromkeys(row["task"] for row in comparisons))
    columns = {"behaviour": "return_gap", "rnn_to_opt_d_s": "d_s_rnn_to_opt", "rnn_to_opt_d_o": "d_o_rnn_to_opt",
               "opt_to_rnn_d_s": "d_s_opt_to_rnn", "opt_to_rnn_d_o": "d_o_opt_to_rnn"}
    value = np.full((len(names), 1, 2, len(columns)), np.nan)
    for row in comparisons:
        value[names.index(row["task"]), 0, ("init", "final").index(row["stage"])] = [row[c] for c in columns.values()]
    values = xr.DataArray(value, dims=("task", "seed", "stage", "measure"),
                          coords={"task": names, "seed": [0], "stage": ["init", "final"], "measure": list(columns)})
    figure = figure4(values, Figure(figsize=(15, 0.42 * len(names) + 1.6), layout="constrained"))
    figure.suptitle("Wang et al.'s tasks: meta-trained LSTM vs exact Bayes-optimal agent (Mikulik et al.'s Figure 4 layout)")
    return figure


def _agent_rows(out: Path) -> list[str]:
    rows = []
    for name in AGENT_TASKS:
        training = read_checkpoint(run_path(out, name))["training"]
        rows.append(f"| rnn:{name} | `{training['command']}` | {training['history']['cpu_seconds'][-1]:.0f} |")
    return rows


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    return f"{value:.{digits}g}" if abs(value) < 1e4 else f"{value:.3e}"


def _page(out: Path, provenance: dict, rows, matrix, opt_row, choices, regressions, comparisons, mdps) -> str:
    settings = provenance["settings"]
    lines = [
        "# Wang et al. 2016's tasks against exact Bayes-optimal agents",
        "",
        "Made by `simlib reproduce wang2016` "
        + ("" if settings["steps"] is None else f"(agents retrained with {settings['steps']} steps) ")
        + f"with simlib {provenance['simlib']} on {provenance['machine']}, Python {provenance['python']}, "
        f"in {provenance['seconds']:.0f} s (evaluations resumed from the output folder count only their own time). "
        f"Regret curves: {settings['episodes']} episodes per agent and task (Wang: 150), seed 0, paired across agents.",
        "",
        "Choices where Wang leaves something open: the restless walk's volatility is its standard deviation per "
        "trial (a variance of up to 0.2 would redraw p1 almost every pull), p1 starts uniform on [0, 1]; the "
        "informative arm's reward is one-hot over the 11 distinct payouts; inputs are the previous reward, the "
        "one-hot previous action and t / T. In the two-step task the agent also acts at the second stage, where "
        "either action collects the state's reward (Wang's second-stage states have no choice); its input adds the "
        "one-hot state. Harlow's images are random feature vectors and its saccades single actions, its maze a "
        "13-cell I-maze seen through a 5 x 5 window (the docstrings of `simlib.tasks.harlow` and `simlib.tasks.maze` "
        "list every simplification). The objective is the undiscounted return; agents were trained with the "
        "discount their checkpoints record.",
        "",
        "## The agents",
        "",
        "| agent | trained by | training CPU s |",
        "|---|---|---|",
        *_agent_rows(out),
        "",
        "## Cumulative regret at the last trial (Figures 2a, 2c–e, 3, 4b)",
        "",
        "Wang's claims: on D_i the meta-RL agent beats Thompson and UCB but not Gittins; on structured tasks it is "
        "comparable to Gittins; on the informative-arm task it pulls the informative arm first; on the restless "
        "bandit it beats Thompson, UCB and R–W.",
        "",
        "| task | agent | return | cumulative regret ± SE |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['task']} | {r['agent']} | {r['return']:.3f} | {r['cumulative_regret']:.3f} ± {r['cumulative_regret_se']:.3f} |"
              for r in rows]
    lines += ["", "![Figure 2](figure2.png)", "", "![Figure 2b](figure2b.png)", "",
              "## Figure 2f: trained on each distribution, tested on each", "",
              "Wang: agents trained on structured distributions do well on structured tests and poorly on D_i, and "
              "vice versa; training on D_e and D_m generalises to D_h.", "",
              "| trained \\ tested | " + " | ".join(SHORT[n] for n in STRUCTURED) + " |",
              "|---" * (len(STRUCTURED) + 1) + "|"]
    for i, name in enumerate(STRUCTURED):
        lines.append(f"| {SHORT[name]} | " + " | ".join(f"{v:.2f}" for v in matrix[i]) + " |")
    lines.append("| **opt** | " + " | ".join(f"{v:.2f}" for v in opt_row) + " |")
    lines += ["", "![Figure 2f](figure2f.png)", "", "## Figure 3: the informative arm", "",
              "Share of episodes pulling the informative arm at trial 1, and each agent's regret over the 5 trials:", "",
              "| agent | informative at trial 1 | target at trials 2–5 | regret |", "|---|---|---|---|"]
    for agent in choices["agent"].values:
        share = choices["share"].sel(agent=agent)
        lines.append(f"| {agent} | {float(share.sel(choice='informative')[0]):.3f} | "
                     f"{float(share.sel(choice='target')[1:].mean()):.3f} | {float(choices['regret'].sel(agent=agent)):.3f} |")
    lines += ["", "![Figure 3](figure3.png)", "", "## Figure 4c: the learning rate follows the volatility", "",
              "A softmax Rescorla–Wagner model (learning rate, inverse temperature) fitted by maximum likelihood to "
              f"each of {settings['fit_episodes']} episodes of `restless-bandit-test` (volatility ~ U[0, 6/30]); "
              "learning rate regressed on the volatility. Wang: R² = 0.24 in sample, 0.05 out of sample.", "",
              "| agent | episodes | slope | R² | p | n |", "|---|---|---|---|---|---|"]
    for (agent, group), r in regressions.items():
        lines.append(f"| {agent} | {group} | {_fmt(r['slope'])} | {_fmt(r['r2'])} | {_fmt(r['p_value'])} | {r['n']} |")
    lines += ["", "![Figure 4c](figure4c.png)", "", *mdps, "## `simlib compare rnn:TASK opt:TASK`, untrained beside trained", "",
              "Behaviour: |return(rnn) − return(opt)| with its paired SE; D_s, D_o on held-out episodes "
              "(D_o: the pseudo-return gap along the traced stream); shuffled: the chance level of D_s.", "",
              "| task | stage | return gap ± SE | rnn Bayes regret/step | D_s rnn→opt | D_o rnn→opt | D_s opt→rnn | D_o opt→rnn | shuffled D_s |",
              "|---|---|---|---|---|---|---|---|---|"]
    for c in comparisons:
        lines.append(
            f"| {c['task']} | {c['stage']} | {_fmt(c['return_gap'])} ± {_fmt(c['return_gap_se'], 2)} | "
            f"{_fmt(c['rnn_bayes_regret_per_step'])} | {_fmt(c['d_s_rnn_to_opt'])} | {_fmt(c['d_o_rnn_to_opt'])} | "
            f"{_fmt(c['d_s_opt_to_rnn'])} | {_fmt(c['d_o_opt_to_rnn'])} | {_fmt(c['shuffled_d_s_rnn_to_opt'])} |"
        )
    lines += ["", "![behaviour and simulation](simulation.png)", "", "Data: `regret.csv`, `cross.csv`, `compare.csv`, `fit.csv`, `curves/*/*.nc`, `raster.nc`, "
              "`choices.nc`, `fit.nc`, `stays.nc`, `harlow.nc`, `maze.nc`, `fsm-two-step.json`, `fsm-harlow.json`.", ""]
    return "\n".join(lines)
