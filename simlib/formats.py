"""Format versions: every file and report simlib writes says what it is, which version of its
layout, and which simlib, torch and numpy wrote it; readers check the version in one place.

=================  =========================  ===================================================
kind               where the stamp lives      versions
=================  =========================  ===================================================
``checkpoint``     top-level keys             1: no ``written_by`` (migrated on read); 2: current
``traces``         netCDF attributes          2: float64, uncompressed; 3: current (compressed,
                                              float64 stored as float32 where that is exact)
``convergence``    netCDF attributes          1: current
``report``         JSON keys                  1: current (``simlib compare/injectivity --json``)
=================  =========================  ===================================================
"""

from __future__ import annotations

import numpy as np
import torch

import simlib
from simlib.errors import SimlibError

CURRENT = {"checkpoint": 2, "traces": 3, "convergence": 1, "report": 1}
"""The version of each kind this simlib writes (and the newest it reads)."""


def written_by() -> dict[str, str]:
    """The versions of the software writing a file now."""
    return {"simlib": str(simlib.__version__), "torch": str(torch.__version__), "numpy": str(np.__version__)}


def stamp(kind: str) -> dict:
    """Keys that identify a file or report of ``kind`` written now: its format name, version and
    the writing software (``written_by`` as a dict)."""
    return {"format": f"simlib-{kind}", "format_version": CURRENT[kind], "written_by": written_by()}


def flat_stamp(kind: str) -> dict[str, str | int]:
    """:func:`stamp` as flat scalar attributes (netCDF attributes cannot hold dicts)."""
    return {
        "format": f"simlib-{kind}",
        "format_version": CURRENT[kind],
        **{f"written_by_{name}": version for name, version in written_by().items()},
    }


def require_readable(kind: str, version: object, where: str) -> int:
    """The version of a file of ``kind`` if this simlib reads it, else a :class:`SimlibError`:
    a version from a newer simlib (upgrade) or one that is not a version at all."""
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 1:
        raise SimlibError(f"{where} has no valid {kind} format version ({version!r})")
    if version > CURRENT[kind]:
        raise SimlibError(
            f"{where} is {kind} version {version}, written by a newer simlib; "
            f"this simlib {simlib.__version__} reads up to version {CURRENT[kind]}: upgrade simlib"
        )
    return int(version)
