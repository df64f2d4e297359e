"""Injectivity: the merges of the analytic coin machines are known exactly."""

import itertools
import json

import numpy as np
import pytest

from simlib import SimlibError, machines, tasks
from simlib.cli.app import main
from simlib.injectivity import injectivity
from simlib.whitening import fit_whitening

DEPTH = 6


def coin(kind):
    return machines.load(f"{kind}:beta-bernoulli")


def histories():
    """Every history of up to DEPTH flips, as tuples."""
    return [h for n in range(DEPTH + 1) for h in itertools.product((0, 1), repeat=n)]


def pair_set(report, failure, rule):
    """The separated pairs of ``failure`` as sets of words, and every pair of ``histories()`` ``rule`` accepts."""
    found = {frozenset((report.describe(int(i)), report.describe(int(j)))) for i, j in failure.pairs}

    def word(h):
        return " ".join(map(str, h)) if h else "(start)"

    expected = {frozenset((word(g), word(h))) for g, h in itertools.combinations(histories(), 2) if rule(g, h)}
    return found, expected


def counts(h):
    return (sum(h), len(h))


@pytest.fixture(scope="module")
def count_vs_history():
    return injectivity(coin("opt"), coin("history"), depth=DEPTH, n_components="full")


def test_the_counter_merges_exactly_the_permutations_and_the_history_machine_none(count_vs_history):
    report = count_vs_history
    assert report.histories.length.shape[0] == 2 ** (DEPTH + 1) - 1
    found, expected = pair_set(report, report.a_merges, lambda g, h: counts(g) == counts(h))
    assert found == expected and report.a_merges.merged_pairs == len(expected) == 574
    assert report.b_merges.merged_pairs == 0 and report.b_merges.separated_pairs == 0
    assert report.b_merges.d_s_floor == 0.0 and report.a_merges.d_s_floor > 0.3
    np.testing.assert_allclose(report.a_merges.output_gap, 0.0, atol=1e-12)
    table = report.a_merges.per_length
    assert table["merged_pairs"].values.tolist() == [0, 0, 1, 6, 27, 110, 430]
    assert table["histories"].values.tolist() == [2**n for n in range(DEPTH + 1)]


def test_the_forgetful_machine_merges_by_last_flip_and_the_counter_separates_by_counts():
    report = injectivity(coin("forgetful"), coin("opt"), depth=DEPTH, n_components="full")

    def same_last(g, h):
        return bool(g) and bool(h) and g[-1] == h[-1]

    merged = sum(same_last(g, h) for g, h in itertools.combinations(histories(), 2))
    assert report.a_merges.merged_pairs == merged
    found, expected = pair_set(report, report.a_merges, lambda g, h: same_last(g, h) and counts(g) != counts(h))
    assert found == expected
    found, expected = pair_set(report, report.b_merges, lambda g, h: counts(g) == counts(h) and g[-1] != h[-1])
    assert found == expected and found
    assert report.b_merges.output_gap.max() > 0.01, "the forgetful predictor's outputs follow its last flip"


def test_a_reparametrised_counter_merges_the_same_pairs_and_has_no_floor():
    report = injectivity(coin("posterior"), coin("opt"), depth=4, n_components="full")
    for failure in (report.a_merges, report.b_merges):
        assert failure.merged_pairs == 34 and failure.separated_pairs == 0 and failure.d_s_floor < 1e-20


def test_traced_histories_on_a_bandit_merge_identically_for_one_machine():
    report = injectivity(machines.load("opt:bernoulli-bandit"), machines.load("opt:bernoulli-bandit"), episodes=60)
    assert report.histories.source == "every prefix of 60 traced episodes"
    assert report.a_merges.merged_pairs > 0 and report.a_merges.separated_pairs == 0
    assert report.histories.weight.sum() == 60 * tasks.get("bernoulli-bandit").horizon
    assert report.describe(int(np.argmax(report.histories.length))).startswith("a")


def test_the_floor_is_what_the_class_means_leave(count_vs_history):
    """Computed by hand: group the histories by (heads, flips), move each history machine's
    whitened state to its group's mean, and average the squared error left."""
    report = count_vs_history
    z = fit_whitening(report.histories.states["b"]).transform(report.histories.states["b"])
    groups = {}
    for i, word in enumerate(report.settings["labels"]):
        flips = [] if word == "(start)" else word.split()
        groups.setdefault((flips.count("1"), len(flips)), []).append(i)
    left = sum(((z[rows] - z[rows].mean(0)) ** 2).mean(-1).sum() for rows in groups.values()) / len(z)
    assert report.a_merges.d_s_floor == pytest.approx(left, rel=1e-12)


def test_bad_arguments_are_refused():
    with pytest.raises(SimlibError, match="finite alphabet"):
        injectivity(machines.load("opt:bernoulli-bandit"), machines.load("opt:bernoulli-bandit"), depth=3)
    with pytest.raises(SimlibError, match="merge_tol"):
        injectivity(coin("opt"), coin("history"), depth=3, merge_tol=0.5, separate_tol=0.1)
    with pytest.raises(SimlibError, match="histories, more than"):
        injectivity(coin("opt"), coin("history"), depth=40)
    with pytest.raises(SimlibError, match="not 'bernoulli-bandit'|built for task"):
        injectivity(coin("opt"), machines.load("opt:bernoulli-bandit"), depth=2)


def test_the_command_prints_json_text_and_a_figure(capsys, tmp_path):
    figure = tmp_path / "injectivity.png"
    argv = ["injectivity", "opt:beta-bernoulli", "history:beta-bernoulli", "--depth", "4", "--n-components", "full"]
    assert main([*argv, "--json", "--figure", str(figure)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["a_merges"]["separated_pairs"] == 34 and summary["b_merges"]["merged_pairs"] == 0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(argv + ["--top", "2"]) == 0
    text = capsys.readouterr().out
    assert "opt:beta-bernoulli merges 34 pairs; history:beta-bernoulli separates 34" in text
    assert main([*argv[:3], "--depth", "40"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_the_traced_floor_weights_each_history_by_how_often_it_was_traced():
    report = injectivity(coin("opt"), coin("history"), episodes=40, n_components="full")
    histories = report.histories
    assert histories.weight.sum() == 40 * tasks.get("beta-bernoulli").horizon and histories.weight.max() > 1
    repeats = histories.weight.astype(int)
    z = fit_whitening(np.repeat(histories.states["b"], repeats, axis=0)).transform(histories.states["b"])
    groups = {}
    for i, word in enumerate(report.settings["labels"]):
        flips = [] if word == "(start)" else word.split()
        groups.setdefault((flips.count("1"), len(flips)), []).append(i)
    left = 0.0
    for rows in groups.values():
        w = histories.weight[rows]
        mean = (w[:, None] * z[rows]).sum(0) / w.sum()
        left += (w * ((z[rows] - mean) ** 2).mean(-1)).sum()
    assert report.a_merges.d_s_floor == pytest.approx(left / histories.weight.sum(), rel=1e-10)
