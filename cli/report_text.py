"""Plain-text rendering of a comparison report for the terminal."""

from __future__ import annotations

from simlib.tasks import label as task_label


def _num(value: float | None) -> str:
    return "unavailable" if value is None else f"{value:.3g}"


def _interval(bounds: list[float] | None) -> str:
    return "—" if bounds is None else f"[{_num(bounds[0])}, {_num(bounds[1])}]"


def comparison_text(report: dict) -> str:
    """Render ``ComparisonReport.to_dict()`` as a few aligned lines."""
    boot = report["controls"]["bootstrap"]
    shuffled = report["controls"]["shuffled"]
    level = f"{boot['level']:.0%} CI"
    behaviour = report["behaviour"]
    closed_loop = "standard_error" in behaviour
    lines = [
        f"task {task_label(report['task_config'])}   A = {report['a']}   B = {report['b']}",
        f"{report['episodes']} episodes ({report['test_episodes']} held out for scoring), seed {report['seed']}",
        "",
        f"behaviour  {behaviour['metric']} = {_num(behaviour['value'])} {behaviour['units']}"
        + ("" if closed_loop else f"   {level} {_interval(boot['behaviour'])}"),
        *_bandit_lines(behaviour, level),
        "",
        f"{'simulation':<22}{'D_s':>10} {level:>20}{'D_o (' + _o_units(report) + ')':>14} {level:>20}"
        f"{'linear D_s':>12}{'linear D_o':>12}{'shuffled D_s':>14}{'shuffled D_o':>14}",
    ]
    for key, label in (("a_to_b", "A -> B (B simulates A)"), ("b_to_a", "B -> A (A simulates B)")):
        d = report[key]
        lines.append(
            f"{label:<22}{_num(d['d_s']):>10} {_interval(boot[key]['d_s']):>20}{_num(d['d_o']):>12} "
            f"{_interval(_of_absolute(boot[key]['d_o']) if closed_loop else boot[key]['d_o']):>20}"
            f"{_num(d['linear']['d_s']):>12}{_num(d['linear']['d_o']):>12}"
            f"{_num(shuffled[key]['d_s']):>14}{_num(shuffled[key]['d_o']):>14}"
        )
    notes = [
        f"{label}: phi's fit stopped ({report[key]['stopped']}) after {report[key]['fit_steps']} steps,"
        f" validation MSE {_num(report[key]['validation_mse'])}"
        for key, label in (("a_to_b", "A -> B"), ("b_to_a", "B -> A"))
        if not report[key]["converged"]
    ]
    if closed_loop:
        lines += [
            "D_o (reward) is eq. (3), |pseudo-return(original) - pseudo-return(simulated)|, its interval the absolute"
            " values of the signed gap's; the signed gap, and the per-step absolute gaps that cannot cancel:",
            *(
                f"  {arrow}   signed gap {report[key]['d_o_signed']:+.3g} {_interval(boot[key]['d_o'])}"
                f"   sum_t |gap_t| {_num(report[key]['d_o_abs'])} {level} {_interval(boot[key].get('d_o_abs'))}"
                for key, arrow in (("a_to_b", "A -> B"), ("b_to_a", "B -> A"))
                if report[key]["d_o_signed"] is not None
            ),
        ]
    components = report["a_to_b"]["n_components"]
    lines += [
        "",
        *_control_lines(report),
        "",
        f"principal components kept: A {components[0]}, B {components[1]}"
        f" (n_components = {report['settings']['n_components'] or 'smaller state dimension'})",
        *notes,
        *(["", "warnings:", *(f"  ! {w}" for w in report["warnings"])] if report["warnings"] else []),
    ]
    return "\n".join(lines)


def _control_lines(report: dict) -> list[str]:
    """Permutation p-values against the shuffled control, and the closed-form baselines."""
    tests = report["controls"]["p_values"]
    lines = [
        f"p-values vs the shuffled control (paired sign-flip over held-out episodes, {tests['flips']} flips;"
        " small p: phi beats chance):",
        *(
            f"  {arrow}   D_s p = {_p(tests[key]['d_s'])}   D_o p = {_p(tests[key]['d_o'])}"
            for key, arrow in (("a_to_b", "A -> B"), ("b_to_a", "B -> A"))
        ),
    ]
    baselines = ", ".join(f"{name} {_num(value)}" for name, value in report["baselines"].items())
    lines.append(f"baselines on the held-out states: {baselines}  (cka, cca: 1 = alike; procrustes: 0 = alike)")
    return lines


def _of_absolute(bounds: list[float] | None) -> list[float] | None:
    """The interval of ``|x|`` implied by an interval of ``x``: from 0 when it straddles 0."""
    if bounds is None:
        return None
    low, high = sorted(abs(b) for b in bounds)
    return [0.0 if bounds[0] <= 0 <= bounds[1] else low, high]


def _p(value: float | None) -> str:
    return "unavailable" if value is None else f"{value:.2g}"


def _o_units(report: dict) -> str:
    return "reward" if "standard_error" in report["behaviour"] else "nats"


def _bandit_lines(behaviour: dict, level: str) -> list[str]:
    """Signed difference with its interval, standard error, mean returns and per-step Bayes
    regret of a closed-loop comparison."""
    if "standard_error" not in behaviour:
        return []
    returns, regret = behaviour["returns"], behaviour["regret_per_step"]
    lines = [
        f"           signed return(a) - return(b) = {behaviour['difference']:+.3g} {behaviour['units']}"
        f"   {level} of the signed mean {_interval(behaviour['interval'])}",
        f"           standard error {_num(behaviour['standard_error'])}; mean pseudo-return "
        f"A {returns['a']:.4f}, B {returns['b']:.4f}"
    ]
    if regret:
        lines.append(f"           mean Bayes regret per step: A {regret['a']:.4g}, B {regret['b']:.4g}")
    return lines


