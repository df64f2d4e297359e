"""Property-based fuzzing of the command line: whatever the arguments, ``simlib`` exits 0 or 2,
never with a traceback; a failure is one line on stderr and leaves no output file behind.

Every command is driven with generated specs, task names, numbers and paths: some valid and
cheap, most odd (non-ASCII digits, numbers past 64 bits, NaN, a 5 000-character name, a
device file, a path below a file, a corrupt checkpoint). Options that would make a valid run
expensive are always passed, with values drawn from cheap ones and broken ones, so the whole
file stays within a few tens of seconds.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from simlib.cli.app import main  # noqa: E402

ODD_NUMBERS = ["-1", "0", "²", "١٢", "1e3", "nan", "inf", "-inf", "", " ", "0x10", "9" * 25, "1.5", "+-3", "١"]
ODD_TEXT = ["", ":", "::", "opt:", ":beta-bernoulli", "nope:beta-bernoulli", "opt:nope", "rnn:beta-bernoulli@²",
            "rnn:beta-bernoulli@99999999", "rnn:beta-bernoulli@-1", "x" * 5000, "opt:beta-bernoulli\x00",
            "ünïcødé:tâsk", "../../etc/passwd", "/dev/null", "opt:bernoulli-bandit@0.5"]
SPECS = ["opt:beta-bernoulli", "history:beta-bernoulli", "posterior:beta-bernoulli", "forgetful:beta-bernoulli",
         "opt:bernoulli-bandit", "thompson:bernoulli-bandit", "rnn:beta-bernoulli", "opt:dirichlet-categorical"]
TASKS = ["beta-bernoulli", "bernoulli-bandit", "dirichlet-categorical", "beta-bernoulli-fair"]


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> dict[str, Path]:
    """Odd destinations and inputs, made once: an existing file, a corrupt checkpoint, a
    read-only folder, a folder below a file."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "file.txt").write_text("not a folder")
    (root / "corrupt.pt").write_bytes(b"PK\x03\x04 not really a zip")
    (root / "empty.pt").write_bytes(b"")
    locked = root / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    return {"root": root, "file": root / "file.txt", "corrupt": root / "corrupt.pt", "empty": root / "empty.pt",
            "locked": locked}


def destinations(places: dict[str, Path]) -> st.SearchStrategy[str]:
    root = places["root"]
    return st.sampled_from([
        str(root / "out" / "new-folder"), str(root / "new.json"), str(root / "new.png"), str(places["file"]),
        str(places["file"] / "below"), str(places["locked"] / "x.json"), "/dev/full", "/proc/version",
        str(root / ("n" * 300)), "",
    ])


def numbers(cheap: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(cheap), st.sampled_from(ODD_NUMBERS), st.integers(-2**70, 2**70).map(str))


def names(valid: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(valid), st.sampled_from(ODD_TEXT), st.text(max_size=12))


def options(draw, table: dict[str, st.SearchStrategy[str]], required: tuple[str, ...]) -> list[str]:
    """``--name value`` pairs: every ``required`` option and a random subset of the others."""
    chosen = list(required) + [name for name in table if name not in required and draw(st.booleans())]
    argv: list[str] = []
    for name in chosen:
        argv += [f"--{name}", draw(table[name])]
    return argv


