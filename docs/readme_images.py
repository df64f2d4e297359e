"""Regenerate the gallery figures the README shows: ``python docs/readme_images.py``.

Runs each listed example at its default size and saves one of its figures, by its order of
creation in the script, under ``docs/images/`` at 80 dpi (each must stay under 200 KB).
"""

from __future__ import annotations

import runpy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

ROOT = Path(__file__).resolve().parents[1]
IMAGES = {  # file under docs/images: (example, figure number in the example)
    "three_sided_die.png": ("plot_three_sided_die.py", 1),
    "fsm_extraction.png": ("plot_fsm_extraction.py", 3),
}
DPI = 80
MAX_BYTES = 200_000


def save_figure(example: str, number: int, target: Path) -> int:
    """Run ``examples/example`` and save its ``number``-th figure to ``target``; return its size in bytes."""
    plt.close("all")
    runpy.run_path(str(ROOT / "examples" / example), run_name="__main__")
    plt.figure(plt.get_fignums()[number - 1]).savefig(target, dpi=DPI)
    plt.close("all")
    return target.stat().st_size


def main() -> None:
    for name, (example, number) in IMAGES.items():
        target = ROOT / "docs" / "images" / name
        size = save_figure(example, number, target)
        if size > MAX_BYTES:
            raise SystemExit(f"{target} is {size} bytes, over {MAX_BYTES}: lower DPI")
        print(f"{target.relative_to(ROOT)}: figure {number} of {example}, {size // 1000} KB")


if __name__ == "__main__":
    main()
