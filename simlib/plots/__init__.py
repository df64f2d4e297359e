"""Figures: the simulation panel (paper Figure 3) and the reproduction's figures."""

from simlib.plots.simulation import output_colours, simulation_panel

__all__ = ["output_colours", "simulation_panel"]