@st.composite
def command_lines(draw, places: dict[str, Path]) -> tuple[list[str], str | None]:
    """One generated command line and the output path it names (None if it names none)."""
    out = draw(destinations(places))
    checkpoint = st.sampled_from([str(places["corrupt"]), str(places["empty"]), str(places["file"])])
    spec = st.one_of(names(SPECS), checkpoint)
    command = draw(st.sampled_from(["compare", "injectivity", "fsm", "train", "converge", "reproduce", "other"]))
    if command == "compare":
        argv = ["compare", draw(spec), draw(spec)] + options(draw, {
            "episodes": numbers(["10", "12"]), "seed": numbers(["0", "3"]), "task": names(TASKS),
            "n-components": st.one_of(numbers(["1", "2"]), st.just("full")), "driver": names(["a", "b"]),
            "threads": numbers(["1"]), "out": st.just(out),
        }, ("episodes",))
    elif command == "injectivity":
        argv = ["injectivity", draw(spec), draw(spec)] + options(draw, {
            "episodes": numbers(["10", "20"]), "depth": numbers(["2", "3"]), "task": names(TASKS),
            "merge-tol": numbers(["1e-6", "0.5"]), "separate-tol": numbers(["0.01", "1e-9"]),
            "top": numbers(["1", "3"]), "figure": st.just(out),
        }, ("episodes",))
    elif command == "fsm":
        argv = ["fsm", draw(spec)] + options(draw, {
            "depth": numbers(["0", "3"]), "episodes": numbers(["20"]), "clusters": numbers(["2", "4"]),
            "method": names(["exact", "quantised"]), "task": names(TASKS), "out": st.just(out),
        }, ("depth", "episodes"))
    elif command == "train":
        argv = ["train", draw(names(TASKS))] + options(draw, {
            "steps": st.sampled_from(["1"] + ODD_NUMBERS), "batch": st.sampled_from(["4"] + ODD_NUMBERS),
            "hidden": st.sampled_from(["2"] + ODD_NUMBERS), "lr": numbers(["1e-3"]), "seed": numbers(["0"]),
            "entropy": numbers(["0.01"]), "device": names(["cpu", "auto"]), "out": st.just(out),
        }, ("steps", "batch", "hidden"))
        argv.append("--quiet")
    elif command == "converge":
        argv = ["converge", draw(st.one_of(checkpoint, names(SPECS)))] + options(draw, {
            "episodes": numbers(["10"]), "distance-episodes": numbers(["10"]), "seed": numbers(["0"]),
            "device": names(["cpu"]), "out": st.just(out),
        }, ("episodes", "distance-episodes"))
    elif command == "reproduce":
        broken = draw(st.sampled_from(["seeds", "episodes", "steps", "widths", "tasks", "device", "threads"]))
        value = {"tasks": st.sampled_from(["", " , ", "nope", "beta-bernoulli,,x"]),
                 "widths": st.sampled_from(["²", "0", "-1", "1,,2", "x"]),
                 "device": st.sampled_from(["gpu", "cuda:x", "", "tpu"])}.get(broken, st.sampled_from(ODD_NUMBERS[:8]))
        argv = ["reproduce", draw(st.sampled_from(["mikulik2020", "wang2016", "nope"])), f"--{broken}", draw(value),
                "--quick", "--out", out]
    else:
        argv = draw(st.sampled_from([["tasks"], ["machines"], ["nope"], ["compare"], ["tasks", "--bad"], []]))
    named = out if "--out" in argv or "--figure" in argv else None
    return argv, named


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def listing(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if "locked" not in p.parts}


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_locked_folder_is_really_locked(places):
    assert not os.access(places["locked"], os.W_OK)


def test_every_command_line_exits_0_or_2_with_one_line_and_no_partial_file(places, monkeypatch):
    monkeypatch.chdir(places["root"])  # default outputs (train's TASK.pt, converge-TASK/) land here
    before = listing(places["root"])
    seen: list[tuple[int, list[str]]] = []

    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(command_lines(places))
    def check(case):
        argv, named = case
        existed = named is not None and named != "" and os.path.lexists(named)
        code, _, err = run(argv)
        seen.append((code, argv))
        assert code in (0, 2), (argv, code, err[-500:])
        assert "Traceback" not in err, (argv, err[-2000:])
        if code == 2:
            assert err.count("\n") == 1 and err.startswith("simlib: error: "), (argv, err[-500:])
            if named and not existed:
                assert not os.path.lexists(named), f"{argv} failed but left {named}"
        stray = {p for p in listing(places["root"]) - before if any(part.startswith(".") for part in Path(p).parts)}
        assert not stray, f"{argv} left temporary files {stray}"

    check()
    codes = [code for code, _ in seen]
    assert codes.count(2) > 20 and codes.count(0) > 5, f"the generated cases were too one-sided: {codes}"


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(
    st.sampled_from(TASKS + ["gaussian-bandit", "dirichlet-categorical-5", "restless-bandit", "informative-arm-bandit"]),
    st.dictionaries(
        st.sampled_from(["a", "b", "horizon", "arms", "discount", "alpha", "noise_std", "shape", "rate", "nope"]),
        st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-2**70, 2**70), st.text(max_size=3),
                  st.none(), st.booleans(), st.tuples(st.floats(-2, 2), st.floats(-2, 2))),
        max_size=3,
    ),
)
def test_task_parameters_give_a_task_or_one_simlib_error(name, overrides):
    from simlib import SimlibError, machines, tasks

    try:
        task = tasks.get(name, **overrides)
    except SimlibError as error:
        assert "\n" not in str(error)
        return
    assert tasks.from_config(task.config()).config() == task.config()
    try:
        machines.load(f"opt:{name}", task=task)
    except SimlibError as error:
        assert "\n" not in str(error)
