"""The simlib command line: outputs, files, and one-line errors with exit code 2."""

import json
import os
import shutil
import subprocess

import networkx as nx
import pytest

from simlib import SimlibError, machines, tasks
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
    assert code == 0 and out.startswith("bernoulli-bandit") and len(out.splitlines()) == len(tasks.names()) == 26
    assert "\nbeta-bernoulli " in out and "\ngaussian-bandit-noisy " in out
    code, out, _ = run(capsys, "machines")
    assert code == 0 and "opt:beta-bernoulli" in out and "history:beta-bernoulli" in out
    assert "gittins:bernoulli-bandit" in out and "thompson:gaussian-bandit-noisy" in out
    assert "rescorla-wagner:restless-bandit-test" in out and "opt:informative-arm-bandit" in out


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
        ["fsm", "history:beta-bernoulli", "--method", "exact", "--max-states", "50"],
        ["fsm", "opt:beta-bernoulli", "--max-states", "0"],
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


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "rnn.pt"
    code = main(["train", "beta-bernoulli", "--steps", "40", "--batch", "32", "--snapshot-every", "20",
                 "--out", str(path), "--quiet"])
    assert code == 0 and path.is_file()
    return path


def test_train_then_compare_reads_the_task_from_the_checkpoint(capsys, checkpoint):
    code, out, _ = run(capsys, "compare", str(checkpoint), "opt:beta-bernoulli", "--episodes", "60", "--json")
    report = json.loads(out)
    assert code == 0 and report["task"] == "beta-bernoulli" and report["a"] == str(checkpoint)
    code, out, _ = run(capsys, "compare", f"{checkpoint}@init", "opt:beta-bernoulli", "--episodes", "60", "--json")
    assert code == 0 and json.loads(out)["behaviour"]["value"] > report["behaviour"]["value"]


def test_train_reports_and_a_finished_run_is_kept(capsys, checkpoint):
    code, out, _ = run(capsys, "train", "beta-bernoulli", "--steps", "40", "--batch", "32",
                       "--snapshot-every", "20", "--out", str(checkpoint), "--quiet")
    assert code == 0 and "40 steps, 1,280 episodes" in out and "nats at init" in out


class Decoy:
    """An arbitrary class: loading it would need pickled code."""


def _bad_files(folder, checkpoint):
    import torch

    (folder / "corrupt.pt").write_bytes(b"\x00garbage" * 10)
    (folder / "truncated.pt").write_bytes(checkpoint.read_bytes()[:4000])
    torch.save({"weights": torch.ones(3)}, folder / "foreign.pt")
    torch.save({"format": "simlib-checkpoint", "version": 1, "x": Decoy()}, folder / "pickled.pt")


@pytest.mark.parametrize("name", ["corrupt.pt", "truncated.pt", "foreign.pt", "pickled.pt", "missing.pt"])
def test_bad_checkpoints_are_one_line_errors(capsys, tmp_path, checkpoint, name):
    _bad_files(tmp_path, checkpoint)
    code, _, err = run(capsys, "compare", str(tmp_path / name), "opt:beta-bernoulli")
    assert code == 2 and err.startswith("simlib: error: ") and err.count("\n") == 1, err


def test_a_checkpoint_of_another_format_version_is_refused_by_name(capsys, tmp_path, checkpoint):
    import torch

    from simlib.formats import CURRENT

    payload = torch.load(checkpoint, weights_only=True)
    newer = CURRENT["checkpoint"] + 1
    torch.save({**payload, "version": newer}, tmp_path / "newer.pt")
    code, _, err = run(capsys, "compare", str(tmp_path / "newer.pt"), "opt:beta-bernoulli")
    assert code == 2 and f"checkpoint version {newer}, written by a newer simlib" in err and err.count("\n") == 1, err


