"""Make the HTML book work without a network: local MathJax and offline plotly figures.

Two pieces, both registered by this module:

* A Sphinx extension (``sphinx: extra_extensions: [mfbook.book.offline]`` in
  ``_config.yml``).  It points ``mathjax_path`` at a copy of MathJax 3 shipped in
  ``mfbook/book/static/mathjax`` and copies that file, and plotly's own ``plotly.min.js``
  from the installed plotly package, into ``_static`` of the built HTML.  plotly.js
  (4.6 MB) is added only to the pages that contain a plotly figure.
* A myst-nb mime renderer (entry point ``myst_nb.mime_renderers`` in ``pyproject.toml``)
  for ``application/vnd.plotly.v1+json``, the only output plotly stores when a notebook
  runs headless.  It turns the figure JSON into a ``div`` plus a ``Plotly.newPlot`` call,
  with an id derived from the cell and output index so that rebuilding gives identical
  HTML.

The extension also adds the book's style sheet, ``mfbook/book/static/css/mfbook.css``.

Nothing here is needed to *run* a notebook; it only affects ``jupyter-book build``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

PLOTLY_MIME = "application/vnd.plotly.v1+json"
MATHJAX_FILE = "mathjax/tex-svg-full.js"
PLOTLY_FILE = "plotly/plotly.min.js"
CSS_FILE = "mfbook.css"
_STATIC = Path(__file__).parent / "static"


def _plotly_js_source() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _figure_html(figure: dict[str, Any], div_id: str) -> str:
    data = _escape(json.dumps(figure.get("data", []), separators=(",", ":")))
    layout = _escape(json.dumps(figure.get("layout", {}), separators=(",", ":")))
    config = json.dumps({"responsive": True, "displaylogo": False})
    height = figure.get("layout", {}).get("height") or 500
    return (
        f'<div class="mfbook-plotly"><div id="{div_id}" class="plotly-graph-div" '
        f'style="height:{int(height)}px; width:100%;"></div>\n'
        f'<script type="text/javascript">'
        f'Plotly.newPlot("{div_id}", {data}, {layout}, {config});'
        f"</script></div>"
    )


def _escape(js: str) -> str:
    # A literal "</script>" inside the JSON would end the script element early.
    return js.replace("</", "<\\/")


class PlotlyMimeRenderer:
    """myst-nb mime renderer plugin for plotly figures stored as JSON."""

    mime_priority_overrides = [("html", PLOTLY_MIME, 5), ("dirhtml", PLOTLY_MIME, 5)]

    @staticmethod
    def handle_mime(renderer: Any, data: Any, inline: bool) -> Any:
        if data.mime_type != PLOTLY_MIME or inline:
            return None
        from docutils import nodes

        figure = data.content
        if isinstance(figure, (str, bytes)):
            figure = json.loads(figure)
        div_id = f"mfbook-plotly-{data.cell_index}-{data.output_index}"
        return [nodes.raw(text=_figure_html(figure, div_id), format="html",
                          classes=["output", "text_html"])]


def _set_mathjax(app: Any, config: Any) -> None:
    if not config.mathjax_path or "://" in str(config.mathjax_path):
        config.mathjax_path = MATHJAX_FILE
    # The book's own style sheet (code cells sized to the content column).
    config.html_static_path = [*config.html_static_path, str(_STATIC / "css")]


def _add_plotly_js(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    if "mfbook-plotly-" in context.get("body", ""):
        app.add_js_file(PLOTLY_FILE)


def _copy_assets(app: Any, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    for source, target in ((_STATIC / MATHJAX_FILE, static / MATHJAX_FILE),
                           (_plotly_js_source(), static / PLOTLY_FILE)):
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.stat().st_size != source.stat().st_size:
            shutil.copyfile(source, target)


def setup(app: Any) -> dict[str, Any]:
    app.connect("config-inited", _set_mathjax)
    app.add_css_file(CSS_FILE)
    app.connect("html-page-context", _add_plotly_js)
    app.connect("build-finished", _copy_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
