"""Sphinx configuration of the tsfilm documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html`` (``tox -e docs``). The build
is offline: no intersphinx, nothing fetched. The API pages (``docs/generated/``) and the
example gallery (``docs/auto_examples/``) are generated at build time and not kept in git.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import os
import re
import sys
from pathlib import Path

import matplotlib
from sphinx.errors import PycodeError
from sphinx.pycode import ModuleAnalyzer

# Before anything imports pyplot: the gallery examples draw off-screen.
matplotlib.use("Agg")

import tsfilm
from tsfilm import cli

DOCS = Path(__file__).resolve().parent

project = "tsfilm"
author = "The tsfilm developers"
copyright = "the tsfilm developers"
release = tsfilm.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
default_role = "literal"
root_doc = "index"

# -- API pages --------------------------------------------------------------------------
autosummary_generate = True
# Module pages list exactly a module's __all__, so a new public function gets its page
# without touching the docs.
autosummary_ignore_module_all = False
autosummary_imported_members = True


def _reexported_names() -> dict[str, dict[str, str]]:
    """Per API module: the names of its ``__all__`` that are another project's classes or
    functions (``tsfilm.validation`` re-exports scikit-learn's constraints), each with
    its origin. Their docstrings are written for that project's documentation, so the
    module pages name them instead of rendering them."""
    api = (DOCS / "api.rst").read_text(encoding="utf-8")
    names: dict[str, dict[str, str]] = {}
    for modname in re.findall(r"^   (tsfilm[\w.]*)$", api, flags=re.M):
        module = importlib.import_module(modname)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            origin = getattr(obj, "__module__", "") or ""
            if origin.split(".")[0] != "tsfilm":
                names.setdefault(modname, {})[name] = f"{origin}.{obj.__qualname__}"
    return names


autosummary_context = {"toplevel": sorted(tsfilm.__all__), "reexported": _reexported_names()}
autodoc_default_options = {"member-order": "groupwise"}
autodoc_typehints = "none"  # the numpydoc Parameters sections state the types
autodoc_inherit_docstrings = True
add_module_names = False

numpydoc_show_class_members = False  # the class template lists members itself
numpydoc_class_members_toctree = False
# Types become cross-references, word by word. Besides linking the classes, this keeps
# shapes such as "(n_features_in_,)" literal: a bare trailing underscore is a reST link.
numpydoc_xref_param_type = True
numpydoc_xref_ignore = {
    "of",
    "shape",
    "or",
    "and",
    "default",
    "optional",
    "same",
    "as",
    "the",
    "to",
    "in",
    "any",
    "one",
    "each",
    "per",
    "with",
    "a",
    "an",
    "dtype",
    "like",
}
# numpydoc's default aliases point some words at the Python and NumPy docs through
# intersphinx, which an offline build does not have; they are plain names here.
numpydoc_xref_aliases = {
    **{name: name for name in ("None", "True", "False", "list", "tuple", "str", "dict")},
    **{name: name for name in ("float", "int", "callable")},
    "string": "str",
    "bool": "bool",
    "boolean": "bool",
    "iterable": "``iterable``",
    "sequence": "``sequence``",
    "generator": "``generator``",
    "array-like": "``array-like``",
    "array_like": "``array-like``",
    "scalar": "``scalar``",
    "ndarray": "numpy.ndarray",
    "Tensor": "torch.Tensor",
    "TFiLMUNet": "tsfilm.nn.TFiLMUNet",
    "TextTokenizer": "tsfilm.preprocessing.TextTokenizer",
    "Bunch": "sklearn.utils.Bunch",
    "Figure": "matplotlib.figure.Figure",
}
numpydoc_use_plots = False


_LITERAL = re.compile(r"(``.+?``)")
# A bare name ending in "_" right before "," or ")" (e.g. "shape (n_features_in_,)", the
# scikit-learn way of naming a fitted attribute) is never meant as a reST hyperlink.
_FITTED_NAME = re.compile(r"(?<![\w`\\|])([A-Za-z][A-Za-z0-9_]*_)(?=[,)\]])")


def _quote_fitted_names(app, what, name, obj, options, lines):
    """Show fitted-attribute names in shapes as code instead of broken reST links."""
    for i, line in enumerate(lines):
        if line.lstrip().startswith((">>>", "...")):
            continue
        parts = _LITERAL.split(line)
        parts[::2] = [_FITTED_NAME.sub(r"``\1``", part) for part in parts[::2]]
        lines[i] = "".join(parts)


def _attribute_comment(modname: str, attr: str) -> list[str] | None:
    """The doc comment (``#:`` or a string after the assignment) of a module attribute."""
    try:
        return ModuleAnalyzer.for_module(modname).find_attr_docs().get(("", attr))
    except PycodeError:
        return None


def _document_reexported_data(app, what, name, obj, options, lines):
    """Give re-exported constants the doc comment of the module that defines them.

    autodoc reads doc comments in the module a constant is documented under; for a
    constant imported from a submodule (``tsfilm.estimators.UNET_CONSTRAINTS``) it finds
    none and shows the docstring of the value's type (``dict``) instead.
    """
    if what != "data":
        return
    modname, _, attr = name.rpartition(".")
    if _attribute_comment(modname, attr) is not None:
        return
    for other in sorted(sys.modules):
        if other.startswith(f"{modname}.") and getattr(sys.modules[other], attr, None) is obj:
            comment = _attribute_comment(other, attr)
            if comment:
                lines[:] = list(comment)
                return
    if getattr(obj, "__doc__", None) == getattr(type(obj), "__doc__", None):
        lines[:] = []  # the type's docstring says nothing about this constant


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Leave out members inherited from scikit-learn and torch.

    Their docstrings are written for those projects' documentation (cross-references to
    its user guide), and they are documented there; tsfilm's pages show what tsfilm adds.
    """
    if what != "class":
        # A module lists its __all__, whatever made the object (the scorers of
        # tsfilm.metrics are scikit-learn objects).
        return skip
    target = obj.fget if isinstance(obj, property) else obj
    module = getattr(target, "__module__", None) or ""
    if module.split(".")[0] in {"sklearn", "torch", "sktime", "skbase"}:
        return True
    return skip


# -- Example gallery -------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": ["examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("tsfilm",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"tsfilm": None},
    "abort_on_example_error": True,
    "remove_config_comments": True,
    "download_all_examples": False,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "show_memory": False,
    "min_reported_time": 1,
    # The timing page would land in docs/ itself, outside the git-ignored folders.
    "write_computation_times": False,
}

# -- HTML ------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"tsfilm {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}


# -- Command-line help, generated so the page always matches the parser ---------------
def _write_cli_help() -> None:
    """Write ``tsfilm [command] --help`` to ``generated/cli/*.txt`` for the CLI page."""
    out = DOCS / "generated" / "cli"
    out.mkdir(parents=True, exist_ok=True)
    # argparse wraps to the terminal width; a fixed width keeps the page stable.
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "88"
    try:
        commands = ("", "train", "upsample", "impute", "classify train", "classify predict")
        for command in (*commands, "evaluate", "models", "demo"):
            argv = [*command.split(), "--help"]
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
                cli.main(argv)
            text = buffer.getvalue()
            target = out / f"{command.replace(' ', '-') or 'tsfilm'}.txt"
            # Rewriting an unchanged file would make Sphinx rebuild the page every time.
            if not target.exists() or target.read_text() != text:
                target.write_text(text)
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns


def setup(app):
    _write_cli_help()
    app.connect("autodoc-skip-member", _skip_foreign_members)
    # Before numpydoc (priority 500), which reads the types of these lines.
    app.connect("autodoc-process-docstring", _document_reexported_data, priority=300)
    app.connect("autodoc-process-docstring", _quote_fitted_names, priority=400)
