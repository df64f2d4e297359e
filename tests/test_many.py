"""Many machines at once: the pairwise distance matrix and one comparison over several seeds.

Analytic machines on the coin task: the posterior-parameter agent is a reparametrisation of the
Bayes counter (D ≈ 0 both ways, behaviour exactly 0); the forgetful machine keeps the last
flip only, so it cannot simulate the counter, and the counter's predictions differ from it.
"""

import json

import numpy as np
import pytest
import xarray as xr

from simlib import SimlibError, machines
from simlib.cli.app import _seeds_text, main
from simlib.compare import compare
from simlib.many import SEED_COLUMNS, compare_seeds, distance_matrix, matrix_to_dict, save_matrix

OPT, POSTERIOR, FORGETFUL = "opt:beta-bernoulli", "posterior:beta-bernoulli", "forgetful:beta-bernoulli"
EPISODES = 40


def loaded(*specs):
    return [machines.load(spec) for spec in specs]


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def matrix() -> xr.Dataset:
    return distance_matrix(loaded(OPT, POSTERIOR, FORGETFUL), episodes=EPISODES, seed=0)


def test_the_matrix_knows_which_coin_machines_simulate_which(matrix):
    d_s, d_o, behaviour = (matrix[name].to_pandas() for name in ("d_s", "d_o", "behaviour"))
    assert list(d_s.index) == list(d_s.columns) == [OPT, POSTERIOR, FORGETFUL]
    assert d_s.index.name == "simulated" and d_s.columns.name == "simulator"
    for table in (d_s, d_o, behaviour):
        assert np.diag(table.values).tolist() == [0.0, 0.0, 0.0]
    # reparametrisations simulate each other, both ways, and behave identically
    for a, b in ((OPT, POSTERIOR), (POSTERIOR, OPT)):
        assert d_s.loc[a, b] < 1e-3 and d_o.loc[a, b] < 1e-3 and behaviour.loc[a, b] < 1e-9
    # the forgetful machine cannot simulate the counter; the counters' predictions differ from its
    assert d_s.loc[OPT, FORGETFUL] > 0.1 and d_o.loc[OPT, FORGETFUL] > 0.5
    assert behaviour.loc[OPT, FORGETFUL] > 0.5 and behaviour.loc[FORGETFUL, OPT] > 0.5
    assert matrix.attrs["episodes"] == EPISODES and matrix.attrs["test_episodes"] == 8
    assert matrix.attrs["behaviour_metric"] == "kl(simulator||simulated)"


def test_a_matrix_entry_is_compares_direction_on_the_same_traces(matrix):
    report = compare(machines.load(FORGETFUL), machines.load(OPT), episodes=EPISODES, seed=0).to_dict()
    assert matrix["d_s"].sel(simulated=FORGETFUL, simulator=OPT) == pytest.approx(report["a_to_b"]["d_s"], rel=1e-9)
    assert matrix["d_s"].sel(simulated=OPT, simulator=FORGETFUL) == pytest.approx(report["b_to_a"]["d_s"], rel=1e-9)
    assert matrix["d_o"].sel(simulated=FORGETFUL, simulator=OPT) == pytest.approx(report["a_to_b"]["d_o"], rel=1e-9)
    assert matrix["behaviour"].sel(simulated=FORGETFUL, simulator=OPT) == pytest.approx(
        report["behaviour"]["value"], rel=1e-9
    )


def test_simlib_matrix_prints_json_and_writes_csv_and_netcdf(capsys, matrix, tmp_path):
    code, out, err = run(capsys, "matrix", OPT, POSTERIOR, FORGETFUL, "--episodes", str(EPISODES), "--json",
                         "--out", str(tmp_path / "m.csv"))
    assert code == 0 and err == ""
    assert json.loads(out) == json.loads(json.dumps(matrix_to_dict(matrix)))
    lines = (tmp_path / "m.csv").read_text().splitlines()
    assert lines[0] == "simulated,simulator,d_s,d_o,behaviour" and len(lines) == 1 + 9
    save_matrix(matrix, tmp_path / "m.nc")
    with xr.open_dataset(tmp_path / "m.nc") as reread:
        assert np.array_equal(reread["d_s"].values, matrix["d_s"].values)
        assert list(reread["simulator"].values) == [OPT, POSTERIOR, FORGETFUL]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.csv", "m.nc"]


def test_simlib_matrix_prints_aligned_tables(capsys, tmp_path):
    code, out, _ = run(capsys, "matrix", OPT, POSTERIOR, "--episodes", "20", "--out", str(tmp_path / "m.nc"))
    assert code == 0 and (tmp_path / "m.nc").is_file()
    lines = out.splitlines()
    assert lines[0].startswith("distance matrix on beta-bernoulli: 2 machines, 20 episodes")
    title = lines.index("D_s (whitened MSE: 0 perfect, 1 no better than the column's mean state)")
    header, first, second = lines[title + 1: title + 4]
    assert header.split() == [OPT, POSTERIOR] and first.split()[0] == OPT and second.split()[0] == POSTERIOR
    assert len(header) == len(first) == len(second)  # aligned columns
    assert lines[-1] == f"wrote {tmp_path / 'm.nc'}"


