"""simlib: does this recurrent agent compute what that one computes?

The core layer: the StateMachine protocol, output families, traces, behaviour metrics,
approximate simulation and finite-machine extraction. Tasks and machines live in
``simlib.tasks`` and ``simlib.machines``.
"""

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

_HERE = Path(__file__).parent
if not (_HERE / "tasks").is_dir() and (_HERE.parent / "tasks" / "__init__.py").is_file():
    # A source checkout on sys.path (``python -m pytest`` in the repository): the layers that
    # install as simlib.tasks, simlib.machines, ... are the checkout's sibling folders.
    __path__.append(str(_HERE.parent))

try:
    __version__ = version("simlib-agents")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

from simlib.errors import SimlibError

__all__ = ["SimlibError", "StateMachine", "unroll", "__version__"]


def __getattr__(name: str):
    """``StateMachine`` and ``unroll``, imported on first use: importing torch takes about a
    second, and ``simlib --help`` or a mistyped option should not wait for it."""
    if name in ("StateMachine", "unroll"):
        from simlib import machine

        return getattr(machine, name)
    raise AttributeError(f"module 'simlib' has no attribute {name!r}")
