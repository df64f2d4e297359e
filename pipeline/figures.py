"""Writing the pipelines' figures: PNG, atomically, the pyplot figure closed after."""

from __future__ import annotations

from pathlib import Path

from simlib.io import atomic_path


def save_figure(figure, path: Path) -> Path:
    """Write ``figure`` (a matplotlib Figure) to ``path`` as PNG at 110 dpi; ``path``."""
    import matplotlib.pyplot as plt

    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=110)
    plt.close(figure)
    return path
