"""Static checks of the stored notebooks that nbval itself does not make.

nbval skips cells stored without outputs (``execution_count: null``), so a notebook saved
unexecuted would pass silently.  These tests require every code cell to have been run, in
order, by a single kernel, without errors, and forbid outputs that cannot be compared
reliably.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))
TOC = (ROOT / "_toc.yml").read_text()


def code_cells(path):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_executed_in_order_without_errors(path):
    cells = code_cells(path)
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        f"{path.name}: execution counts {counts}; run python -m mfbook.book.execute {path.name}")
    for i, cell in enumerate(cells, 1):
        for out in cell["outputs"]:
            assert out["output_type"] != "error", f"{path.name}: code cell {i} stored an error"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_comparable(path):
    for i, cell in enumerate(code_cells(path), 1):
        if "nbval-ignore-output" in cell.get("metadata", {}).get("tags", []):
            continue
        for out in cell["outputs"]:
            text = out.get("text", "") if out["output_type"] == "stream" else \
                "".join(out.get("data", {}).get("text/plain", ""))
            text = "".join(text) if isinstance(text, list) else text
            assert not re.search(r"0x[0-9a-f]{6,}", text), f"{path.name} cell {i}: memory address"
            assert not re.search(r"/tmp/ipykernel_\d+", text), f"{path.name} cell {i}: kernel path"
            assert not re.search(r"\d\.\d{9,}", text), f"{path.name} cell {i}: unrounded float"
            if out["output_type"] == "stream":
                assert out["name"] != "stderr", f"{path.name} cell {i}: stderr (a warning?)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_in_table_of_contents(path):
    assert f"chapters/{path.stem}" in TOC, f"{path.name} is not in _toc.yml"
