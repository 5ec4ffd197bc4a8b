"""Every notebook runs top to bottom, offline, against the bundled local GLM server.

The committed notebooks carry the outputs of such a run, cleaned of everything that changes
from run to run (ports, ids, temp paths). To refresh them after a library change:

    .venv/bin/python -m tests.e2e.test_notebooks

which executes each notebook offline (without ``ZAI_API_KEY``), cleans it with `clean` and
writes it back.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KEY_VARIABLES = ("ZAI_API_KEY", "ZHIPUAI_API_KEY")

EXPECTED = {
    "quickstart.ipynb": [
        "Sunny and 24 C in Florence",
        "GLMQuotaExceededError",
        "['reasoning', 'text']",
    ],
    "tools_and_agents.ipynb": [
        "get_weather({'city': 'Rome'}) + get_weather({'city': 'Oslo'})",
        '{"city":"Floren',
        "reasoning_content sent back: I need the weather in two cities",
    ],
    "structured_output.ipynb": [
        "function_calling: name='Florence' country='Italy'",
        "json_mode: name='Florence' country='Italy'",
        "GLMCompatibilityWarning: GLM has no native JSON-schema mode",
        "| parsing_error: None",
        "parsing_error: OutputParserException",
        "{'name': 'Florence'}\n",
    ],
    "web_search_and_mcp.ipynb": [
        "['server_tool_call', 'server_tool_result', 'reasoning', 'text']",
        "'type': 'mcp'",
        "MCP tools: ['country', 'population']",
        "population({'city': 'Florence'}) -> 360000",
    ],
    "glm5_reasoning.ipynb": [
        "GLMCompatibilityWarning: glm-5.3 always thinks",
        "sent: {'thinking': {'type': 'enabled'}, 'reasoning_effort': 'low'}",
        "reasoning_effort='max'",
        "'clear_thinking': False",
    ],
    "web_research.ipynb": [
        "1. GLM-5.4\n   https://docs.z.ai/guides/llm/glm-5.4 (docs.z.ai)",
        "ToolMessage artifact links: ['https://docs.z.ai/guides/llm/glm-5.4'",
        "ValidationError -> Value error, search_engine='search_pro' is not served on api.z.ai",
        "[cut: the first 160 of 211 characters",
        "model calls: [\"glm_web_search({'query': 'GLM-5.4 release'})\"]",
        "glm_web_reader -> # GLM-5.4",
        "page 2/3 ['text']: GLM-OCR turns every PDF page into markdown.",
        "best page: 3 | The Web Search API returns up to 50 results per query.",
    ],
    "batch.ipynb": [
        "status: validating",
        "GLM batch job",
        "completed {'total': 5, 'completed': 4, 'failed': 1}",
        "GLMContentFilterError  GLM error 1301",
        "same results as .batch(): True",
    ],
    "rag.ipynb": [
        "512 dimensions; unit length: 1.0",
        "0.50  glm-5.3.md",
        "[{'index': ",
        "[glm-5.3.md] GLM-5.3 always thinks",
        "sources sent: True",
        "200 vectors of 256",
        "ValueError: texts[1] is empty or only whitespace",
        "embedding-2 takes dimensions 1024 (default 1024), not 256",
    ],
}
"""Key output strings each notebook must print when run offline."""

_VOLATILE = [
    (re.compile(r"http://127\.0\.0\.1:\d+"), "http://127.0.0.1:PORT"),
    (re.compile(r"call_-?\d{6,}"), "call_ID"),
    (re.compile(r"\b20\d{12}[0-9a-f]{16}\b"), "GLM_ID"),
    (re.compile(r"\blc_[0-9a-f-]{36}\b"), "lc_ID"),
    (re.compile(r"\blc_run--[0-9a-f-]{36}(-\d+)?\b"), "lc_run--ID"),
    (re.compile(r"\brun-[0-9a-f-]{36}(-\d+)?\b"), "run-ID"),
    (re.compile(r"\blcg-[0-9a-f]{16}-"), "lcg-TOKEN-"),  # a Batch API job's custom_ids
    (re.compile(re.escape(tempfile.gettempdir()) + r"/[^\s'\"]+"), "TMPDIR/..."),
]
"""Run-to-run text (pattern, replacement): loopback ports, GLM and LangChain ids, temp paths."""


def clean_text(text: str) -> str:
    """Replace every volatile part of an output text by a fixed placeholder."""
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def _clean_output(output: Any) -> None:
    if "text" in output:
        output["text"] = clean_text("".join(output["text"]))
    for kind, value in output.get("data", {}).items():
        if kind.startswith("text/"):
            output["data"][kind] = clean_text("".join(value))
    if output.output_type == "stream":
        output.pop("metadata", None)


def clean(notebook: Any) -> Any:
    """Strip a run's volatile parts from a notebook in place, and return it.

    Outputs keep their text with ports, ids and temp paths normalised; execution timings
    and counts are dropped from the metadata, and the kernel's version details too.
    """
    for number, cell in enumerate(c for c in notebook.cells if c.cell_type == "code"):
        cell.metadata.pop("execution", None)
        cell.execution_count = number + 1
        for output in cell.outputs:
            _clean_output(output)
            if "execution_count" in output:
                output["execution_count"] = number + 1
    notebook.metadata.pop("widgets", None)
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


@contextmanager
def offline() -> Iterator[None]:
    """Start kernels with no GLM API key, so notebooks use the local server, and as Jupyter does.

    ``PYTEST_CURRENT_TEST`` is hidden too: under it ipykernel stops capturing the kernel's
    stderr descriptor, and then a subprocess the notebook starts (the stdio MCP server) has
    no stderr to inherit (``UnsupportedOperation: fileno``), which never happens in Jupyter.
    """
    hidden = (*KEY_VARIABLES, "PYTEST_CURRENT_TEST")
    saved = {name: os.environ.pop(name) for name in hidden if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def execute(path: Path) -> Any:
    """Run a notebook offline, from its own directory; returns the executed notebook."""
    notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": path.parent}}
    )
    with offline():
        client.execute()
    return notebook


def output_text(notebook: Any) -> str:
    """All text a notebook's code cells printed or displayed, in order."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            parts.append("".join(output.get("text", "")))
            parts.append("".join(output.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def errors(notebook: Any) -> list[Any]:
    """The error outputs of a notebook."""
    return [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]


def check(name: str, notebook: Any) -> None:
    """A notebook ran without errors offline and printed its key strings."""
    assert not errors(notebook)
    text = output_text(notebook)
    assert "No ZAI_API_KEY: using the local GLM server" in text
    missing = [s for s in EXPECTED[name] if s not in text]
    assert not missing, f"{name} did not print {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_offline(path: Path) -> None:
    check(path.name, execute(path))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_are_from_a_clean_offline_run(path: Path) -> None:
    stored = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    code = [cell for cell in stored.cells if cell.cell_type == "code"]
    assert any(cell.outputs for cell in code), "run `python -m tests.e2e.test_notebooks`"
    check(path.name, stored)
    text = output_text(stored)
    assert clean_text(text) == text, "volatile ids or ports left in the saved outputs"
    for name in KEY_VARIABLES:
        secret = os.environ.get(name)
        assert not secret or secret not in path.read_text()


def test_the_notebook_set() -> None:
    assert [p.name for p in NOTEBOOKS] == sorted(EXPECTED)


def test_clean_normalises_volatile_text() -> None:
    raw = (
        "at http://127.0.0.1:53011/api/paas/v4 id='202612030355297ef5c76d347a38c3' "
        "call_-9566018122668027431 lc_abcb2b42-6674-486b-99da-07f91e6786c8 "
        f"{Path(tempfile.gettempdir(), 'tmpx1', 'server.py')}"
    )
    assert clean_text(raw) == (
        "at http://127.0.0.1:PORT/api/paas/v4 id='GLM_ID' call_ID lc_ID TMPDIR/..."
    )


def refresh(paths: list[Path]) -> None:
    """Execute each notebook offline, clean it and write it back (prints what it did)."""
    for path in paths:
        notebook = clean(execute(path))
        nbformat.write(notebook, path)  # type: ignore[no-untyped-call]
        check(path.name, notebook)
        print(f"refreshed {path.name}")


if __name__ == "__main__":
    refresh([Path(arg) for arg in sys.argv[1:]] or NOTEBOOKS)
