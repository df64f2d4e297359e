"""simlib: does this recurrent agent compute what that one computes?

The core layer: the StateMachine protocol, output families, traces, behaviour metrics,
approximate simulation and finite-machine extraction. Tasks and machines live in
``simlib.tasks`` and ``simlib.machines``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("simlib-agents")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

from simlib.errors import SimlibError
from simlib.machine import StateMachine, unroll

__all__ = ["SimlibError", "StateMachine", "unroll", "__version__"]
