"""GLM's Web Search API as pure code: the checked request, the results, their text form.

`POST {base}/web_search` (https://docs.z.ai/api-reference/tools/web-search,
https://docs.bigmodel.cn/api-reference/工具-api/网络搜索). Both docs show `search_result` as a
list of `{title, content, link, media, icon, refer, publish_date}`; Z.ai's own SDK types it as
one object, so both forms are read. `_SearchOptions` holds the settings shared by
`GLMWebSearch` and `GLMSearchRetriever`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Literal, Self, get_args

from langchain_core.documents import Document
from pydantic import Field, model_validator

from langchain_glm._errors import malformed
from langchain_glm._platform import GLMAPISettings
from langchain_glm._region import check_search_engine

PATH = "web_search"
"""Path of the Web Search API under the base URL."""
MAX_COUNT = 50
"""Most results GLM returns for one search."""
MAX_RESULT_CHARS = 10_000
"""Most characters of one result's content in the text for a model (GLM's `high` content
size is ~2,500); a longer one is cut there with a note, and stays whole in the artifact."""
RecencyFilter = Literal["oneDay", "oneWeek", "oneMonth", "oneYear", "noLimit"]
"""How recent results must be."""
ContentSize = Literal["medium", "high"]
"""How much page text each result carries: `medium` (400-600 characters) or `high` (~2500)."""
_RECENCY = get_args(RecencyFilter)
_SIZES = get_args(ContentSize)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_METADATA = ("title", "publish_date", "media", "icon")


def clean(value: Any) -> str:
    """Text from the server with control characters (terminal escapes) removed."""
    return _CONTROL.sub(
        "", value if isinstance(value, str) else "" if value is None else str(value)
    )


def _cleaned(value: Any) -> Any:
    """`clean` text; any other value (None, a number) as it is."""
    return clean(value) if isinstance(value, str) else value


def check_count(count: Any) -> int:
    """Return `count` if GLM takes it (an int from 1 to 50).

    Raises:
        ValueError: Otherwise.
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        msg = f"count={count!r}: GLM returns 1 to {MAX_COUNT} web-search results"
        raise ValueError(msg)
    return count


def search_payload(
    query: Any,
    *,
    count: Any,
    engine: str | None,
    recency: Any = None,
    domain: str | None = None,
    content_size: Any = None,
) -> dict[str, Any]:
    """The body of one search, checked before anything is sent.

    Args:
        query: What to search for (a non-empty string).
        count: Number of results, 1 to 50.
        engine: The engine (already checked against the platform), or None to send none.
        recency: One of `RecencyFilter`, or None.
        domain: Only results from this domain, or None.
        content_size: `"medium"`, `"high"` or None.

    Returns:
        The JSON body, without the options left unset.

    Raises:
        ValueError: For an empty query, a count outside 1-50, or an unknown filter value.
    """
    if not isinstance(query, str) or not query.strip():
        msg = f"query must be a non-empty string, got {query!r}"
        raise ValueError(msg)
    if recency is not None and recency not in _RECENCY:
        msg = f"search_recency_filter={recency!r}: GLM takes {', '.join(_RECENCY)}"
        raise ValueError(msg)
    if content_size is not None and content_size not in _SIZES:
        msg = f"content_size={content_size!r}: GLM takes {', '.join(_SIZES)}"
        raise ValueError(msg)
    body = {
        "search_query": query,
        "search_engine": engine,
        "count": check_count(count),
        "search_recency_filter": recency,
        "search_domain_filter": domain,
        "content_size": content_size,
    }
    return {key: value for key, value in body.items() if value is not None}


def search_results(reply: Mapping[str, Any], limit: int = MAX_COUNT) -> list[dict[str, Any]]:
    """The results of a search reply, in GLM's order: the documented list or the SDK's object.

    Args:
        reply: GLM's reply.
        limit: The `count` asked for; results past it (GLM returns at most `count`) are
            not read, so a server cannot size what a model or a caller is handed.

    Raises:
        GLMAPIError: If `search_result` is neither a list of objects nor one object.
    """
    found = reply.get("search_result")
    if found is None:
        return []
    items = [found] if isinstance(found, Mapping) else found
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise malformed("search_result is not a list of result objects")
    items = items[:limit]
    return [dict(item) for item in items]


