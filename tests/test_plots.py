"""Figures that read right: equal-aspect maps, every value visible, honest colours and summaries."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgba
from scipy import stats

from simlib import tasks
from simlib.families import Bernoulli, Categorical, Lomax, Normal, Policy, StudentT
from simlib.machines import require_bayes_optimal
from simlib.pipeline.wang2016_report import _simulation_figure
from simlib.plots import behaviour_figure, convergence_figure, figure4, output_colours
from simlib.plots.behaviour import output_summary, per_class
from simlib.plots.convergence import embedding_shape
from simlib.plots.simulation import class_colours
from simlib.plots.summary import COLUMNS, log_limits


def _drawn(fig):
    FigureCanvasAgg(fig).draw()
    return fig


# --- Figure 2: the MDS maps -------------------------------------------------------------------

def _convergence(embedding: np.ndarray, zoom: np.ndarray, runs: dict[str, list[int]]) -> xr.Dataset:
    """A convergence dataset as :func:`simlib.convergence.analyse` lays it out, from given maps."""
    names = [f"{run}@{step}" for run, steps in runs.items() for step in steps] + ["opt"]
    point_run = [run for run, steps in runs.items() for _ in steps] + ["opt"]
    point_step = [step for steps in runs.values() for step in steps] + [-1]
    steps = sorted({step for steps in runs.values() for step in steps})
    within = np.linspace(0.5, 0.01, len(runs) * len(steps) * 4).reshape(len(runs), len(steps), 4)
    return xr.Dataset(
        {
            "within": (("run", "step", "time"), within),
            "embedding": (("point", "axis"), embedding),
            "embedding_zoom": (("point", "axis"), zoom),
            "train_step": (("run", "record"), np.tile(np.asarray(steps, float), (len(runs), 1))),
            "train_loss": (("run", "record"), np.tile(np.linspace(1, 0.5, len(steps)), (len(runs), 1))),
        },
        coords={"point": names, "axis": ["MDS 1", "MDS 2"], "run": list(runs), "step": steps, "time": np.arange(4),
                "point_run": ("point", point_run), "point_step": ("point", np.asarray(point_step))},
        attrs={"task": "toy", "reference": "opt", "episodes": 10, "distance_episodes": 5, "closed_loop": 0,
               "within_measure": "KL", "within_units": "nats", "distance_measure": "JS", "distance_units": "nats"},
    )


def _maps(fig):
    return [ax for ax in fig.get_axes() if ax.get_xlabel().startswith("MDS 1")]


def _data_per_pixel(ax) -> tuple[float, float]:
    box = ax.get_window_extent()
    return np.ptp(ax.get_xlim()) / box.width, np.ptp(ax.get_ylim()) / box.height


def test_mds_maps_are_equal_aspect_and_hold_every_point():
    embedding = np.array([[-3.0, 0.4], [-1.0, 0.1], [-0.5, -0.05], [-2.5, -0.3], [-0.8, 0.2], [0.0, 0.0]])
    zoom = np.array([[np.nan, np.nan], [-1.0, 0.1], [-0.5, -0.05], [np.nan, np.nan], [-0.8, 0.2], [0.0, 0.0]])
    fig = _drawn(convergence_figure(_convergence(embedding, zoom, {"a": [0, 5, 10], "b": [0, 5]})))
    maps = _maps(fig)
    assert len(maps) == 2
    for ax, points in zip(maps, (embedding, zoom[np.isfinite(zoom).all(1)])):
        assert ax.get_aspect() == 1.0
        x_scale, y_scale = _data_per_pixel(ax)
        assert x_scale == pytest.approx(y_scale, rel=1e-3)
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        assert (points[:, 0] >= x0).all() and (points[:, 0] <= x1).all()
        assert (points[:, 1] >= y0).all() and (points[:, 1] <= y1).all()
        assert not any("degenerate" in text.get_text() for text in ax.texts)


def test_a_degenerate_embedding_is_said_and_not_amplified():
    """One run's zoom: its points on a line, round-off of 1e-23 across it, must not fill the panel."""
    embedding = np.array([[-1.45, -0.006], [-0.86, 0.05], [-0.79, -0.005], [0.0, 0.0]])
    zoom = np.array([[np.nan, np.nan], [-0.843, 2.1e-23], [-0.742, -4.2e-23], [0.0, 0.0]])
    fig = _drawn(convergence_figure(_convergence(embedding, zoom, {"seed-0": [0, 15, 30]})))
    full, zoomed = _maps(fig)
    assert [t.get_text() for t in full.texts if "degenerate" in t.get_text()] == []
    assert any("on a line" in t.get_text() for t in zoomed.texts)
    assert np.ptp(zoomed.get_ylim()) > 0.1 * np.ptp(zoomed.get_xlim())  # equal scales, not 1e-23