def test_checkpoint_for_another_task_is_refused(capsys, checkpoint):
    for argv in (
        ["compare", str(checkpoint), "opt:normal-normal"],
        ["compare", str(checkpoint), "opt:normal-normal", "--task", "normal-normal"],
        ["train", "nope"],
        ["train", "beta-bernoulli", "--out", "model.txt"],
        ["train", "beta-bernoulli", "--device", "tpu"],
        ["train", "beta-bernoulli", "--lr", "inf", "--out", "never-written.pt"],
        ["train", "bernoulli-bandit", "--entropy", "inf", "--out", "never-written.pt"],
    ):
        code, _, err = run(capsys, *argv)
        assert code == 2 and err.count("\n") == 1, (argv, err)
    assert not os.path.exists("never-written.pt")


def _bad_destinations(tmp_path):
    (tmp_path / "a-file").write_text("x")
    return {
        "a device": "/dev/full",
        "below a file": str(tmp_path / "a-file" / "out"),
        "an over-long name": str(tmp_path / ("x" * 300 + ".pt")),
    }


@pytest.mark.parametrize("argv", [
    ["compare", "opt:beta-bernoulli", "history:beta-bernoulli", "--out"],
    ["fsm", "opt:beta-bernoulli", "--depth", "2", "--out"],
    ["train", "beta-bernoulli", "--out"],
    ["reproduce", "--quick", "--tasks", "beta-bernoulli", "--out"],
    ["reproduce", "wang2016", "--quick", "--out"],
])
def test_a_bad_destination_is_refused_before_any_work(capsys, tmp_path, argv):
    for what, destination in _bad_destinations(tmp_path).items():
        if argv[0] == "train" and not destination.endswith(".pt"):
            destination += ".pt" if what != "a device" else ""
        code, out, err = run(capsys, *argv, destination)
        assert code == 2 and err.startswith("simlib: error: ") and err.count("\n") == 1, (what, err)
        assert not out and "train" not in err, (what, err)


def test_a_folder_that_refuses_files_is_found_before_the_work_and_a_late_write_error_is_one_line(
    capsys, tmp_path, monkeypatch
):
    import errno
    import tempfile

    from simlib.cli import app as cli_app

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    with monkeypatch.context() as patch:
        patch.setattr(tempfile, "TemporaryFile", read_only)
        code, _, err = run(capsys, "compare", "opt:beta-bernoulli", "history:beta-bernoulli", "--out", str(tmp_path / "r"))
    assert code == 2 and "cannot write into" in err and "Read-only file system" in err and err.count("\n") == 1

    def disk_full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(cli_app, "write_text", disk_full)
    code, _, err = run(capsys, "compare", "opt:beta-bernoulli", "history:beta-bernoulli", "--episodes", "20",
                       "--out", str(tmp_path / "r"))
    assert code == 2 and err == f"simlib: error: No space left on device: {tmp_path / 'r' / 'report.json'}\n"


@pytest.mark.parametrize("argv", [
    ["compare", "rnn:beta-bernoulli@²", "opt:beta-bernoulli"],
    ["compare", "ucb:bernoulli-bandit@١", "opt:bernoulli-bandit"],
    ["compare", "rnn:beta-bernoulli", "opt:beta-bernoulli", "--n-components", "²"],
    ["reproduce", "--quick", "--widths", "²"],
    ["compare", "opt:beta-bernoulli", "history:beta-bernoulli", "--seed", "-1"],
    ["compare", "opt:beta-bernoulli", "history:beta-bernoulli", "--seed", str(2**64)],
    ["train", "beta-bernoulli", "--seed", str(2**63), "--out", "never-written.pt"],
    ["compare", "opt:beta-bernoulli", "history:beta-bernoulli", "--episodes", str(10**12)],
    ["compare", "x" * 5000 + ".pt", "opt:beta-bernoulli"],
])
def test_odd_numbers_and_sizes_are_one_line_errors(capsys, argv):
    code, _, err = run(capsys, *argv)
    assert code == 2 and err.startswith("simlib: error: ") and err.count("\n") == 1, err
    assert not os.path.exists("never-written.pt")


