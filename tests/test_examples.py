"""Every gallery example runs on its own, in a small-size mode, and is in sphinx-gallery form."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("plot_*.py"))
IDS = [p.stem for p in EXAMPLES]


@pytest.mark.parametrize("script", EXAMPLES, ids=IDS)
def test_example_runs(script, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg", "SIMLIB_GALLERY_EPISODES": "50"}
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    printed = result.stdout
    assert re.search(r"\d", printed), "the example prints no figures"
    assert not re.search(r"\b(nan|inf)\b", printed, re.IGNORECASE), f"a non-finite result:\n{printed[-2000:]}"


@pytest.mark.parametrize("script", EXAMPLES, ids=IDS)
def test_example_is_in_gallery_form(script):
    """A reST title and a story in the module docstring, then cells that open with text."""
    source = script.read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse(source))
    assert docstring, "no module docstring"
    title, underline, *story = docstring.splitlines()
    assert title.strip() and set(underline) == {"="} and len(underline) >= len(title), "no reST title"
    assert any(line.strip() for line in story), "no story paragraph under the title"
    cells = source.split("\n# %%\n")[1:]
    assert cells, "no '# %%' cell"
    for cell in cells:
        first_line = cell.split("\n", 1)[0]
        assert first_line.startswith("# ") and first_line[2:].strip(), "a cell must open with a comment text block"


def test_there_are_examples():
    assert EXAMPLES
