"""Sphinx configuration of the sklearn-gradexplain documentation (``make docs``)."""

import os
import re
import sys

sys.path.insert(0, os.path.abspath(".."))

import sklearn_gradexplain  # noqa: E402

project = "sklearn-gradexplain"
author = "sklearn-gradexplain developers"
copyright = "2024, sklearn-gradexplain developers"
release = sklearn_gradexplain.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    # MathJax 3 from a local copy (the sphinx-mathjax-offline package, installed
    # from PyPI by the docs extra): the built pages load nothing from the network.
    "sphinx-mathjax-offline",
]

# The examples gallery: docs/examples/plot_*.py, run at build time (they call the
# demo's sections, the code `make demo` runs), written to docs/generated/gallery.
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "generated/gallery",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "capture_repr": ("_repr_html_", "__repr__"),
    "abort_on_example_error": True,
    "write_computation_times": False,
    "download_all_examples": False,
    "show_memory": False,
    "show_signature": False,
    "remove_config_comments": True,
    "reset_modules": ("matplotlib",),
}

# numpydoc renders the docstrings; class members are documented by autodoc itself,
# not by numpydoc's member tables (which would need autosummary stub pages).
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
autodoc_default_options = {
    "exclude-members": "set_fit_request, set_score_request, set_output"
}
autodoc_member_order = "bysource"
autodoc_typehints = "none"

# No network access at build time: intersphinx inventories are not fetched.
intersphinx_mapping = {}

templates_path = []
exclude_patterns = ["_build", "examples/README.rst"]
root_doc = "index"
html_theme = "alabaster"
html_static_path = []
html_theme_options = {"description": "Explain any fitted model by its input gradient"}
# no "Powered by" links to external sites in the footer
html_show_sphinx = False


# Attribute names such as ``coef_`` or ``n_features_in_`` written without backticks
# in a docstring (e.g. "shape (n_features_in_,)") are reStructuredText link references
# ("name_") and would fail the build; render them as literals instead, the way
# scikit-learn writes them. Doctest lines and literals are left alone, and so are the
# names in bold: numpydoc (whose handler runs first) writes the entries of Parameters
# and Attributes as "**coef_** : ndarray", where no inline markup is parsed, so
# backticks there would show literally.
_TRAILING_UNDERSCORE = re.compile(r"(?<![`\w.:|*])([A-Za-z]\w*_)(?![\w`*])")


def _literal_attributes(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith((">>>", "...")) or "`" in line:
            continue
        lines[i] = _TRAILING_UNDERSCORE.sub(r"``\1``", line)


def setup(app):
    app.connect("autodoc-process-docstring", _literal_attributes)