def test_running_out_of_memory_is_one_line(capsys, monkeypatch):
    def too_big(*args, **kwargs):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 160000000000 bytes")

    monkeypatch.setattr("simlib.compare.compare", too_big)
    code, _, err = run(capsys, "compare", "opt:beta-bernoulli", "history:beta-bernoulli")
    assert code == 2 and err.startswith("simlib: error: out of memory") and err.count("\n") == 1


def test_parsing_accepts_ascii_numbers_only():
    from simlib.parsing import decimal_number, natural_number, positive_integer

    assert positive_integer("12") == 12 and positive_integer("0") is None and positive_integer("²") is None
    assert natural_number("0") == 0 and natural_number("١٢") is None and natural_number("-1") is None
    assert decimal_number("0.2") == 0.2 and decimal_number("-1e-3") == -1e-3 and decimal_number(".5") == 0.5
    assert decimal_number("١") is None and decimal_number("inf") is None and decimal_number("nan") is None


def _wrong_contents(payload):
    architecture, snapshot = payload["architecture"], payload["snapshots"][0]
    return {
        "negative width": {"architecture": {**architecture, "hidden": -1}},
        "fractional width": {"architecture": {**architecture, "hidden": 2.5}},
        "string width": {"architecture": {**architecture, "hidden": "32"}},
        "enormous width": {"architecture": {**architecture, "hidden": 10**9}},
        "no output": {"architecture": {k: v for k, v in architecture.items() if k != "output"}},
        "snapshots not a list": {"snapshots": "x"},
        "negative step": {"snapshots": [{**snapshot, "step": -1}]},
        "snapshot without weights": {"snapshots": [{"step": 0}]},
        "finished as text": {"training": {**payload["training"], "finished": "yes"}},
        "task of another network": {"task": tasks.get("normal-normal").config()},
        "task name a number": {"task": {"name": 5}},
        "task breaking a constraint": {"task": {**payload["task"], "b": -2.0}},
    }


def test_well_formed_checkpoints_with_wrong_content_are_one_line_errors(capsys, tmp_path):
    import torch

    payload = torch.load(machines.registry.zoo_path("beta-bernoulli"), weights_only=True)
    for what, change in _wrong_contents(payload).items():
        torch.save({**payload, **change}, tmp_path / "wrong.pt")
        code, _, err = run(capsys, "compare", str(tmp_path / "wrong.pt"), "opt:beta-bernoulli")
        assert code == 2 and err.startswith("simlib: error: ") and err.count("\n") == 1, (what, err)


