"""The source checkout imports as the package: ``python -m pytest`` (which puts the checkout
first on sys.path) tests the same layers as the installed ``pytest`` run."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_the_checkout_on_sys_path_gives_every_layer():
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import simlib, simlib.tasks, simlib.machines, simlib.pipeline, simlib.cli; "
        "print(simlib.__file__); print(simlib.tasks.__file__); print(simlib.machines.load('opt:beta-bernoulli').spec)"
    )
    result = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-1500:]
    core, tasks, spec = result.stdout.split()
    assert Path(core).parent == ROOT / "simlib" and Path(tasks).parent == ROOT / "tasks"
    assert spec == "opt:beta-bernoulli"
