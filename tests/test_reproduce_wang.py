"""``simlib reproduce wang2016 --quick``: every table, figure and the page, resumable; the CLI on the new tasks."""

from __future__ import annotations

import csv
import json

import pytest
import xarray as xr

from simlib.cli.app import main
from simlib.pipeline.wang2016_design import AGENT_TASKS, STRUCTURED

FIGURES = ("figure2.png", "figure2b.png", "figure2f.png", "figure3.png", "figure4c.png", "figure5.png", "figure6.png",
           "figure7.png")


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def wang_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("wang") / "run"
    assert main(["reproduce", "wang2016", "--quick", "--out", str(out), "--threads", "1"]) == 0
    return out


def test_quick_run_writes_the_page_tables_and_every_figure(wang_run):
    for name in FIGURES:
        assert (wang_run / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (wang_run / "results-wang2016.md").read_text()
    assert all(f"]({name})" in page for name in FIGURES) and "R²" in page
    with open(wang_run / "cross.csv") as handle:
        cross = list(csv.DictReader(handle))
    assert len(cross) == len(STRUCTURED) ** 2 + len(STRUCTURED)
    with open(wang_run / "compare.csv") as handle:
        compared = list(csv.DictReader(handle))
    assert {(row["task"], row["stage"]) for row in compared} == {(t, s) for t in AGENT_TASKS for s in ("init", "final")}


def test_quick_run_measures_what_it_claims(wang_run):
    opt = xr.open_dataset(wang_run / "curves" / "dependent-bandit-easy" / "opt.nc")
    ucb = xr.open_dataset(wang_run / "curves" / "dependent-bandit-easy" / "ucb.nc")
    regret = opt["cumulative_regret"].values
    assert (regret[1:] >= regret[:-1] - 1e-12).all() and regret[-1] < ucb["cumulative_regret"].values[-1]
    choices = xr.open_dataset(wang_run / "choices.nc")
    assert float(choices["share"].sel(agent="opt", choice="informative")[0]) == 1.0
    assert float(choices["share"].sel(agent="thompson", choice="informative").sum()) == 0.0
    report = json.loads((wang_run / "compare" / "dependent-bandit-final.json").read_text())
    assert report["b"] == "opt:dependent-bandit" and report["behaviour"]["returns"]["b"] > 60
    stays = xr.open_dataset(wang_run / "stays.nc")
    opt_stays = stays["stay"].sel(agent="opt").values
    assert opt_stays[0] == 1.0 and opt_stays[3] == 1.0
    harlow = xr.open_dataset(wang_run / "harlow.nc")
    assert (harlow["reference_accuracy"].sel(agent="opt").values[1:] == 1.0).all()
    assert harlow["later_accuracy"].shape == (2, 1) and list(harlow["step"].values) == [0, 1, 2, 3, 4]
    maze = xr.open_dataset(wang_run / "maze.nc")
    assert maze["reached"].sel(agent="opt").values[0] == 1.0
    machines = json.loads((wang_run / "fsm-harlow.json").read_text())
    variants = machines["variants"]
    assert [v["task"] for v in variants] == [f"harlow-test (pair=({2 * k}, {2 * k + 1}))" for k in range(5)]
    assert {v["opt"]["states"] for v in variants} == {287}  # opt's role-named machine is the same on every pair
    assert all(0.0 <= v["own_episodes"]["optimal_share"] <= 1.0 for v in variants)
    assert "### Finite machines" in (wang_run / "results-wang2016.md").read_text()


def test_a_finished_wang_run_is_not_redone(wang_run, capsys):
    before = {path: path.stat().st_mtime_ns for path in (wang_run / "curves").rglob("*.nc")}
    code, out, err = run(capsys, "reproduce", "wang2016", "--quick", "--out", str(wang_run))
    assert code == 0 and "results-wang2016.md" in out
    assert "train" not in err and "play" not in err and "compare" not in err
    assert before == {path: path.stat().st_mtime_ns for path in (wang_run / "curves").rglob("*.nc")}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["reproduce", "wang2017"], "unknown paper"),
        (["reproduce", "wang2016", "--widths", "32"], "mikulik2020 only"),
    ],
)
def test_bad_reproduce_options_are_one_line_errors(argv, message, capsys, tmp_path):
    code, _, err = run(capsys, *argv, "--out", str(tmp_path / "x"))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "task",
    ["dependent-bandit-hard", "informative-arm-bandit", "restless-bandit"],
)
def test_compare_baselines_on_wang_tasks_with_a_figure(task, capsys, tmp_path):
    code, out, err = run(capsys, "compare", f"opt:{task}", f"thompson:{task}", "--episodes", "30", "--out", str(tmp_path))
    assert code == 0, err
    assert "A -> B" in out and (tmp_path / "figure3.png").exists()
    assert json.loads((tmp_path / "report.json").read_text())["behaviour"]["returns"]["a"] > 0


@pytest.mark.parametrize(
    "argv",
    [
        ["compare", "opt:restless-bandit", "ucb:restless-bandit@-1"],
        ["compare", "rescorla-wagner:dependent-bandit@2", "opt:dependent-bandit"],
        ["compare", "gittins:restless-bandit", "opt:restless-bandit"],
        ["compare", "opt:informative-arm-bandit", "opt:restless-bandit"],
    ],
)
def test_bad_specs_on_wang_tasks_are_one_line_errors(argv, capsys):
    code, _, err = run(capsys, *argv, "--episodes", "20")
    assert code == 2 and err.startswith("simlib: error:") and len(err.strip().splitlines()) == 1


def test_a_wang_rerun_with_other_settings_recomputes_or_refuses(wang_run, capsys):
    code, _, err = run(capsys, "reproduce", "wang2016", "--quick", "--episodes", "30", "--out", str(wang_run))
    assert code == 0 and "play opt on dependent-bandit-easy (30 episodes)" in err and "compare" not in err
    assert xr.open_dataset(wang_run / "curves" / "dependent-bandit-easy" / "opt.nc").attrs["episodes"] == 30
    code, _, err = run(capsys, "reproduce", "wang2016", "--quick", "--steps", "5", "--out", str(wang_run))
    assert code == 2 and "holds a different run" in err and err.count("\n") == 1

