"""`GLMLayoutLoader`: PDFs and images to Documents with GLM-OCR layout parsing.

`POST {base}/layout_parsing` with `{"model": "glm-ocr", "file": <URL or base64 data>}`
(https://docs.z.ai/api-reference/tools/layout-parsing, https://docs.z.ai/guides/vlm/glm-ocr).
GLM takes PDF, JPG and PNG files, images up to 10 MB and PDFs up to 50 MB; the loader refuses
anything else before reading or uploading it.

Example:
    ```python
    from langchain_glm import GLMLayoutLoader

    loader = GLMLayoutLoader("https://example.com/report.pdf")
    for doc in loader.load():
        print(doc.metadata["page"], "/", doc.metadata["num_pages"], doc.page_content[:60])
    ```
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
from langchain_core.document_loaders import BaseLoader
from langchain_core.documents import Document

from langchain_glm._errors import malformed
from langchain_glm._platform import GLMAPISettings
from langchain_glm._websearch import clean
from langchain_glm.web import url_problem

__all__ = ["GLMLayoutLoader"]

PATH = "layout_parsing"
"""Path of the layout-parsing API under the base URL."""
MODEL = "glm-ocr"
"""The layout-parsing model."""
MB = 1024 * 1024
KINDS: dict[str, tuple[bytes, str, int]] = {
    "pdf": (b"%PDF-", "application/pdf", 50 * MB),
    "png": (b"\x89PNG\r\n\x1a\n", "image/png", 10 * MB),
    "jpg": (b"\xff\xd8\xff", "image/jpeg", 10 * MB),
}
"""Per file kind GLM takes: its magic bytes, MIME type and GLM's size limit."""
_OTHER_TYPES = frozenset(
    [
        ".doc",
        ".docx",
        ".ppt",
        ".pptx",
        ".xls",
        ".xlsx",
        ".txt",
        ".md",
        ".csv",
        ".html",
        ".htm",
        ".gif",
        ".webp",
        ".bmp",
        ".tif",
        ".tiff",
        ".svg",
        ".zip",
    ]
)
"""URL suffixes of files GLM-OCR does not read (a URL without a known suffix is sent)."""


def _is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def check_url_source(url: str) -> str:
    """Return a file URL GLM can fetch: absolute http(s), not named as another file type.

    Raises:
        ValueError: Otherwise.
    """
    problem = url_problem(url)
    if problem is None and Path(httpx.URL(url).path).suffix.lower() in _OTHER_TYPES:
        problem = "names another file type"
    if problem is not None:
        msg = f"{url!r} {problem}: GLM-OCR reads PDF, JPG and PNG files from absolute http(s) URLs"
        raise ValueError(msg)
    return url


def file_data(path: str) -> str:
    """A local file as a base64 data URL, refused before reading if GLM would refuse it.

    Raises:
        ValueError: For a file that is not a PDF, JPG or PNG, or is over GLM's limit.
        OSError: If the file cannot be read.
    """
    size = os.stat(path).st_size
    with open(path, "rb") as file:
        head = file.read(8)
        kind = next((k for k, (magic, _, _) in KINDS.items() if head.startswith(magic)), None)
        if kind is None:
            msg = f"{path!r} is not a PDF, JPG or PNG file: GLM-OCR reads only those"
            raise ValueError(msg)
        _, mime, limit = KINDS[kind]
        if size > limit:
            msg = f"{path!r} is {size / MB:.1f} MB; GLM-OCR takes a {kind.upper()} of up to "
            raise ValueError(msg + f"{limit // MB} MB")
        data = head + file.read(limit + 1 - len(head))
    if len(data) > limit:  # the file grew after `stat`
        msg = f"{path!r} grew over GLM-OCR's {limit // MB} MB limit while being read"
        raise ValueError(msg)
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _reading_order(item: tuple[int, dict[str, Any]]) -> tuple[int, int, int]:
    """Sort key: GLM's integer `index` first, elements without one after, as sent."""
    position, element = item
    index = element.get("index")
    if isinstance(index, int) and not isinstance(index, bool):
        return 0, index, position
    return 1, 0, position


def _elements(page: Any) -> list[dict[str, Any]]:
    """A page's layout elements in reading order."""
    if not isinstance(page, list) or not all(isinstance(e, dict) for e in page):
        raise malformed("layout_details is not a list of pages of layout elements")
    return [element for _, element in sorted(enumerate(page), key=_reading_order)]


def _num_pages(reply: dict[str, Any], first_page: int, parsed: int) -> int:
    """The document's page count (`data_info.num_pages`), else the last page parsed.

    The server's count is taken only when it is a whole number reaching at least the last
    page parsed: a count of 0, -5 or 2 beside pages 3-4 is GLM's mistake, not the file's.
    """
    last = first_page + parsed - 1 if parsed else 0
    info = reply.get("data_info")
    total = info.get("num_pages") if isinstance(info, dict) else None
    if isinstance(total, int) and not isinstance(total, bool) and total >= max(last, 1):
        return total
    return last


def _layout(element: dict[str, Any]) -> dict[str, Any]:
    """An element's `label` (control characters removed) and `bbox_2d` (4 numbers, or None)."""
    box = element.get("bbox_2d")
    if not (isinstance(box, list) and len(box) == 4 and all(type(v) in (int, float) for v in box)):
        box = None
    return {"label": clean(element.get("label")), "bbox_2d": box}