def test_a_checkpoint_that_would_inflate_past_the_limit_is_refused_unread(tmp_path, monkeypatch):
    import zipfile

    from simlib.machines import checkpoint

    monkeypatch.setattr(checkpoint, "MAX_INFLATED", 1 << 20)
    with zipfile.ZipFile(tmp_path / "bomb.pt", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\0" * (2 << 20))
    assert (tmp_path / "bomb.pt").stat().st_size < 20_000
    with pytest.raises(SimlibError, match="would inflate to"):
        checkpoint.read_checkpoint(tmp_path / "bomb.pt")


@pytest.mark.parametrize("a, b", [("rnn:beta-bernoulli", "opt:beta-bernoulli"), ("rnn:bernoulli-bandit", "opt:bernoulli-bandit")])
def test_the_same_command_and_seed_give_byte_identical_json(capsys, a, b):
    outputs = []
    for _ in range(2):
        code, out, _ = run(capsys, "compare", a, b, "--episodes", "30", "--seed", "4", "--json")
        assert code == 0
        outputs.append(out)
    assert outputs[0] == outputs[1] and json.loads(outputs[0])["seed"] == 4


# --- fsm's auto method, fast usage errors, 'did you mean', py:MODULE:FACTORY specs ---------


def test_fsm_auto_quantises_the_shipped_lstm_and_enumerates_a_shallow_one(capsys):
    code, out, err = run(capsys, "fsm", "rnn:beta-bernoulli", "--max-states", "100", "--clusters", "6",
                         "--episodes", "30")
    assert code == 0 and err == "" and "quantised extraction" in out
    assert "auto: more than 100 reachable states within 20 inputs" in out and "transition fidelity" in out
    code, out, _ = run(capsys, "fsm", "rnn:beta-bernoulli", "--depth", "2")
    assert code == 0 and "exact extraction" in out and "auto: all 14 reachable states within 2 inputs" in out
    code, out, _ = run(capsys, "fsm", "opt:beta-bernoulli", "--depth", "4")  # a counter: exact, as before
    assert code == 0 and "exact extraction" in out and "states 16," in out


def test_usage_errors_import_no_torch_and_help_and_listings_still_work():
    argvs = [["compare", "a", "b", "--episodes", "x"], ["nope"], ["compare", "--bogus"], ["--help"],
             ["fsm", "x", "--method", "exat"], ["compare", "a", "b", "--seeds", "1,x"],
             ["compare", "a", "b", "--n-components", "many"], ["matrix", "a"], ["matrix", "a", "b", "--out", "m.txt"]]
    script = (
        "import contextlib, io, sys\n"
        "from simlib.cli.app import main\n"
        f"for argv in {argvs!r}:\n"
        "    err = io.StringIO()\n"
        "    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):\n"
        "        code = main(argv)\n"
        "    print(code, err.getvalue().count(chr(10)))\n"
        "print(sorted(m for m in ('torch', 'xarray', 'sklearn', 'scipy', 'matplotlib', 'simlib.tasks') if m in sys.modules))\n"
    )
    result = subprocess.run([os.sys.executable, "-c", script], capture_output=True, text=True)
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stderr
    assert lines[:3] == ["2 1"] * 3 and lines[3] == "0 0" and lines[4:-1] == ["2 1"] * 5, lines
    assert lines[-1] == "[]", lines[-1]
    executable = shutil.which("simlib")
    result = subprocess.run([executable, "tasks"], capture_output=True, text=True)
    assert result.returncode == 0 and len(result.stdout.splitlines()) == len(tasks.names())


def test_the_cli_constants_repeat_the_library_ones():
    from simlib import many, random
    from simlib.cli import app as cli_app
    from simlib.fsm import from_task, graph

    assert cli_app.MAX_SEED == random.MAX_SEED
    assert cli_app.FSM_METHODS == from_task.METHODS
    assert sorted(cli_app.GRAPH_SUFFIXES) == sorted(graph._WRITERS)
    assert cli_app.MATRIX_SUFFIXES == many.MATRIX_SUFFIXES


@pytest.mark.parametrize("argv, hint", [
    (["comapre", "a", "b"], "unknown command 'comapre' (did you mean 'compare'?)"),
    (["machine"], "(did you mean 'machines'?)"),
    (["compare", "opt:beta-bernouli", "opt:beta-bernoulli"], "unknown task 'beta-bernouli' (did you mean 'beta-bernoulli'?)"),
    (["compare", "opt:beta-bernoulli", "opt:beta-bernoulli", "--task", "beta-bernoulli-fiar"],
     "(did you mean 'beta-bernoulli-fair'?)"),
    (["compare", "otp:beta-bernoulli", "opt:beta-bernoulli"], "unknown machine kind 'otp' in 'otp:beta-bernoulli' (did you mean 'opt'?)"),
    (["compare", "histroy:beta-bernoulli", "opt:beta-bernoulli"], "(did you mean 'history'?)"),
    (["compare", "optbeta-bernoulli", "opt:beta-bernoulli"], "(did you mean 'opt:beta-bernoulli'?)"),
    (["fsm", "opt:beta-bernoulli", "--method", "exat"], "(did you mean 'exact'?)"),
    (["reproduce", "mikulik"], "(did you mean 'mikulik2020'?)"),
])
def test_a_mistyped_name_gets_a_suggestion_on_one_line(capsys, argv, hint):
    code, _, err = run(capsys, *argv)
    assert code == 2 and err.startswith("simlib: error: ") and err.count("\n") == 1, err
    assert hint in err, err


def test_a_far_off_name_gets_no_suggestion(capsys):
    code, _, err = run(capsys, "zzzzzz")
    assert code == 2 and "did you mean" not in err and err.count("\n") == 1


def test_help_exits_0_and_an_unexpected_exception_is_not_swallowed(capsys, monkeypatch):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "matrix" in out and "compare" in out

    def bug():
        raise ZeroDivisionError("a bug, not a user error")

    monkeypatch.setattr("simlib.machines.specs", bug)
    with pytest.raises(ZeroDivisionError):
        main(["machines"])


AGENTS = '''
from simlib.machines.beta_bernoulli import CountPredictor


def make():
    return CountPredictor(1.0, 1.0)


def make_for(task):
    machine = CountPredictor(task.a, task.b)
    machine.task = task
    return machine


def not_a_machine():
    return 42


def broken():
    return 1 / 0


value = 3
'''


@pytest.fixture
def agents(tmp_path, monkeypatch, request):
    """A user's module ``agents_<test>.py`` in a fresh current directory; its name."""
    name = "agents_" + "".join(c if c.isalnum() else "_" for c in request.node.name)
    (tmp_path / f"{name}.py").write_text(AGENTS)
    (tmp_path / "bad_syntax.py").write_text("def (:\n")
    monkeypatch.chdir(tmp_path)
    yield name
    os.sys.modules.pop(name, None)


def test_a_py_spec_loads_a_users_machine_from_the_current_directory(capsys, agents, tmp_path):
    from simlib.machines import load

    before = list(os.sys.path)
    code, out, err = run(capsys, "compare", f"py:{agents}:make", "opt:beta-bernoulli", "--episodes", "20", "--json")
    assert code == 0 and err == "", err
    report = json.loads(out)
    assert report["a"] == f"py:{agents}:make" and report["task"] == "beta-bernoulli"
    assert report["a_to_b"]["d_s"] < 1e-3 and report["behaviour"]["value"] < 1e-9  # the same counter
    code, out, _ = run(capsys, "fsm", f"py:{agents}:make_for", "--task", "beta-bernoulli", "--depth", "3")
    assert code == 0 and "exact extraction" in out
    machine = load(f"py:{agents}:make")
    assert machine.task is None and machine.spec == f"py:{agents}:make"
    machine = load(f"py:{agents}:make_for", tasks.get("beta-bernoulli-fair"))
    assert machine.task.name == "beta-bernoulli-fair" and machine.a == 10.0
    assert os.sys.path == before and str(tmp_path) not in os.sys.path


@pytest.mark.parametrize("target, message", [
    ("no_such_module_xyz:make", "no module named 'no_such_module_xyz'"),
    ("{agents}:nope", "has no attribute 'nope'"),
    ("{agents}:value", "is a int, not callable"),
    ("{agents}:not_a_machine", "returned a int, not a machine"),
    ("{agents}:broken", "broken() raised ZeroDivisionError: division by zero ("),
    ("{agents}", "expected py:MODULE:FACTORY"),
    ("1bad:make", "expected py:MODULE:FACTORY"),
    ("bad_syntax:make", "importing 'bad_syntax' failed: SyntaxError"),
])
def test_a_bad_py_spec_is_one_line(capsys, agents, target, message):
    spec = "py:" + target.format(agents=agents)
    code, _, err = run(capsys, "compare", spec, "opt:beta-bernoulli", "--episodes", "10")
    assert code == 2 and err.startswith("simlib: error: ") and err.count("\n") == 1, err
    assert message in err, err
    assert "Traceback" not in err


def test_a_py_factory_that_needs_a_task_says_so(capsys, agents):
    code, _, err = run(capsys, "fsm", f"py:{agents}:make_for")
    assert code == 2 and "make_for() takes a task; pass one (--task TASK)" in err
    code, _, err = run(capsys, "fsm", f"py:{agents}:make")
    assert code == 2 and "names no task" in err and "--task" in err
