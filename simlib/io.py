"""Atomic file writing: results appear whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from simlib.errors import SimlibError


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); rename it onto ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _umask() -> int:
    """The process umask (read by setting and restoring it)."""
    current = os.umask(0o022)
    os.umask(current)
    return current


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(text)
    return Path(path)


def require_writable_folder(path: str | os.PathLike) -> Path:
    """Check, before any work, that result files can be written into the folder ``path``
    (made later if missing): not an existing file, names within the file system's limit, and
    the nearest existing folder accepts a new file. Returns ``path``."""
    path = Path(path)
    _require_names_fit(path)
    if path.exists() and not path.is_dir():
        raise SimlibError(f"{path} exists and is not a folder; choose another --out")
    _probe(_nearest_existing(path))
    return path


def require_writable_file(path: str | os.PathLike) -> Path:
    """Check, before any work, that ``path`` can be written atomically (a temporary file beside
    it, renamed onto it): a regular file or nothing there yet, in a folder that accepts files."""
    path = Path(path)
    _require_names_fit(path)
    if path.exists() and not path.is_file():
        raise SimlibError(f"{path} exists and is not a regular file; choose another --out")
    _probe(_nearest_existing(path.parent))
    return path


def _nearest_existing(folder: Path) -> Path:
    folder = folder.absolute()
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise SimlibError(f"{folder} is not a folder; choose another --out")
    return folder


def _require_names_fit(path: Path) -> None:
    try:
        limit = os.pathconf(_nearest_existing(path.parent), "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    for part in path.parts:
        if len(os.fsencode(part)) > limit:
            raise SimlibError(f"a name in --out is longer than this file system allows ({limit} bytes): {part[:40]}...")


def _probe(folder: Path) -> None:
    """Create and remove a one-byte file in ``folder``: the only check that a read-only mount,
    missing permissions or a full disk will not fail the write at the end."""
    try:
        with tempfile.TemporaryFile(dir=folder) as handle:
            handle.write(b"\0")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise SimlibError(f"cannot write into {folder}: {error.strerror or error}") from None