def test_a_matrix_from_a_dict_uses_its_labels_and_checks_its_input():
    opt, forgetful = machines.load(OPT), machines.load(FORGETFUL)
    small = distance_matrix({"counter": opt, "last-flip": forgetful}, episodes=20)
    assert list(small["simulator"].values) == ["counter", "last-flip"]
    for bad, message in (
        (loaded(OPT), "at least two"),
        (loaded(OPT, OPT), "distinct"),
        ([OPT, POSTERIOR], "is a spec, not a machine"),
        ({"a": opt, "b": machines.load("opt:normal-normal")}, "not 'beta-bernoulli'|not 'normal-normal'"),
        ("opt:beta-bernoulli", "mapping"),
    ):
        with pytest.raises(SimlibError, match=message):
            distance_matrix(bad, episodes=20)
    with pytest.raises(SimlibError, match="driver"):
        distance_matrix(loaded(OPT, POSTERIOR), episodes=20, driver="nope")
    with pytest.raises(SimlibError, match=".nc or .csv"):
        save_matrix(small, "matrix.txt")


@pytest.mark.parametrize("argv", [
    ["matrix", OPT],
    ["matrix", OPT, OPT],
    ["matrix", OPT, POSTERIOR, "--out", "m.txt"],
    ["matrix", OPT, POSTERIOR, "--out", "/dev/full"],
    ["matrix", OPT, POSTERIOR, "--driver", "opt:bernoulli-bandit"],
    ["matrix", OPT, "opt:no-such-task"],
    ["matrix", OPT, POSTERIOR, "--episodes", "3"],
    ["compare", POSTERIOR, OPT, "--seeds", "0,1", "--seed", "2"],
    ["compare", POSTERIOR, OPT, "--seeds", "0,²"],
    ["compare", POSTERIOR, OPT, "--seeds", "1,1"],
    ["compare", POSTERIOR, OPT, "--seeds", ""],
    ["compare", POSTERIOR, OPT, "--seeds", "0,-1"],
    ["compare", POSTERIOR, OPT, "--seeds", str(2**64)],
])
def test_bad_matrix_and_seeds_options_are_one_line_before_any_work(capsys, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2 and err.startswith("simlib: error: ") and err.count("\n") == 1, err
    assert out == "" and list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def seeds():
    return compare_seeds(machines.load(POSTERIOR), machines.load(OPT), seeds=(0, 1), episodes=20)


def test_compare_seeds_reports_each_seed_and_mean_and_sd(seeds):
    assert seeds.seeds == (0, 1) and [report.seed for report in seeds.reports] == [0, 1]
    summary = seeds.summary()
    for name in SEED_COLUMNS:
        column = seeds.values[name]
        assert summary[name]["n"] == 2
        assert summary[name]["mean"] == pytest.approx(column.mean())
        assert summary[name]["sd"] == pytest.approx(column.std(ddof=1))
    assert summary["a_to_b_d_s"]["mean"] < 1e-3 and summary["b_to_a_d_s"]["mean"] < 1e-3  # reparametrisations
    assert seeds.values["a_to_b_d_s"][0] != seeds.values["a_to_b_d_s"][1]  # the seeds do differ
    dataset = seeds.to_dataset()
    assert list(dataset["seed"].values) == [0, 1] and set(dataset.data_vars) == set(SEED_COLUMNS)
    with pytest.raises(SimlibError, match="seeds="):
        compare_seeds(machines.load(POSTERIOR), machines.load(OPT), seed=3)
    for bad in ((), (1, 1), (0.5,), (True,)):
        with pytest.raises(SimlibError, match="seed"):
            compare_seeds(machines.load(POSTERIOR), machines.load(OPT), seeds=bad)


def test_simlib_compare_seeds_prints_json_and_text(capsys, seeds, tmp_path):
    code, out, err = run(capsys, "compare", POSTERIOR, OPT, "--seeds", "1", "--episodes", "20", "--json",
                         "--out", str(tmp_path / "runs"))
    assert code == 0 and err == ""
    summary = json.loads(out)
    expected = json.loads(json.dumps(seeds.to_dict()))
    assert summary["values"] == expected["values"][1:] and summary["runs"] == expected["runs"][1:]
    assert summary["summary"]["a_to_b_d_s"] == {"mean": expected["values"][1]["a_to_b_d_s"], "sd": None, "n": 1}
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["seed-1", "seeds.json"]
    assert sorted(p.name for p in (tmp_path / "runs" / "seed-1").iterdir()) == ["figure3.png", "report.json", "traces.nc"]
    assert json.loads((tmp_path / "runs" / "seeds.json").read_text()) == summary
    text = _seeds_text(expected).splitlines()
    assert text[0] == f"task beta-bernoulli   A = {POSTERIOR}   B = {OPT}"
    assert text[3].split()[0] == "seed" and [line.split()[0] for line in text[4:6]] == ["0", "1"]
    assert text[-1].startswith("mean ± sd") and text[-1].count("±") == 1 + len(SEED_COLUMNS)
    assert len({len(line) for line in text[3:]}) == 1  # aligned
    assert _seeds_text(summary).splitlines()[-1].endswith("± —")  # one seed: no sd


def test_one_seed_has_no_sd():
    from simlib.many import SeedComparison

    single = SeedComparison(seeds=(4,), reports=(), values={name: np.array([0.5]) for name in SEED_COLUMNS})
    assert single.summary()["behaviour"] == {"mean": 0.5, "sd": None, "n": 1}
    partial = SeedComparison(seeds=(0, 1), reports=(), values={"a_to_b_d_o": np.array([np.nan, 1.0])})
    assert partial.summary()["a_to_b_d_o"] == {"mean": 1.0, "sd": None, "n": 1}
