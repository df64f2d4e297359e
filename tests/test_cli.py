"""The simlib command line: outputs, files, and one-line errors with exit code 2."""

import json
import shutil
import subprocess

import networkx as nx
import pytest

from simlib import machines
from simlib.cli.app import main
from simlib.compare import compare


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_compare_json_equals_the_library_report(capsys):
    code, out, err = run(capsys, "compare", "history:beta-bernoulli", "opt:beta-bernoulli", "--episodes", "100", "--json")
    assert code == 0 and err == ""
    expected = compare(
        machines.load("history:beta-bernoulli"), machines.load("opt:beta-bernoulli"), episodes=100, seed=0
    ).to_dict()
    assert json.loads(out) == expected


def test_compare_text_and_out_folder(capsys, tmp_path):
    out_dir = tmp_path / "run"
    code, out, _ = run(
        capsys, "compare", "posterior:beta-bernoulli", "opt:beta-bernoulli", "--episodes", "60", "--out", str(out_dir)
    )
    assert code == 0
    assert "A -> B (B simulates A)" in out and "behaviour" in out
    assert sorted(p.name for p in out_dir.iterdir()) == ["figure3.png", "report.json", "traces.nc"]
    assert (out_dir / "figure3.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out_dir / "report.json").read_text())["b"] == "opt:beta-bernoulli"


def test_compare_with_an_explicit_task_and_components(capsys):
    code, out, _ = run(
        capsys, "compare", "history:beta-bernoulli", "opt:beta-bernoulli",
        "--task", "beta-bernoulli", "--episodes", "60", "--n-components", "full", "--json",
    )
    assert code == 0 and json.loads(out)["a_to_b"]["n_components"][0] > 2


def test_listings(capsys):
    code, out, _ = run(capsys, "tasks")
    assert code == 0 and out.startswith("beta-bernoulli")
    code, out, _ = run(capsys, "machines")
    assert code == 0 and "opt:beta-bernoulli" in out and "history:beta-bernoulli" in out


def test_fsm_exact_and_written_graph(capsys, tmp_path):
    target = tmp_path / "history.graphml"
    code, out, _ = run(capsys, "fsm", "history:beta-bernoulli", "--depth", "8", "--out", str(target))
    assert code == 0
    assert "states 512" in out and "minimised: 46 states" in out
    graph = nx.read_graphml(target)
    assert graph.number_of_nodes() == 46


def test_fsm_quantised(capsys):
    code, out, _ = run(capsys, "fsm", "opt:beta-bernoulli", "--method", "quantised", "--clusters", "8", "--episodes", "50")
    assert code == 0 and "transition fidelity" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["compare", "nope:beta-bernoulli", "opt:beta-bernoulli"],
        ["compare", "opt:beta-bernoulli", "opt:no-such-task"],
        ["compare", "opt:beta-bernoulli", "opt:beta-bernoulli", "--task", "no-such-task"],
        ["compare", "opt:beta-bernoulli", "opt:beta-bernoulli", "--episodes", "3"],
        ["compare", "opt:beta-bernoulli", "opt:beta-bernoulli", "--n-components", "many"],
        ["compare", "opt:beta-bernoulli"],
        ["compare", "opt:beta-bernoulli", "opt:beta-bernoulli", "--bogus"],
        ["fsm", "opt:beta-bernoulli", "--method", "magic"],
        ["fsm", "history:beta-bernoulli"],
        ["fsm", "opt:beta-bernoulli", "--out", "graph.txt"],
        ["frobnicate"],
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(capsys, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("simlib: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_console_script_is_installed():
    executable = shutil.which("simlib")
    assert executable is not None
    result = subprocess.run([executable, "compare", "x", "y"], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    result = subprocess.run([executable, "tasks"], capture_output=True, text=True)
    assert result.returncode == 0 and "beta-bernoulli" in result.stdout