def test_coincident_points_get_sensible_limits_and_a_note():
    embedding = np.array([[0.5, 0.2], [0.0, 0.0]])
    zoom = np.zeros((2, 2))
    fig = _drawn(convergence_figure(_convergence(embedding, zoom, {"r": [0]})))
    zoomed = _maps(fig)[1]
    assert any("coincide" in t.get_text() for t in zoomed.texts)
    assert 0.1 < np.ptp(zoomed.get_xlim()) < 10 and 0.1 < np.ptp(zoomed.get_ylim()) < 10


@pytest.mark.parametrize(
    ("points", "shape"),
    [
        (np.array([[0.0, 0.0], [1.0, 2.0], [2.0, -1.0]]), "plane"),
        (np.array([[0.0, 0.0], [1.0, 1.0 + 1e-14], [2.0, 2.0]]), "line"),
        (np.array([[-0.84, 2e-23], [-0.74, -4e-23], [0.0, 0.0]]), "line"),
        (np.array([[0.0, 0.0], [1e-20, -1e-20]]), "coincident"),
        (np.array([[3.0, 4.0]]), "coincident"),
    ],
)
def test_embedding_shape(points, shape):
    assert embedding_shape(points) == shape


# --- Figure 4 and Wang's simulation figure: points on log axes ------------------------------------

def _values(medians: dict[tuple[str, str, str], float], tasks_=("t1", "t2"), seeds=3) -> xr.DataArray:
    value = np.full((len(tasks_), seeds, 2, len(COLUMNS)), 0.3)
    value += np.linspace(0, 0.1, seeds)[None, :, None, None]
    data = xr.DataArray(value, dims=("task", "seed", "stage", "measure"),
                        coords={"task": list(tasks_), "seed": np.arange(seeds), "stage": ["init", "final"],
                                "measure": list(COLUMNS)})
    for (task, stage, measure), v in medians.items():
        data.loc[{"task": task, "stage": stage, "measure": measure}] = v
    return data


def _points(ax) -> tuple[np.ndarray, np.ndarray]:
    """Every marker drawn in a Figure 4 panel: (x, y) of errorbar points and edge markers."""
    xs, ys = [], []
    for line in ax.get_lines():
        if line.get_marker() not in (None, "None", "", " ", "|", "_"):  # not the error bars' caps
            xs.append(np.asarray(line.get_xdata(), float))
            ys.append(np.asarray(line.get_ydata(), float))
    return np.concatenate(xs or [[]]), np.concatenate(ys or [[]])


