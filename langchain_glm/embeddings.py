"""`GLMEmbeddings`: GLM's text embeddings (embedding-3, embedding-2) for LangChain.

API: https://docs.bigmodel.cn/api-reference/模型-api/文本嵌入 (OpenAI's embeddings shape).
"""

from __future__ import annotations

import math
from typing import Any, Self

from langchain_core.embeddings import Embeddings
from pydantic import Field, model_validator

from langchain_glm._errors import malformed
from langchain_glm._platform import GLMAPISettings, Part

DIMENSIONS: dict[str, tuple[int, ...]] = {
    "embedding-3": (256, 512, 1024, 2048),
    "embedding-2": (1024,),
}
"""The dimensions each known model takes (https://docs.bigmodel.cn/cn/guide/models/embedding/
embedding-3); the last is its default. Another model is sent as given, without client limits."""
_PATH = "embeddings"


def check_texts(texts: list[str]) -> None:
    """Refuse, before sending, what GLM cannot embed: a non-string or an empty text.

    Raises:
        ValueError: For one string instead of a list (its characters would each be
            embedded), or naming the index of the first bad text.
    """
    if isinstance(texts, str):
        msg = "texts is one string, not a list of strings: pass [text], or use embed_query"
        raise ValueError(msg)
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            msg = f"texts[{index}] is a {type(text).__name__}, not a string"
            raise ValueError(msg)
        if not text.strip():
            msg = f"texts[{index}] is empty or only whitespace; GLM cannot embed it"
            raise ValueError(msg)


def check_dimensions(model: str, dimensions: int | None) -> int | None:
    """The dimension a reply's vectors must have (``None``: any, the same for all).

    Raises:
        ValueError: For a dimension the model does not take, naming the accepted ones
            (another model: for anything but a positive integer).
    """
    accepted = DIMENSIONS.get(model)
    if accepted is None:
        if dimensions is not None and (type(dimensions) is not int or dimensions < 1):
            msg = f"dimensions must be a positive integer or None, not {dimensions!r}"
            raise ValueError(msg)
        return dimensions
    if dimensions is not None and dimensions not in accepted:
        takes = ", ".join(map(str, accepted))
        msg = f"{model} takes dimensions {takes} (default {accepted[-1]}), not {dimensions}"
        raise ValueError(msg)
    return dimensions or accepted[-1]


def vectors_of(reply: dict[str, Any], count: int, dimensions: int | None) -> list[list[float]]:
    """The reply's vectors in input order, by each item's ``index``.

    Raises:
        GLMAPIError: (malformed) When a vector is missing, repeated, out of range, not a
            list of finite numbers, or not ``dimensions`` long.
    """
    data = reply.get("data")
    if not isinstance(data, list) or len(data) != count:
        got = len(data) if isinstance(data, list) else "no list of"
        raise malformed(f"asked for {count} embeddings, got {got}")
    ordered: list[list[float] | None] = [None] * count
    for item in data:
        index = item.get("index") if isinstance(item, dict) else None
        if type(index) is not int or not 0 <= index < count or ordered[index] is not None:
            raise malformed(f"embedding index {index!r:.40} is out of range or repeated")
        ordered[index] = vector = item.get("embedding")
        size = len(vector) if isinstance(vector, list) else 0
        if size == 0 or size != (dimensions or size):
            raise malformed(f"embedding {index} has {size} values, not {dimensions or 'some'}")
        dimensions = size  # an unknown model's vectors must at least agree with each other
        try:  # C speed (~2 µs for 256 values): TypeError for a non-number, NaN or inf stays
            finite = math.isfinite(sum(vector))
        except (TypeError, OverflowError):
            finite = False
        if not finite:
            raise malformed(f"embedding {index} holds a value that is not a finite number")
    return ordered  # type: ignore[return-value] # count items, each index once: all filled


class GLMEmbeddings(GLMAPISettings, Embeddings):
    """GLM text embeddings, on `ChatGLM`'s client: same key, errors, retries and pools.

    Texts are checked before anything is sent, sent `chunk_size` per request (async: at most
    `max_concurrency` requests in flight), and returned in input order by the reply's
    ``index``. A reply with a wrong count or dimension is a malformed-response `GLMAPIError`;
    a failing request raises with its inputs' index range, and nothing is returned half-filled.

    Example:
        Against the bundled offline GLM server:

        ```python
        from langchain_glm import GLMEmbeddings
        from langchain_glm.testing import GLMServer

        with GLMServer() as server:
            emb = GLMEmbeddings(dimensions=256, base_url=server.base_url, api_key="test")
            vectors = emb.embed_documents(["GLM-5.3 thinks.", "Rome is in Italy."])
            assert [len(v) for v in vectors] == [256, 256]
            assert len(emb.embed_query("What is GLM-5.3?")) == 256
        ```
    """

    model: str = "embedding-3"
    """Embedding model: `embedding-3` (dimensions 256 / 512 / 1024 / 2048, default 2048) or
    `embedding-2` (1024 only); another id is sent as given, with no client-side limits."""

    dimensions: int | None = Field(default=None, strict=True)
    """Length of each vector, checked against the model before sending (`ValueError`
    naming the accepted values); `None` sends none and takes the model's default."""

    chunk_size: int = Field(default=64, ge=1, strict=True)
    """Texts per request. 64 is GLM's limit for embedding-3 as far as known (only one
    third-party client documents it), so it can be lowered or raised here."""

    max_concurrency: int = Field(default=4, ge=1, strict=True)
    """Requests in flight at once in `aembed_documents` (`embed_documents` sends one at a
    time)."""

    @model_validator(mode="after")
    def _check_dimensions(self) -> Self:
        """A dimension the model does not take is a `ValueError` at construction."""
        check_dimensions(self.model, self.dimensions)
        return self

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """Namespace used by `dumpd` / `load`: `["langchain_glm", "embeddings"]`."""
        return ["langchain_glm", "embeddings"]

    def _chunks(self, texts: list[str]) -> list[Part]:
        """Check everything, then split: ``(index range, request body, reply check)`` each."""
        check_texts(texts)
        check_dimensions(self.model, self.dimensions)
        step, total, extra = self.chunk_size, len(texts), {}
        if self.dimensions is not None:
            extra["dimensions"] = self.dimensions
        return [
            (
                f"embedding inputs {start}-{min(start + step, total) - 1} of {total}",
                {"model": self.model, "input": texts[start : start + step], **extra},
                self._check(min(step, total - start)),
            )
            for start in range(0, total, step)
        ]

    def _check(self, count: int) -> Any:
        dimensions = check_dimensions(self.model, self.dimensions)
        return lambda reply: vectors_of(reply, count, dimensions)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts, in their order; `[]` sends nothing.

        Raises:
            ValueError: For a non-string or empty text (its index named), before sending.
            GLMError: The mapped error of a failing request, naming its inputs' range.
        """
        parts = self._post_parts(_PATH, self._chunks(texts))
        return [vector for part in parts for vector in part]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Async twin of `embed_documents`: at most `max_concurrency` requests in flight."""
        parts = await self._apost_parts(_PATH, self._chunks(texts), self.max_concurrency)
        return [vector for part in parts for vector in part]

    def embed_query(self, text: str) -> list[float]:
        """Embed one text (a search query)."""
        return self.embed_documents([text])[0]

    async def aembed_query(self, text: str) -> list[float]:
        """Async twin of `embed_query`."""
        return (await self.aembed_documents([text]))[0]
