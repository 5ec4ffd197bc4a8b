"""`GLMRerank`: GLM's reranker as a LangChain document compressor.

API: https://docs.bigmodel.cn/api-reference/模型-api/文本重排序 (at most 128 documents per
request, 4,096 characters per document and for the query).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import Field

from langchain_glm._errors import malformed
from langchain_glm._platform import GLMAPISettings, Part

MAX_DOCUMENTS = 128
"""Documents per rerank request; more are split into several requests and merged."""
MAX_CHARS = 4096
"""Characters of the query and of each document."""
_PATH = "rerank"
Result = dict[str, Any]
"""``{"index": int, "relevance_score": float}``."""


def results_of(reply: dict[str, Any], count: int, asked: int, offset: int) -> list[Result]:
    """The ``asked`` results of one request over ``count`` documents, indices moved by ``offset``.

    Raises:
        GLMAPIError: (malformed) When a result is missing, repeated, out of range or has no
            finite score.
    """
    results, seen = reply.get("results"), set()
    if not isinstance(results, list) or len(results) != asked:
        got = len(results) if isinstance(results, list) else "no list of"
        raise malformed(f"asked for {asked} rerank results, got {got}")
    merged: list[Result] = []
    for item in results:
        index = item.get("index") if isinstance(item, dict) else None
        if type(index) is not int or not 0 <= index < count or index in seen:
            raise malformed(f"rerank index {index!r:.40} is out of range or repeated")
        score = item.get("relevance_score")
        if type(score) not in (int, float) or not math.isfinite(score):
            raise malformed(f"rerank result {index} has no finite relevance_score")
        seen.add(index)
        merged.append({"index": offset + index, "relevance_score": float(score)})
    return merged


def best_first(results: list[Result], top_n: int | None) -> list[Result]:
    """Merge results by score, best first (ties: earlier document first), cut to ``top_n``."""
    ranked = sorted(results, key=lambda r: (-r["relevance_score"], r["index"]))
    return ranked[:top_n]


class GLMRerank(GLMAPISettings, BaseDocumentCompressor):
    """GLM's reranker, on `ChatGLM`'s client: same key, errors, retries and pools.

    `compress_documents` returns copies of the documents, best first, with
    ``metadata["relevance_score"]``, cut to `top_n`; `rerank` returns the raw scores.
    Everything is checked before sending; more than 128 documents go in several requests,
    merged by score before `top_n` applies.

    Example:
        Against the bundled offline GLM server (scores: shared words):

        ```python
        from langchain_core.documents import Document

        from langchain_glm import GLMRerank
        from langchain_glm.testing import GLMServer

        docs = [
            Document(page_content="Rome is in Italy."),
            Document(page_content="GLM-5.3 thinks."),
        ]
        with GLMServer() as server:
            rerank = GLMRerank(top_n=1, base_url=server.base_url, api_key="test")
            best = rerank.compress_documents(docs, "Which model thinks?")
            assert best[0].page_content == "GLM-5.3 thinks."
            assert best[0].metadata["relevance_score"] > 0
        ```
    """

    model: str = "rerank"
    """Rerank model id; GLM documents one, `rerank`."""

    top_n: int | None = Field(default=3, ge=1, strict=True)
    """Documents `compress_documents` keeps, best first; `None` keeps all."""

    truncate: bool = False
    """Cut a query or document longer than 4,096 characters (one warning per call) instead
    of refusing it with a `ValueError` naming its index."""

    max_concurrency: int = Field(default=4, ge=1, strict=True)
    """Requests in flight at once when async calls split more than 128 documents."""

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """Namespace used by `dumpd` / `load`: `["langchain_glm", "rerank"]`."""
        return ["langchain_glm", "rerank"]

    def _texts(self, documents: Sequence[str | Document], query: str) -> tuple[list[str], str]:
        """Check the texts (or cut them, with `truncate`), before anything is sent."""
        if isinstance(documents, str):  # each character would be ranked as a document
            msg = "documents is one string, not a sequence of texts or Documents"
            raise ValueError(msg)
        texts = [d.page_content if isinstance(d, Document) else d for d in documents]
        named = [(f"documents[{i}]", text) for i, text in enumerate(texts)]
        cut = []
        for name, text in [("query", query), *named]:
            if not isinstance(text, str) or not text.strip():
                msg = f"{name} must be a non-empty string, not {text!r:.40}"
                raise ValueError(msg)
            if len(text) > MAX_CHARS and not self.truncate:
                msg = f"{name} has {len(text)} characters; GLM takes at most {MAX_CHARS} "
                raise ValueError(msg + "(pass truncate=True to cut it)")
            cut += [name] if len(text) > MAX_CHARS else []
        if cut:
            shown = ", ".join(cut[:5]) + (" ..." if len(cut) > 5 else "")
            message = f"GLMRerank cut {len(cut)} texts to {MAX_CHARS} characters: {shown}"
            warnings.warn(message, UserWarning, stacklevel=4)
        return [text[:MAX_CHARS] for text in texts], query[:MAX_CHARS]

    def _requests(
        self, documents: Sequence[str | Document], query: str, top_n: int | None
    ) -> list[Part]:
        """``(which documents, body, reply check)`` per request of at most 128 documents."""
        if top_n is not None and (type(top_n) is not int or top_n < 1):
            msg = f"top_n must be a positive integer or None (all), not {top_n!r}"
            raise ValueError(msg)
        texts, query = self._texts(documents, query)
        parts: list[Part] = []
        for start in range(0, len(texts), MAX_DOCUMENTS):
            part = texts[start : start + MAX_DOCUMENTS]
            asked = min(top_n or len(part), len(part))  # a global top n is in each part's
            body = {"model": self.model, "query": query, "documents": part, "top_n": asked}
            what = f"rerank documents {start}-{start + len(part) - 1} of {len(texts)}"

            def check(
                reply: dict[str, Any], n: int = len(part), a: int = asked, at: int = start
            ) -> Any:
                return results_of(reply, n, a, at)

            parts.append((what, body | {"return_documents": False}, check))
        return parts

    def rerank(
        self, documents: Sequence[str | Document], query: str, top_n: int | None = None
    ) -> list[Result]:
        """Score documents against a query: ``[{"index", "relevance_score"}]``, best first.

        Args:
            documents: Texts or `Document`s; indices refer to this sequence.
            query: The query.
            top_n: Results to return; `None` returns all.

        Raises:
            ValueError: For an empty or over-long text (its index named), before sending.
            GLMError: The mapped error of a failing request, naming its documents' range.
        """
        parts = self._post_parts(_PATH, self._requests(documents, query, top_n))
        return best_first([result for part in parts for result in part], top_n)

    async def arerank(
        self, documents: Sequence[str | Document], query: str, top_n: int | None = None
    ) -> list[Result]:
        """Async twin of `rerank` (at most `max_concurrency` requests in flight)."""
        requests = self._requests(documents, query, top_n)
        parts = await self._apost_parts(_PATH, requests, self.max_concurrency)
        return best_first([result for part in parts for result in part], top_n)

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """The best `top_n` documents, best first: copies with ``metadata["relevance_score"]``."""
        return _ranked(documents, self.rerank(documents, query, self.top_n))

    async def acompress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """Async twin of `compress_documents`."""
        return _ranked(documents, await self.arerank(documents, query, self.top_n))


def _ranked(documents: Sequence[Document], results: list[Result]) -> list[Document]:
    """Copies of the ranked documents (the inputs untouched), each with its score."""
    ranked = []
    for result in results:
        document = documents[result["index"]]
        metadata = {**document.metadata, "relevance_score": result["relevance_score"]}
        ranked.append(document.model_copy(update={"metadata": metadata}))
    return ranked