def test_figure4_draws_every_median_as_a_point_inside_data_limits():
    values = _values({("t1", "final", "rnn_to_opt_d_s"): 2.5e-6, ("t2", "final", "behaviour"): 0.0,
                      ("t2", "init", "opt_to_rnn_d_o"): np.nan, ("t1", "init", "rnn_to_opt_d_o"): 40.0})
    fig = _drawn(figure4(values))
    axes = fig.get_axes()[: len(COLUMNS)]
    for ax, measure in zip(axes, COLUMNS):
        assert ax.get_xscale() == "log" and not ax.patches  # points, not bars from an arbitrary floor
        data = values.sel(measure=measure)
        medians = data.median("seed").values
        x, _ = _points(ax)
        assert len(x) == np.isfinite(medians).sum()
        positive = data.values[np.isfinite(data.values) & (data.values > 0)]
        low, high = ax.get_xlim()
        assert low < positive.min() and positive.max() < high
        assert (x >= low).all() and (x <= high).all()
    assert "1 median(s) ≤ 0" in axes[0].get_xlabel()  # the zero median is at the edge, and said
    assert "≤ 0" not in axes[1].get_xlabel()


def test_log_limits_span_at_least_two_decades_around_the_data():
    low, high = log_limits(np.array([0.3, 0.35, np.nan, 0.0, -1.0]))
    assert low < 0.3 and high > 0.35 and np.log10(high / low) >= 2 - 1e-9
    low, high = log_limits(np.array([2.5e-6, 40.0]))
    assert low < 2.5e-6 and high > 40.0


def test_wang_simulation_figure_shows_a_tiny_d_s():
    def row(task, stage, d_s):
        return {"task": task, "stage": stage, "return_gap": 0.5, "d_s_rnn_to_opt": d_s, "d_o_rnn_to_opt": 0.2,
                "d_s_opt_to_rnn": 0.1, "d_o_opt_to_rnn": 0.3}

    rows = [row("informative-arm-bandit", "init", 0.4), row("informative-arm-bandit", "final", 2.5e-6),
            row("restless-bandit", "init", 0.5), row("restless-bandit", "final", 0.05)]
    ax = _drawn(_simulation_figure(rows)).get_axes()[1]
    x, _ = _points(ax)
    assert 2.5e-6 in x and ax.get_xlim()[0] < 2.5e-6


# --- Figure 1: summaries that are finite and move, every class ------------------------------------

def test_lomax_summary_is_the_finite_median_even_without_a_mean():
    params = np.array([[[0.5, 2.0], [3.0, 1.0]]])  # shape 0.5: infinite mean
    agent, reference, label = output_summary(Lomax(), params, params)
    assert "median" in label and np.isfinite(agent).all()
    np.testing.assert_allclose(agent[0], [stats.lomax(0.5, scale=2.0).median(), stats.lomax(3.0, scale=1.0).median()])


def test_a_prior_fixed_location_is_replaced_by_the_scale_that_moves():
    agent = np.array([[[3.0, 0.02, 0.7], [4.0, -0.01, 0.8]]])
    reference = np.array([[[3.0, 0.0, 1.0], [4.0, 0.0, 1.2]]])
    values, fixed, label = output_summary(StudentT(), agent, reference)
    assert "scale" in label and "fixed at 0" in label
    np.testing.assert_array_equal(values, agent[..., 2])
    np.testing.assert_array_equal(fixed, reference[..., 2])
    moving = reference.copy()
    moving[0, 1, 1] = 0.5
    assert "median" in output_summary(StudentT(), agent, moving)[2]
    assert "median" in output_summary(Normal(), agent[..., 1:], moving[..., 1:])[2]


@pytest.mark.parametrize(("family", "expected"), [(Categorical(5), True), (Categorical(3), True), (Categorical(2), True),
                                                  (Policy(11), True), (Policy(2), False), (Bernoulli(), False)])
def test_which_families_draw_every_class(family, expected):
    assert per_class(family) is expected


def _lines_with_data(fig):
    return [line for ax in fig.get_axes() for line in ax.get_lines() if len(line.get_xdata())]