def _check_pages(start: Any, end: Any) -> tuple[int | None, int | None]:
    """Return the page range if GLM takes it (1-based, not reversed); else `ValueError`."""
    for name, value in (("start_page", start), ("end_page", end)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            msg = f"{name}={value!r}: pages are numbered from 1"
            raise ValueError(msg)
        if value is not None and value < 1:
            msg = f"{name}={value!r}: pages are numbered from 1"
            raise ValueError(msg)
    if start is not None and end is not None and end < start:
        msg = f"end_page={end} comes before start_page={start}"
        raise ValueError(msg)
    return start, end


def page_documents(reply: dict[str, Any], source: str, first_page: int) -> list[Document]:
    """One Document per page, in page order, from a layout-parsing reply.

    Args:
        reply: GLM's reply (`layout_details`, `data_info`).
        source: The path or URL, for `metadata["source"]`.
        first_page: The number of the first page parsed (1-based).

    Returns:
        Documents whose `page_content` joins the page's element contents in reading
        order, with `source`, `page`, `num_pages` and `elements` (`label`, `bbox_2d`).

    Raises:
        GLMAPIError: If `layout_details` is not a list of pages.
    """
    pages = reply.get("layout_details")
    if not isinstance(pages, list):
        raise malformed("reply has no layout_details list")
    total = _num_pages(reply, first_page, len(pages))
    docs = []
    for offset, page in enumerate(pages):
        elements = _elements(page)
        texts = [clean(e.get("content")) for e in elements]
        metadata = {"source": source, "page": first_page + offset, "num_pages": total}
        metadata["elements"] = [_layout(e) for e in elements]
        docs.append(Document(page_content="\n\n".join(t for t in texts if t), metadata=metadata))
    return docs


class GLMLayoutLoader(BaseLoader):
    """GLM-OCR layout parsing as a document loader: one Document per page, or one in all.

    Takes a local path (sent as base64) or an http(s) URL (GLM fetches it). A local file
    that is not a PDF, JPG or PNG (by its content), or is over GLM's limit (images 10 MB,
    PDFs 50 MB), is refused before it is read in full or uploaded.

    Args:
        file_path: Local path or http(s) URL of a PDF, JPG or PNG.
        mode: `"page"`: one Document per page, in page order, built from the page's layout
            elements in reading order; `"single"`: one Document holding GLM's markdown of
            the whole document (`md_results`).
        start_page: First page to parse (1-based), or None for the first.
        end_page: Last page to parse, or None for the last.
        **settings: Connection settings, as `GLMAPISettings` fields (`api_key`, `base_url`,
            `timeout`, `max_retries`, `http_client`, ...).

    Raises:
        ValueError: For an unknown `mode`, page numbers below 1 or reversed, a URL GLM
            cannot read, or invalid settings.
    """

    def __init__(
        self,
        file_path: str | os.PathLike[str],
        *,
        mode: Literal["page", "single"] = "page",
        start_page: int | None = None,
        end_page: int | None = None,
        **settings: Any,
    ) -> None:
        self.file_path = os.fspath(file_path)
        """The path or URL to parse."""
        if mode not in ("page", "single"):
            msg = f"mode={mode!r}: use 'page' (one Document per page) or 'single'"
            raise ValueError(msg)
        self.mode = mode
        """`"page"` or `"single"`."""
        self.start_page, self.end_page = _check_pages(start_page, end_page)
        if _is_url(self.file_path):
            check_url_source(self.file_path)
        self.settings = GLMAPISettings(**settings)
        """The connection settings (key, base URL, timeout, retries, clients)."""

    def __repr__(self) -> str:
        return f"GLMLayoutLoader({self.file_path!r}, mode={self.mode!r})"

    def _payload(self) -> dict[str, Any]:
        """The request body; a local file is checked, read and encoded here."""
        source = self.file_path
        body: dict[str, Any] = {"model": MODEL}
        body["file"] = source if _is_url(source) else file_data(source)
        if self.start_page is not None:
            body["start_page_id"] = self.start_page
        if self.end_page is not None:
            body["end_page_id"] = self.end_page
        return body

    def _documents(self, reply: dict[str, Any]) -> list[Document]:
        if self.mode == "single":
            pages = reply.get("layout_details")
            parsed = len(pages) if isinstance(pages, list) else 0
            total = _num_pages(reply, self.start_page or 1, parsed)
            metadata = {"source": self.file_path, "num_pages": total}
            markdown = reply.get("md_results")
            if not isinstance(markdown, str):  # not str(a list): GLM's text or an error
                raise malformed("reply has no md_results text")
            return [Document(page_content=clean(markdown), metadata=metadata)]
        return page_documents(reply, self.file_path, self.start_page or 1)

    def lazy_load(self) -> Iterator[Document]:
        """Parse the file (one request) and yield its Documents in page order."""
        reply = self.settings._post(PATH, self._payload(), dict)
        yield from self._documents(reply)

    async def alazy_load(self) -> AsyncIterator[Document]:
        """Async twin of `lazy_load` (the file is read in a worker thread)."""
        payload = await asyncio.to_thread(self._payload)
        reply = await self.settings._apost(PATH, payload, dict)
        for doc in self._documents(reply):
            yield doc
