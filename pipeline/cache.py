"""Results cached in an output folder, each stored with the key of what made it.

A cached file is reused only when the key it was written with equals the key asked for, so a
rerun with other settings (more episodes, a retrained agent) recomputes the file instead of
silently reusing the old result; a file written without a key (older simlib) is recomputed once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import xarray as xr

from simlib.io import atomic_path, write_text

KEY = "simlib_key"


def phi_key(phi_steps: int | None) -> dict:
    """The key part of a cap on phi's iterations: none without a cap, so results cached before
    the cap existed (all made with the default) keep their keys."""
    return {} if phi_steps is None else {"phi_steps": phi_steps}


def cache_key(**parts) -> str:
    """The canonical text of what determines a result (JSON, sorted keys)."""
    return json.dumps(parts, sort_keys=True, default=str)


def read_dataset(path: Path) -> xr.Dataset:
    """A netCDF file fully loaded (the file is closed)."""
    with xr.open_dataset(path) as opened:
        return opened.load()


def dataset_key(path: Path) -> str | None:
    """The key ``path`` was cached with (None: missing, unreadable or written without one)."""
    if not path.exists():
        return None
    try:
        return read_dataset(path).attrs.get(KEY)
    except (OSError, ValueError):
        return None


def write_dataset(path: Path, key: str, data: xr.Dataset) -> None:
    """Write ``data`` with its ``key`` (an attribute) as netCDF, atomically."""
    data.attrs[KEY] = key
    with atomic_path(path) as temporary:
        data.to_netcdf(temporary)


def cached_dataset(path: Path, key: str, build: Callable[[], xr.Dataset]) -> xr.Dataset:
    """The dataset in ``path`` if it was made with ``key``; else built, keyed and written atomically."""
    if dataset_key(path) != key:
        write_dataset(path, key, build())
    return read_dataset(path)


def record_key(path: Path) -> str | None:
    """The key of the JSON record in ``path`` (None: missing, unreadable or written without one)."""
    try:
        return json.loads(path.read_text()).get(KEY)
    except (OSError, ValueError, AttributeError):
        return None


def write_record(path: Path, key: str, record: dict) -> dict:
    """Write ``record`` with its ``key`` as JSON, atomically; the record as written."""
    keyed = {**record, KEY: key}
    write_text(path, json.dumps(keyed, indent=1, default=float) + "\n")
    return keyed