def test_categorical_figure1_draws_every_class_of_three_episodes():
    task = tasks.get("dirichlet-categorical-5", horizon=6)
    opt = require_bayes_optimal(task)
    fig = _drawn(behaviour_figure(task, {"final": opt}, opt, episodes=10))
    left = [ax for ax in fig.get_axes() if ax.get_title().startswith("episode")]
    assert len(left) == 3
    for ax in left:
        lines = ax.get_lines()
        assert len(lines) == 2 * 5  # agent and Bayes-optimal, every class
        for line in lines:
            assert np.isfinite(np.asarray(line.get_ydata(), float)).sum() == 6


class HeavyTailed:
    """Predicts Lomax(shape 0.8, scale 1 + t): no finite mean at any step."""

    input_dim, state_dim, output = 2, 1, Lomax()

    def initial_state(self, batch):
        return torch.zeros(batch, 1, dtype=torch.float64)

    def step(self, x, s):
        return torch.stack([torch.full_like(s[:, 0], 0.8), 1.0 + s[:, 0]], 1), s + 1


def test_figure1_draws_every_step_of_a_heavy_tailed_agent_within_its_limits():
    task = tasks.get("gamma-exponential", horizon=5)
    fig = _drawn(behaviour_figure(task, {"final": HeavyTailed()}, require_bayes_optimal(task), episodes=10))
    left = fig.get_axes()[0]
    assert "median" in left.get_ylabel()
    for line in left.get_lines():
        y = np.asarray(line.get_ydata(), float)
        assert np.isfinite(y).sum() == 5
        low, high = left.get_ylim()
        assert low <= y.min() and y.max() <= high


# --- Figure 3: colours that mean what they say ---------------------------------------------------

def test_nominal_classes_are_coloured_by_the_most_probable_class():
    params = np.array([[0.1, 0.6, 0.1, 0.1, 0.1], [0.05, 0.05, 0.05, 0.05, 0.8], [0.4, 0.1, 0.2, 0.2, 0.1]])
    colours, label = output_colours(Categorical(5), params)
    assert np.issubdtype(colours.dtype, np.integer)
    np.testing.assert_array_equal(colours, [1, 4, 0])
    assert "most probable class" in label and "expected" not in label
    cmap, norm = class_colours(5)
    assert len({to_rgba(cmap(norm(c))) for c in range(5)}) == 5


def test_three_classes_keep_the_rgb_colouring_and_two_actions_their_probability():
    params = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    colours, label = output_colours(Categorical(3), params)
    np.testing.assert_array_equal(colours, params)
    assert "red, green, blue" in label
    colours, label = output_colours(Policy(2), np.array([[0.3, 0.7]]))
    np.testing.assert_allclose(colours, [0.7])
    assert label == "P(choose action 1)"


def test_scatter_of_the_panel_uses_the_class_colours():
    """The colour a class index is drawn in is the class's colour (no continuous norm in between)."""
    from matplotlib.figure import Figure

    from simlib.plots.simulation import _panel

    cmap, norm = class_colours(4)
    ax = Figure().subplots()
    classes = np.array([0, 1, 2, 3, 3, 2]).reshape(2, 3, 1)
    _panel(ax, np.random.default_rng(0).normal(size=(2, 3, 2)), classes, cmap, norm, "t", "A")
    scatter = next(c for c in ax.collections if isinstance(c, PathCollection))
    FigureCanvasAgg(ax.figure).draw()
    np.testing.assert_allclose(scatter.get_facecolors(), [to_rgba(cmap(c)) for c in classes.ravel()])


def test_continuous_colours_are_finite_and_show_what_moves():
    colours, label = output_colours(Lomax(), np.array([[0.5, 2.0], [3.0, 1.0]]))
    assert np.isfinite(colours).all() and "median" in label
    outputs = np.array([[3.0, 0.01, 0.7], [4.0, -0.02, 0.9]])
    reference = np.array([[3.0, 0.0, 1.0], [4.0, 0.0, 1.2]])
    colours, label = output_colours(StudentT(), outputs, reference)
    np.testing.assert_array_equal(colours, [0.7, 0.9])
    assert "scale" in label and "fixed at 0" in label
