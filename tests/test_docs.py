"""The Sphinx documentation builds without a warning, gallery included."""

from __future__ import annotations

from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path: Path) -> None:
    pytest.importorskip("sphinx")
    for extension in ("numpydoc", "sphinx_gallery", "pydata_sphinx_theme"):
        pytest.importorskip(extension)
    from sphinx.cmd.build import build_main

    # -W turns every warning into an error: a broken docstring or a failing gallery
    # example fails this test.
    assert build_main(["-W", "-b", "html", "-q", str(DOCS), str(tmp_path)]) == 0

    page = tmp_path / "generated" / "tsfilm.TFiLMSuperResolver.html"
    assert page.is_file()
    html = page.read_text(encoding="utf-8")
    # The parameters of the class and of the shared training engine are both documented.
    assert "patch_length" in html
    assert "max_epochs" in html
    # Every gallery example ran and produced a page with a figure.
    examples = sorted(p.stem for p in (DOCS / "examples").glob("plot_*.py"))
    assert examples
    for name in examples:
        example = (tmp_path / "auto_examples" / f"{name}.html").read_text(encoding="utf-8")
        assert "sphx-glr-single-img" in example or "sphx-glr-multi-img" in example, name