def fsm_text(spec: str, task: str, summary: dict, out, minimised: bool) -> str:
    """Render an extraction summary."""
    lines = [
        f"{spec} on {task}: {summary['method']} extraction",
        f"states {summary['states']}, transitions {summary['transitions']}, "
        f"output symbols {summary['output_symbols']}; minimised: {summary['minimal_states']} states",
    ]
    if summary.get("method_note"):
        lines.append(summary["method_note"])
    if summary["transition_fidelity"] is not None:
        lines.append(
            f"transition fidelity {summary['transition_fidelity']:.3f}, "
            f"ambiguous (state, input) pairs {summary['ambiguous_transitions']}"
        )
    if out is not None:
        lines.append(f"{'minimised' if minimised else 'extracted'} machine written to {out}")
    return "\n".join(lines)


def injectivity_text(report: dict, top: int) -> str:
    """Render ``InjectivityReport.to_dict()``: both directions, their witnesses, per length."""
    settings = report["settings"]
    components = settings["n_components"] or "the simulation's (smaller state dimension)"
    lines = [
        f"injectivity on {task_label(report['task_config'])}   A = {report['a']}   B = {report['b']}",
        f"{report['histories']} distinct histories ({report['source']}); principal components: {components};"
        f" merged below {settings['merge_tol']:g}, separated from {settings['separate_tol']:g} (whitened, mean squared)",
    ]
    for key in ("a_merges", "b_merges"):
        d = report[key]
        share = f" ({d['separated_pairs'] / d['merged_pairs']:.1%})" if d["merged_pairs"] else ""
        lines += [
            "",
            f"{d['merging']} merges {d['merged_pairs']} pairs; {d['separating']} separates {d['separated_pairs']}{share}",
            f"  D_s floor {_num(d['d_s_floor'])}: what any phi from {d['merging']} to {d['separating']} gets wrong here",
        ]
        if d["witnesses"]:
            gap = d["output_gap"]
            lines.append(
                f"  output gaps of {d['separating']} on the separated pairs (nats): median {_num(gap['median'])},"
                f" 90% {_num(gap['p90'])}, max {_num(gap['max'])}"
            )
            lines.append(f"  widest output gaps of {d['separating']} first (state distance, output gap in nats):")
            width = max(len(w["first"]) for w in d["witnesses"])
            lines += [
                f"    {w['first']:<{width}} | {w['second']}   {_num(w['separated_distance'])}   {_num(w['output_gap'])}"
                for w in d["witnesses"][:top]
            ]
        table = d["per_length"]
        lines.append(f"  {'length':>8}{'histories':>11}{'merged':>10}{'separated':>11}{'D_s floor':>11}")
        lines += [
            f"  {n:>8}{h:>11}{m:>10}{s:>11}{_num(f):>11}"
            for n, h, m, s, f in zip(
                table["length"], table["histories"], table["merged_pairs"], table["separated_pairs"], table["d_s_floor"]
            )
        ]
    return "\n".join(lines)


def training_text(payload: dict, out) -> str:
    """Render the outcome of a training run."""
    info = payload["training"]
    history = info["history"]
    episodes = info["settings"]["eval_episodes"]
    if "kl" in history:
        quality = (
            f"behavioural KL to the Bayes-optimal predictor: {history['kl'][0]:.4g} nats at init, "
            f"{history['kl'][-1]:.4g} nats now (eq. 2, {episodes} held-out episodes)"
        )
    elif "log_loss" in history:
        quality = (
            f"log-loss (no Bayes-optimal predictor for this task): {history['log_loss'][0]:.4g} nats at init, "
            f"{history['log_loss'][-1]:.4g} nats now ({episodes} held-out episodes)"
        )
    else:
        quality = (
            f"expected return (pseudo-reward, {episodes} episodes): {history['return'][0]:.4f} at init, "
            f"{history['return'][-1]:.4f} now; regret to Bayes-optimal {history['regret'][-1]:.4f}"
        )
    return (
        f"{payload['task']['name']}: {info['step']} steps, {info['episodes_seen']:,} episodes on {info['device_type']}, "
        f"{info['wall_seconds']:.0f} s wall, {info['cpu_seconds']:.0f} s CPU\n"
        f"{quality}\n"
        f"checkpoint: {out}  (compare with: simlib compare {out} opt:{payload['task']['name']})"
    )


def reproduce_text(out, files: dict) -> str:
    """Render the medians of ``simlib reproduce``'s results and the files it wrote."""
    import xarray as xr

    from simlib.pipeline.results import median_rows

    with xr.open_dataset(files["results.nc"]) as results:
        rows = median_rows(results.load())
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    table = ["  ".join(cell.rjust(width) if i else cell.ljust(width) for i, (cell, width) in enumerate(zip(row, widths))) for row in rows]
    written = ", ".join(sorted(str(path.relative_to(out)) for path in files.values()))
    return "\n".join(["medians over seeds (init -> final); D in each direction's units", *table, f"written to {out}: {written}"])


def wang_text(out, files: dict) -> str:
    """Where ``simlib reproduce wang2016`` wrote its page, tables and figures."""
    written = ", ".join(sorted(str(path.relative_to(out)) for path in files.values()))
    return f"Wang et al. 2016 reproduced: {out / 'results-wang2016.md'}\nwritten to {out}: {written}"