def results_text(results: list[dict[str, Any]]) -> str:
    """Numbered results as compact text for a model: title, link, source and date, content."""
    if not results:
        return "No results."
    blocks = []
    for number, item in enumerate(results, start=1):
        about = ", ".join(
            clean(item.get(key)) for key in ("media", "publish_date") if item.get(key)
        )
        lines = [f"{number}. {clean(item.get('title')) or '(untitled)'}"]
        lines.append(f"   {clean(item.get('link'))}" + (f" ({about})" if about else ""))
        if item.get("content"):
            content = cut(clean(item["content"]), MAX_RESULT_CHARS, "the whole result", " ")
            lines.append(f"   {content}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def cut(text: str, limit: int, whole: str, sep: str = "\n\n") -> str:
    """`text` for a model, cut at `limit` characters with a note naming where `whole` is."""
    if len(text) <= limit:
        return text
    return (
        f"{text[:limit]}{sep}[cut: the first {limit:,} of {len(text):,} characters; "
        f"{whole} is in the tool result's artifact]"
    )


def result_documents(results: list[dict[str, Any]]) -> list[Document]:
    """One Document per result: the content, with title/source/publish_date/media/icon.

    Text values are `clean`ed like the content (a title may carry terminal escapes).
    """
    docs = []
    for item in results:
        metadata = {key: _cleaned(item.get(key)) for key in _METADATA}
        metadata["source"] = _cleaned(item.get("link"))
        docs.append(Document(page_content=clean(item.get("content")), metadata=metadata))
    return docs


class SearchOptions(GLMAPISettings):
    """Settings of a search sent to `POST {base}/web_search`, checked at construction."""

    search_engine: str | None = None
    """The engine. It follows the platform of `base_url`: on api.z.ai only `search-prime`
    (the default there); on open.bigmodel.cn `search_std` (default), `search_pro`,
    `search_pro_sogou`, `search_pro_quark`. Another value is a `ValueError` at
    construction, naming those taken. On any other base nothing is checked, and None
    sends no engine."""

    search_recency_filter: RecencyFilter | None = None
    """Only results this recent: `oneDay`, `oneWeek`, `oneMonth`, `oneYear` or `noLimit`;
    None leaves GLM's default (`noLimit`)."""

    search_domain_filter: str | None = Field(default=None, min_length=1)
    """Only results from this domain, e.g. `"www.example.com"`."""

    content_size: ContentSize | None = None
    """Page text per result: `"medium"` (400-600 characters) or `"high"` (~2500); None
    leaves GLM's default (`medium`)."""

    @model_validator(mode="after")
    def _check_engine(self) -> Self:
        """Refuse an engine the platform of `base_url` does not take."""
        check_search_engine(self.search_engine, self.base_url)
        return self

    def _search_body(self, query: Any, count: Any, recency: Any = None) -> dict[str, Any]:
        """The checked body of one search with these settings."""
        return search_payload(
            query,
            count=count,
            engine=check_search_engine(self.search_engine, self.base_url),
            recency=recency if recency is not None else self.search_recency_filter,
            domain=self.search_domain_filter,
            content_size=self.content_size,
        )

    def _search(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Send a checked body; the results, at most the `count` asked for."""
        results: list[dict[str, Any]] = self._post(PATH, body, _within(body))
        return results

    async def _asearch(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Async twin of `_search`."""
        results: list[dict[str, Any]] = await self._apost(PATH, body, _within(body))
        return results


def _within(body: dict[str, Any]) -> Callable[[Mapping[str, Any]], list[dict[str, Any]]]:
    """The reply check of a search: its results, at most the `count` the body asks for."""
    return partial(search_results, limit=body["count"])
