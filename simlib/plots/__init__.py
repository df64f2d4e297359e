"""Figures: the simulation panel (paper Figure 3) and the reproduction's figures."""

from simlib.plots.behaviour import behaviour_figure
from simlib.plots.convergence import convergence_figure
from simlib.plots.injectivity import injectivity_figure
from simlib.plots.simulation import output_colours, simulation_panel
from simlib.plots.summary import figure4, memory_figure

__all__ = ["behaviour_figure", "convergence_figure", "figure4", "injectivity_figure", "memory_figure", "output_colours", "simulation_panel"]
