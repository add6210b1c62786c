"""mfbook.book.lint: each rule on small notebooks, then the book's own pages."""

import json
from pathlib import Path

import pytest

from mfbook.book.lint import (Finding, glue_keys_used, lint_markdown, lint_notebook,
                              lint_path, main, source_references)

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
PAGES = sorted((ROOT / "chapters").glob("*.md")) + [ROOT / "README.md"]

# Pages with findings still to fix, each with the reason.  Empty an entry when its branch
# lands: the test below fails both for a page with findings that is not listed here and
# for a listed page that has none left.
PENDING = {
}


def _glue_output(key):
    return {"output_type": "display_data", "data": {"application/papermill.record/text/plain":
                                                     "'1.0'"},
            "metadata": {"scrapbook": {"name": key,
                                       "mime_prefix": "application/papermill.record/"}}}


def _image_output():
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}}


def _code(source, outputs=(), metadata=None):
    return {"cell_type": "code", "source": source, "outputs": list(outputs),
            "metadata": metadata or {}, "execution_count": 1}


def _md(source):
    return {"cell_type": "markdown", "source": source, "metadata": {}}


def _write(tmp_path, cells, name="nb.ipynb"):
    path = tmp_path / name
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}))
    return path


def _kinds(findings):
    return [(f.kind, f.cell) for f in findings]


def test_a_clean_notebook_has_no_findings(tmp_path):
    alt = {"mystnb": {"image": {"alt": "A curve of the loss against the step."}}}
    path = _write(tmp_path, [
        _md("The loss ends at {glue:text}`loss`, and ![a plot](fig.png)."),
        _code("x = 1\n" * 25, [_glue_output("loss")]),
        _code("plt.show()", [_image_output()], alt),
        _md("Over ten seeds, init seed 0 (`benchmarks/ch02_seeds.py`)."),
    ])
    assert lint_notebook(path) == []


def test_long_cells_are_counted_in_lines(tmp_path):
    path = _write(tmp_path, [_code("x = 1\n" * 25), _code("x = 1\n" * 25 + "y = 2"),
                             _code(["a\n"] * 30)])
    assert _kinds(lint_notebook(path)) == [("long-cell", 1), ("long-cell", 2)]
    assert _kinds(lint_notebook(path, max_lines=30)) == []
    assert "26 lines" in lint_notebook(path)[0].message


def test_images_need_alt_text_in_the_cell_metadata(tmp_path):
    path = _write(tmp_path, [
        _code("plt.show()", [_image_output()]),
        _code("plt.show()", [_image_output()], {"mystnb": {"image": {"alt": "  "}}}),
        _code("plt.show()", [_image_output()], {"mystnb": {"image": {"width": "80%"}}}),
        _code("print(1)", [{"output_type": "stream", "name": "stdout", "text": "1\n"}]),
        _md("![](figure.png) and ![described](other.png)"),
    ])
    assert _kinds(lint_notebook(path)) == [("missing-alt", 0), ("missing-alt", 1),
                                           ("missing-alt", 2), ("missing-alt", 4)]


def test_glue_keys_defined_and_used(tmp_path):
    path = _write(tmp_path, [
        _code("glue(...)", [_glue_output("used"), _glue_output("unused")]),
        _md("{glue:text}`used` and {glue:text}`missing:.2f`"),
    ])
    findings = lint_notebook(path)
    assert _kinds(findings) == [("unused-glue", 0), ("undefined-glue", 1)]
    assert "'unused'" in findings[0].message and "'missing'" in findings[1].message


def test_glue_roles_and_directives_are_all_recognized():
    text = ("{glue}`a` {glue:any}`b` {glue:md}`c` {glue:text}`d:.1%` {glue:text}`other::e`\n"
            "```{glue:figure} f\n:figwidth: 50%\n```\n:::{glue:math} g\n:::\n")
    assert glue_keys_used(text) == {"a", "b", "c", "d", "f", "g"}


@pytest.mark.parametrize("text", ["see ../shared/seeds/README.md", "the seeds/ folder",
                                  "in the seeds folder", "seed 003 says", "Seed 000",
                                  "seed_001", "the seed documents",
                                  "003_6fe11f6a89518822.txt"])
def test_references_to_material_readers_lack_are_found(text):
    assert source_references(text)


@pytest.mark.parametrize("text", ["ten seeds", "init seed 0", "seeds 0, 1, 2", "seed 42",
                                  "`ch02_seeds.py`", "{cite}`seed_streamrec`",
                                  "random_params(0.5, seed=0)", "shared by the chapters"])
def test_random_seeds_are_not_source_references(text):
    assert source_references(text) == []


def test_source_references_in_markdown_and_code_comments(tmp_path):
    path = _write(tmp_path, [_md("As ../shared says."), _code("x = 1  # seed 003's model"),
                             _code("seeds = [0, 1]  # ten seeds")])
    assert _kinds(lint_notebook(path)) == [("source-reference", 0), ("source-reference", 1)]


def test_markdown_pages_and_dispatch(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\nFrom seed 002, see ../shared.\n")
    assert [f.kind for f in lint_markdown(page)] == ["source-reference"] * 2
    assert lint_path(page) == lint_markdown(page)
    assert str(lint_markdown(page)[0]).startswith(f"{page}: source-reference: ")
    with pytest.raises(ValueError, match="path must be"):
        lint_path(tmp_path / "x.txt")
    with pytest.raises(ValueError, match="max_lines"):
        lint_notebook(_write(tmp_path, []), max_lines=0)


def test_command_line_status(tmp_path, capsys):
    clean = _write(tmp_path, [_md("text")], "clean.ipynb")
    dirty = _write(tmp_path, [_code("x\n" * 30)], "dirty.ipynb")
    assert main([str(clean)]) == 0
    assert main([str(clean), str(dirty)]) == 1
    assert "1 finding" in capsys.readouterr().out


def test_finding_str_names_the_cell():
    assert str(Finding("a.ipynb", 3, "long-cell", "30 lines")) == \
        "a.ipynb cell 3: long-cell: 30 lines"


def test_pending_names_existing_chapters():
    names = {p.name for p in CHAPTERS}
    assert set(PENDING) <= names, set(PENDING) - names


@pytest.mark.parametrize("path", CHAPTERS + PAGES, ids=lambda p: p.name)
def test_book_pages_pass_the_checker(path):
    findings = lint_path(path)
    if path.name in PENDING:
        assert findings, (f"{path.name} has no findings left: remove it from PENDING "
                          f"({PENDING[path.name]})")
    else:
        assert not findings, "\n".join(str(f) for f in findings)
