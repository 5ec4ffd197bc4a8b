"""The web tools, retriever and GLM-OCR loader against the real API.

Skipped (with the reason) unless ZAI_API_KEY is set; they use the platform of ZAI_BASE_URL.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest
from langchain_core.messages import ToolCall, ToolMessage

from langchain_glm import GLMLayoutLoader, GLMSearchRetriever, GLMWebReader, GLMWebSearch
from langchain_glm.chat_models import DEFAULT_BASE_URL
from tests.web._pdf import tiny_pdf

_HOST = urlparse(os.environ.get("ZAI_BASE_URL") or DEFAULT_BASE_URL).hostname or ""

pytestmark = [
    pytest.mark.live,
    pytest.mark.allow_hosts(["127.0.0.1", _HOST]),
    pytest.mark.skipif(not os.environ.get("ZAI_API_KEY"), reason="ZAI_API_KEY is not set"),
]


def test_search_returns_results_as_text_and_artifact() -> None:
    tool = GLMWebSearch(count=3)
    call = ToolCall(name=tool.name, args={"query": "Zhipu GLM"}, id="live-1", type="tool_call")
    message = tool.invoke(call)
    assert isinstance(message, ToolMessage)
    assert isinstance(message.artifact, list)
    assert 1 <= len(message.artifact) <= 3
    assert all(isinstance(result.get("link"), str) for result in message.artifact)
    assert str(message.content).startswith("1. ")


async def test_retriever_gives_documents_with_sources() -> None:
    docs = await GLMSearchRetriever(k=2).ainvoke("LangChain")
    assert 1 <= len(docs) <= 2
    assert all(doc.metadata["source"] for doc in docs)


def test_reader_reads_a_page() -> None:
    text = GLMWebReader(max_chars=3000).invoke(
        {"url": "https://docs.z.ai/guides/overview/quick-start"}
    )
    assert "Source: " in text


def test_layout_parses_a_generated_pdf(tmp_path: Path) -> None:
    path = tmp_path / "live.pdf"
    path.write_bytes(tiny_pdf(["Hello from page one", "And page two"]))
    docs = GLMLayoutLoader(path).load()
    assert [doc.metadata["page"] for doc in docs] == [1, 2]
    assert "Hello" in docs[0].page_content
