"""GLM's web tools for any agent: `GLMWebSearch` and `GLMWebReader` (LangChain `BaseTool`s).

Z.ai's standalone Web Search (https://docs.z.ai/api-reference/tools/web-search) and Web
Reader (https://docs.z.ai/api-reference/tools/web-reader) APIs, usable by an agent built on
any chat model. Both answer a tool call with compact text for the model and keep GLM's raw
result as the `ToolMessage.artifact`.

Example:
    ```python
    from langchain_glm import GLMWebReader, GLMWebSearch

    search = GLMWebSearch(count=3)
    print(search.invoke({"query": "GLM-5.4 release"}))
    reader = GLMWebReader(max_chars=2000)
    print(reader.invoke({"url": "https://docs.z.ai/guides/llm/glm-5.4"}))
    ```
"""

from __future__ import annotations

from typing import Any, Literal

import httpx
from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from langchain_glm._errors import malformed
from langchain_glm._platform import GLMAPISettings
from langchain_glm._websearch import (
    MAX_COUNT,
    RecencyFilter,
    SearchOptions,
    clean,
    cut,
    results_text,
)

__all__ = ["GLMWebReader", "GLMWebSearch"]

READER_PATH = "reader"
"""Path of the Web Reader API under the base URL."""
_Answer = tuple[str, Any]


class WebSearchInput(BaseModel):
    """What the model may choose in a `glm_web_search` call."""

    query: str = Field(description="What to search the web for; best under 70 characters.")
    count: int | None = Field(
        default=None, ge=1, le=MAX_COUNT, description="Number of results to return (1-50)."
    )
    search_recency_filter: RecencyFilter | None = Field(
        default=None, description="Only results this recent (oneDay, oneWeek, ..., noLimit)."
    )


class GLMWebSearch(SearchOptions, BaseTool):
    """Z.ai web search as a tool (`glm_web_search`): numbered results, raw list as artifact.

    As a tool call the `ToolMessage.content` is compact text (numbered results with title,
    link, source, date and content) and `ToolMessage.artifact` the list of GLM's result
    dicts, in GLM's order. Called with a plain dict it returns the text. Everything is
    checked before sending (count 1-50, the recency and content-size values, the engine
    of the platform of `base_url`).
    """

    name: str = "glm_web_search"
    """Tool name the model sees."""

    description: str = (
        "Search the web with Z.ai. Input: a search query. Returns numbered results with "
        "title, link, date and a content summary."
    )
    """Tool description the model sees."""

    args_schema: type[BaseModel] = WebSearchInput
    """Arguments of a call: `query`, and optionally `count` and `search_recency_filter`."""

    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    """Text for the model, GLM's result list as the artifact."""

    count: int = Field(default=10, ge=1, le=MAX_COUNT, strict=True)
    """Results per search (1-50) when a call does not choose."""

    def _run(
        self,
        query: str,
        count: int | None = None,
        search_recency_filter: str | None = None,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> _Answer:
        """Search once (the arguments are those of `WebSearchInput`)."""
        body = self._search_body(
            query, self.count if count is None else count, search_recency_filter
        )
        results = self._search(body)
        return results_text(results), results

    async def _arun(
        self,
        query: str,
        count: int | None = None,
        search_recency_filter: str | None = None,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> _Answer:
        """Async twin of `_run`."""
        body = self._search_body(
            query, self.count if count is None else count, search_recency_filter
        )
        results = await self._asearch(body)
        return results_text(results), results


class WebReaderInput(BaseModel):
    """What the model passes in a `glm_web_reader` call."""

    url: str = Field(description="Absolute http(s) URL of the page to read.")


def url_problem(url: Any) -> str | None:
    """What keeps `url` from being an absolute http(s) URL with a host, or None."""
    if not isinstance(url, str):
        return "is not a string"
    if url != url.strip() or any(ord(c) < 32 or c == " " for c in url):
        return "holds spaces or control characters"
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return f"is not a valid URL ({exc})"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return "is not an absolute http(s) URL"
    if "%" in parsed.host:  # httpx percent-encodes what a host may not hold ("[bad")
        return "has an invalid host"
    return None


def check_url(url: Any) -> str:
    """Return `url` if it is an absolute http(s) URL with a host.

    Raises:
        ValueError: Otherwise (nothing is sent).
    """
    problem = url_problem(url)
    if problem is not None:
        msg = f"url {url!r} {problem}: GLM's reader reads http:// and https:// pages"
        raise ValueError(msg)
    return str(url)


def reader_result(reply: dict[str, Any]) -> dict[str, Any]:
    """The page of a reader reply (`reader_result`).

    Raises:
        GLMAPIError: If the reply has no `reader_result` object.
    """
    page = reply.get("reader_result")
    if not isinstance(page, dict):
        raise malformed("reply has no reader_result object")
    return page


def page_text(page: dict[str, Any], max_chars: int) -> str:
    """A read page as text for a model: title, source, content, cut to `max_chars` with a note."""
    title, content = clean(page.get("title")), clean(page.get("content"))
    heading = f"# {title}"
    if title and content.startswith(heading + "\n"):  # the page's own title, said once
        content = content[len(heading) :].lstrip("\n")
    text = (f"{heading}\n\n" if title else "") + f"Source: {clean(page.get('url'))}\n\n"
    return cut(text + content, max_chars, "the whole page")


class GLMWebReader(GLMAPISettings, BaseTool):
    """Z.ai's web reader as a tool (`glm_web_reader`): a page as markdown, with its title.

    Only absolute http(s) URLs are sent (anything else is a `ValueError` first). The text
    for the model is cut at `max_chars`, with a note saying so; the artifact is GLM's whole
    `reader_result` (`title`, `url`, `content`, `description`, ...), nothing cut.
    """

    name: str = "glm_web_reader"
    """Tool name the model sees."""

    description: str = (
        "Read a web page with Z.ai. Input: an absolute http(s) URL. Returns the page as "
        "markdown, with its title."
    )
    """Tool description the model sees."""

    args_schema: type[BaseModel] = WebReaderInput
    """Arguments of a call: `url`."""

    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    """Text for the model, GLM's `reader_result` as the artifact."""

    return_format: Literal["markdown", "text"] = "markdown"
    """What GLM turns the page into: `"markdown"` or plain `"text"`."""

    retain_images: bool = True
    """Keep image links in the page text."""

    fetch_timeout: int = Field(default=20, ge=1, strict=True)
    """Seconds GLM may take to fetch the page (sent as `timeout`)."""

    no_cache: bool = False
    """Make GLM fetch the page again instead of using its cache."""

    max_chars: int = Field(default=50_000, ge=1, strict=True)
    """Most characters handed to the model; a longer page is cut here, with a note."""

    def _body(self, url: str) -> dict[str, Any]:
        return {
            "url": check_url(url),
            "return_format": self.return_format,
            "retain_images": self.retain_images,
            "timeout": self.fetch_timeout,
            "no_cache": self.no_cache,
        }

    def _answer(self, page: dict[str, Any]) -> _Answer:
        return page_text(page, self.max_chars), page

    def _run(self, url: str, run_manager: CallbackManagerForToolRun | None = None) -> _Answer:
        """Read one page."""
        return self._answer(self._post(READER_PATH, self._body(url), reader_result))

    async def _arun(
        self, url: str, run_manager: AsyncCallbackManagerForToolRun | None = None
    ) -> _Answer:
        """Async twin of `_run`."""
        return self._answer(await self._apost(READER_PATH, self._body(url), reader_result))
