"""Sphinx configuration: the simlib docs and the sphinx-gallery build of ``examples/``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # gallery_order, the gallery's sort key

project = "simlib"
author = "simlib developers"
copyright = "simlib developers"

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx_gallery.gen_gallery", "myst_parser"]
autodoc_member_order = "bysource"
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_title = "simlib"

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "image_scrapers": ("matplotlib",),
    "within_subsection_order": "gallery_order.StoryOrder",
    "remove_config_comments": True,
}
