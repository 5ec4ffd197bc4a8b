"""Every notebook runs top to bottom, offline, against the bundled local GLM server."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_offline(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZAI_API_KEY", raising=False)
    monkeypatch.delenv("ZHIPUAI_API_KEY", raising=False)
    notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = [
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    ]
    text = "".join(outputs)
    assert "using the local GLM server" in text
    assert "Sunny and 24 C in Florence" in text
    assert "GLMQuotaExceededError" in text
    assert not [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]


def test_there_is_a_notebook() -> None:
    assert [p.name for p in NOTEBOOKS] == ["quickstart.ipynb"]
