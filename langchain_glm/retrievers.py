"""`GLMSearchRetriever`: Z.ai web search as a LangChain retriever.

Each result of `POST {base}/web_search` (https://docs.z.ai/api-reference/tools/web-search)
becomes a `Document`: the result's content, with `title`, `source` (the link),
`publish_date`, `media` and `icon` in its metadata, in GLM's order.

Example:
    ```python
    from langchain_glm import GLMSearchRetriever

    retriever = GLMSearchRetriever(k=3)
    for doc in retriever.invoke("GLM-5.4 release"):
        print(doc.metadata["title"], doc.metadata["source"])
    ```
"""

from __future__ import annotations

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import Field

from langchain_glm._websearch import (
    MAX_COUNT,
    SearchOptions,
    result_documents,
)

__all__ = ["GLMSearchRetriever"]


class GLMSearchRetriever(SearchOptions, BaseRetriever):
    """Z.ai web search as a retriever: one `Document` per result, in GLM's order.

    `k` is sent as `count` (1-50), also per call: `retriever.invoke(query, k=3)`.
    """

    k: int = Field(default=10, ge=1, le=MAX_COUNT, strict=True)
    """Number of results (GLM's `count`, 1-50)."""

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        """Search once; `k` overrides the field for this call."""
        body = self._search_body(query, self.k if k is None else k)
        return result_documents(self._search(body))

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
    ) -> list[Document]:
        """Async twin of `_get_relevant_documents`."""
        body = self._search_body(query, self.k if k is None else k)
        return result_documents(await self._asearch(body))
