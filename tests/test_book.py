"""The book's own tooling: glue formatting and the offline plotly renderer."""

import json
from types import SimpleNamespace

import pytest

from mfbook.book import glue
from mfbook.book.offline import PLOTLY_MIME, PlotlyMimeRenderer, _STATIC, MATHJAX_FILE


def test_glue_requires_a_format_for_numbers():
    with pytest.raises(ValueError, match="format spec"):
        glue("x", 0.1234567)


def test_glue_stores_formatted_text(monkeypatch):
    stored = {}
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: stored.update({name: value}))
    glue("loss", 0.123456789, ".4f")
    glue("count", 12345, ",")
    glue("word", "saddle")
    assert stored == {"loss": "0.1235", "count": "12,345", "word": "saddle"}


def _mime(content, mime=PLOTLY_MIME, cell=3, output=0):
    return SimpleNamespace(mime_type=mime, content=content, cell_index=cell, output_index=output)


def test_plotly_renderer_is_deterministic_and_escapes_script():
    fig = {"data": [{"type": "scatter", "x": [1, 2], "y": [3, 4], "name": "</script>"}],
           "layout": {"height": 400}}
    first = PlotlyMimeRenderer.handle_mime(None, _mime(fig), False)
    second = PlotlyMimeRenderer.handle_mime(None, _mime(json.dumps(fig)), False)
    html = first[0].astext()
    assert html == second[0].astext()
    assert 'id="mfbook-plotly-3-0"' in html and "height:400px" in html
    assert html.count("</script>") == 1  # the figure's own text cannot close the tag


def test_plotly_renderer_ignores_other_mime_types():
    assert PlotlyMimeRenderer.handle_mime(None, _mime("x", mime="text/plain"), False) is None
    assert PlotlyMimeRenderer.handle_mime(None, _mime({}), True) is None


def test_mathjax_is_shipped():
    assert (_STATIC / MATHJAX_FILE).stat().st_size > 1_000_000


def test_merge_streams_joins_consecutive_chunks_of_one_stream():
    from mfbook.book.execute import merge_streams

    outs = [
        {"output_type": "stream", "name": "stdout", "text": "a\n"},
        {"output_type": "stream", "name": "stdout", "text": ["b\n", "c\n"]},
        {"output_type": "stream", "name": "stderr", "text": "w\n"},
        {"output_type": "display_data", "data": {"text/plain": "fig"}, "metadata": {}},
        {"output_type": "stream", "name": "stdout", "text": "d\n"},
    ]
    merged = merge_streams(outs)
    assert [o["output_type"] for o in merged] == ["stream", "stream", "display_data", "stream"]
    assert merged[0]["text"] == "a\nb\nc\n"
    assert merged[1]["text"] == "w\n" and merged[3]["text"] == "d\n"


def test_every_chapter_2_to_4_benchmark_has_a_quick_mode():
    # benchmarks/run_quick.py (CI's "benchmarks, quick" step) runs the scripts it discovers;
    # a chapter 2-4 program without --quick would silently drop out of CI.
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("run_quick", root / "benchmarks" / "run_quick.py")
    run_quick = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_quick)
    found = {p.name for p in run_quick.quick_scripts()}
    programs = {p.name for n in (2, 3, 4) for p in (root / "benchmarks").glob(f"ch0{n}_*.py")
                if "__main__" in p.read_text()}
    assert programs and programs <= found, sorted(programs - found)
    assert "ch02_quick.py" not in found and not any(n.endswith("_common.py") for n in found)


def test_quick_mode_args_keeps_quick_runs_away_from_the_stored_results(monkeypatch, capsys):
    from mfbook.book import RESULTS_DIR, quick_mode_args, results_dir

    # setenv (to an empty value, which counts as unset) makes monkeypatch remove the variable
    # at teardown, also after quick_mode_args has set it: the notebooks run later must not
    # inherit a temporary results directory.
    monkeypatch.setenv("MFBOOK_RESULTS_DIR", "")
    monkeypatch.setattr("sys.argv", ["script.py"])
    assert not quick_mode_args("A benchmark.\n\nDetails.").quick
    assert results_dir() == RESULTS_DIR
    monkeypatch.setattr("sys.argv", ["script.py", "--quick"])
    assert quick_mode_args("A benchmark.").quick
    assert results_dir() != RESULTS_DIR and results_dir().is_dir()
    assert "quick mode: results go to" in capsys.readouterr().out


def test_bibliography_parses_and_has_unique_keys():
    # A broken entry (a merge that drops a closing brace) fails only the book build otherwise.
    from pathlib import Path

    from pybtex.database import parse_file

    path = Path(__file__).resolve().parents[1] / "references.bib"
    db = parse_file(str(path))
    keys = [line.split("{", 1)[1].split(",", 1)[0].strip()
            for line in path.read_text().splitlines() if line.startswith("@")]
    assert len(keys) == len(set(keys)) == len(db.entries)


def test_style_sheet_is_shipped_and_registered():
    from mfbook.book import offline

    class App:
        css: list = []

        def connect(self, *args):
            pass

        def add_css_file(self, name):
            self.css.append(name)

    offline.setup(App())
    assert App.css == [offline.CSS_FILE]
    assert (offline._STATIC / "css" / offline.CSS_FILE).is_file()



def test_no_test_leaves_a_results_directory_behind():
    # Runs after the test above (same file, later): the environment is clean again.
    import os

    assert not os.environ.get("MFBOOK_RESULTS_DIR")
