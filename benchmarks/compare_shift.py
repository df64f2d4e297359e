"""Did a change to the simulation engine move any result beyond its bootstrap interval?

``save DIR`` writes ``compare(rnn:NAME, opt:NAME, episodes=500, seed=0)`` for every task with a
shipped agent as ``DIR/NAME.json`` (with its CPU seconds); run it at the old and at the new
commit. ``diff OLD NEW`` prints, per task and direction, D_s and D_o before and after, marks each
new value outside the old 95% bootstrap interval (for bandit tasks D_o is the signed
pseudo-return gap, whose interval it is), and counts those below and above.

    python benchmarks/compare_shift.py save results-old     # at the old commit
    python benchmarks/compare_shift.py save results-new
    python benchmarks/compare_shift.py diff results-old results-new
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

DIRECTIONS = ("a_to_b", "b_to_a")


def save(folder: Path) -> None:
    from simlib import SimlibError, machines, tasks
    from simlib.compare import compare

    folder.mkdir(parents=True, exist_ok=True)
    for name in tasks.names():
        try:
            rnn = machines.load(f"rnn:{name}")
        except SimlibError:
            continue
        start = time.process_time()
        report = compare(rnn, machines.load(f"opt:{name}"), episodes=500, seed=0).to_dict()
        report["cpu_seconds"] = time.process_time() - start
        (folder / f"{name}.json").write_text(json.dumps(report, default=str))
        print(f"{name:<26}{report['cpu_seconds']:7.2f} s CPU", flush=True)


def _value(direction: dict, measure: str) -> float:
    signed = direction.get("d_o_signed") if measure == "d_o" else None
    return direction[measure] if signed is None else signed


def diff(old: Path, new: Path) -> None:
    below = above = inside = 0
    for path in sorted(new.glob("*.json")):
        before, after = json.loads((old / path.name).read_text()), json.loads(path.read_text())
        cells = []
        for direction in DIRECTIONS:
            for measure in ("d_s", "d_o"):
                low, high = before["controls"]["bootstrap"][direction][measure]
                was, now = _value(before[direction], measure), _value(after[direction], measure)
                mark = "" if low <= now <= high else (" BELOW" if now < low else " ABOVE")
                below, above, inside = below + (mark == " BELOW"), above + (mark == " ABOVE"), inside + (not mark)
                cells.append(f"{direction[0]}{direction[-1]} {measure} {was:.4g}->{now:.4g}{mark}")
        cpu = f"{before.get('cpu_seconds', float('nan')):6.2f}->{after.get('cpu_seconds', float('nan')):6.2f} s"
        print(f"{path.stem:<24}{cpu}  " + "  ".join(cells))
    print(f"\n{inside} inside the old 95% interval, {below} below it, {above} above it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("save").add_argument("folder", type=Path)
    between = commands.add_parser("diff")
    between.add_argument("old", type=Path)
    between.add_argument("new", type=Path)
    args = parser.parse_args()
    if args.command == "save":
        save(args.folder)
    else:
        diff(args.old, args.new)


if __name__ == "__main__":
    main()
