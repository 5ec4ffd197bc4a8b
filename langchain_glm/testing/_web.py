"""GLM's Web Search, Web Reader and layout-parsing (GLM-OCR) APIs as pure code; no I/O here.

Shapes as at https://docs.z.ai/api-reference/tools/web-search, .../tools/web-reader and
.../tools/layout-parsing. ``host.web_state`` holds what a test scripts:
``corpus`` (the results a search ranks, `search_corpus`), ``pages`` (url → page,
`web_pages`) and ``layouts`` (file → pages, `layout_pages`); unscripted, a small corpus about
GLM and its pages answer, and a PDF is parsed from its own uncompressed text.

The engines follow the request's ``Host``: on ``api.z.ai`` only ``search-prime``, on
``open.bigmodel.cn`` the four BigModel engines, each required; on any other host (the local
server) any of them, or none. Bad engines, counts, filters and unknown URLs get a 400 with
code ``1210`` (the code the real service uses for a bad parameter is not documented for these
endpoints: this is our choice).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_glm.testing._base import Host, RecordedRequest, WireReply, error_body, tokens

ENGINES = {
    "api.z.ai": ("search-prime",),
    "open.bigmodel.cn": ("search_std", "search_pro", "search_pro_sogou", "search_pro_quark"),
}
_ANY_ENGINE = (*ENGINES["api.z.ai"], *ENGINES["open.bigmodel.cn"], "search_pro_jina")
_RECENCY = ("oneDay", "oneWeek", "oneMonth", "oneYear", "noLimit")
_MB = 1024 * 1024
_KINDS = {b"%PDF-": ("pdf", 50 * _MB), b"\x89PNG\r\n\x1a\n": ("png", 10 * _MB)}
_KINDS[b"\xff\xd8\xff"] = ("jpg", 10 * _MB)
_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.S)
_SHOWN = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj")
_A4 = (595, 842)

DEFAULT_PAGES: dict[str, dict[str, str]] = {
    "https://docs.z.ai/guides/llm/glm-5.4": {
        "title": "GLM-5.4",
        "description": "Z.ai's flagship model with native vision.",
        "content": "# GLM-5.4\n\nGLM-5.4 is Z.ai's flagship model, released on 2026-12-02. It "
        "takes text, image, video and file input, has a 1M-token context and thinks "
        "before it answers.",
    },
    "https://docs.z.ai/guides/vlm/glm-ocr": {
        "title": "GLM-OCR",
        "description": "Document layout parsing.",
        "content": "# GLM-OCR\n\nGLM-OCR parses PDF, JPG and PNG files into markdown, page by "
        "page, with the layout of every element.",
    },
    "https://docs.z.ai/api-reference/tools/web-search": {
        "title": "Web Search API",
        "description": "Search the web from any application.",
        "content": "# Web Search\n\nPOST /paas/v4/web_search returns up to 50 results with "
        "title, link, content and publish date.",
    },
}
"""The pages served when a test scripts none (also the links of `DEFAULT_CORPUS`)."""

DEFAULT_CORPUS: list[dict[str, Any]] = [
    {"link": url, "title": page["title"], "content": page["content"].partition("\n\n")[2]}
    for url, page in DEFAULT_PAGES.items()
] + [
    {
        "link": "https://docs.langchain.com/oss/python/integrations/providers",
        "title": "LangChain integrations",
        "content": "LangChain integrates chat models, tools and retrievers, GLM among them.",
    },
    {
        "link": "https://www.example.com/news/glm-5.4-release",
        "title": "Z.ai releases GLM-5.4",
        "content": "Z.ai released GLM-5.4, a loop-transformer model, in December 2026.",
    },
]
"""The results searched when a test scripts none."""


def search_corpus(service: Host, results: Sequence[Mapping[str, Any]]) -> None:
    """Script the search corpus: each search ranks these results by the query's words.

    Args:
        service: A `GLMServer`, `GLMTransport` or `GLMService`.
        results: Result objects (``title``, ``content``, ``link``, and optionally ``media``,
            ``icon``, ``publish_date``); the missing fields are filled as GLM fills them.
    """
    service.web_state["corpus"] = [dict(result) for result in results]


def web_pages(service: Host, pages: Mapping[str, str | Mapping[str, Any]]) -> None:
    """Script the pages the reader serves (any other URL is a 400), replacing the defaults.

    Args:
        service: A `GLMServer`, `GLMTransport` or `GLMService`.
        pages: URL → markdown text, or → ``{"title", "content", "description"}``.
    """
    made = {url: {"content": p} if isinstance(p, str) else dict(p) for url, p in pages.items()}
    service.web_state["pages"] = made


def layout_pages(
    service: Host, pages: Sequence[str | Sequence[Mapping[str, Any]]], *, file: str | bytes = ""
) -> None:
    """Script what GLM-OCR finds in a file.

    Args:
        service: A `GLMServer`, `GLMTransport` or `GLMService`.
        pages: Per page, its markdown (split into elements at blank lines; ``#`` lines
            are titles) or its layout elements (``label``, ``content``, ``bbox_2d``,
            ``index``) as they are to be sent.
        file: The URL or the bytes of the file this is for; ``""``: every file.
    """
    key = file if isinstance(file, str) else hashlib.sha256(file).hexdigest()
    service.web_state.setdefault("layouts", {})[key] = [_page(p) for p in pages]


def _page(page: str | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if not isinstance(page, str):
        return [dict(element) for element in page]
    parts = [part.strip() for part in page.split("\n\n") if part.strip()]
    return [
        _element(i, part, "title" if part.startswith("#") else "text")
        for i, part in enumerate(parts)
    ]


def _element(index: int, content: str, label: str) -> dict[str, Any]:
    top = 60 + 40 * index
    box = [60, top, _A4[0] - 60, top + 30]
    return {
        "index": index,
        "label": label,
        "bbox_2d": box,
        "content": content,
        "width": _A4[0],
        "height": _A4[1],
    }


def _head(seq: int) -> dict[str, Any]:
    rid = f"web-{seq:06d}-{hashlib.sha256(str(seq).encode()).hexdigest()[:12]}"
    return {"id": rid, "created": int(time.time()), "request_id": rid}


def _bad(message: str, code: str = "1210") -> WireReply:
    return WireReply.of(400, error_body(code, message))


def _search(body: dict[str, Any], host: str, state: dict[str, Any], seq: int) -> WireReply:
    query, engine, count = (
        body.get("search_query"),
        body.get("search_engine"),
        body.get("count", 10),
    )
    taken = ENGINES.get(host)
    if not isinstance(query, str) or not query.strip():
        return _bad("search_query: must not be empty")
    if taken is not None and engine not in taken:
        return _bad(f"search_engine {engine!r} is not supported; use one of {', '.join(taken)}")
    if taken is None and engine is not None and engine not in _ANY_ENGINE:
        return _bad(f"search_engine {engine!r} is not supported")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 50:
        return _bad("count: must be between 1 and 50")
    if body.get("search_recency_filter", "noLimit") not in _RECENCY:
        return _bad("search_recency_filter: invalid value")
    if body.get("content_size", "medium") not in ("medium", "high"):
        return _bad("content_size: must be medium or high")
    words = set(re.findall(r"\w+", query.lower()))
    corpus = state.get("corpus", DEFAULT_CORPUS)

    def score(item: dict[str, Any]) -> int:
        text = f"{item.get('title', '')} {item.get('content', '')}".lower()
        return -sum(word in text for word in words)

    ranked = sorted(corpus, key=score)[:count]
    results = [_result(i, item) for i, item in enumerate(ranked, start=1)]
    intent = [{"query": query, "intent": "SEARCH_ALL", "keywords": " ".join(sorted(words))}]
    return WireReply.of(200, {**_head(seq), "search_intent": intent, "search_result": results})


def _result(refer: int, item: dict[str, Any]) -> dict[str, Any]:
    link = str(item.get("link", ""))
    media = re.sub(r"^https?://(www\.)?|/.*$", "", link)
    filled = {"title": "", "content": "", "link": link, "media": media, "icon": ""}
    return {**filled, "refer": f"ref_{refer}", "publish_date": "", **item}


def _read(body: dict[str, Any], state: dict[str, Any], seq: int) -> WireReply:
    url = body.get("url")
    if not isinstance(url, str) or not url:
        return _bad("url: must not be empty")
    page = state.get("pages", DEFAULT_PAGES).get(url)
    if page is None:
        return _bad(f"unable to read the page: {url}")
    content = str(page.get("content", ""))
    if body.get("retain_images") is False:
        content = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", content)
    if body.get("return_format") == "text":
        content = re.sub(r"(?m)^#+\s*", "", content)
    result = {"title": page.get("title", ""), "description": page.get("description", "")}
    result |= {"url": url, "content": content, "external": {}, "metadata": {}}
    return WireReply.of(200, {**_head(seq), "model": "reader", "reader_result": result})


def _file_pages(file: str, state: dict[str, Any]) -> list[list[dict[str, Any]]] | str:
    """The pages of a sent file, or the reason GLM refuses it."""
    layouts = state.get("layouts", {})
    if file.startswith(("http://", "https://")):
        return layouts.get(file) or layouts.get("") or [_page(f"# Document\n\nParsed from {file}")]
    try:
        data = base64.b64decode(file.partition("base64,")[2] or file, validate=True)
    except (binascii.Error, ValueError):
        return "file: not a URL or base64 data"
    kind = next((k for magic, k in _KINDS.items() if data.startswith(magic)), None)
    if kind is None:
        return "file: only PDF, JPG and PNG files are supported"
    if len(data) > kind[1]:
        return f"file: a {kind[0].upper()} may be at most {kind[1] // _MB} MB"
    scripted = layouts.get(hashlib.sha256(data).hexdigest()) or layouts.get("")
    return scripted or (_pdf_pages(data) if kind[0] == "pdf" else [_page("An image.")])


def _pdf_pages(data: bytes) -> list[list[dict[str, Any]]]:
    """A PDF's pages: page i holds the text shown (``Tj``) in its i-th text content stream."""
    streams = [s for s in _STREAM.findall(data) if b"BT" in s]
    pages = []
    for number in range(max(1, len(_PAGE.findall(data)))):
        shown = _SHOWN.findall(streams[number]) if number < len(streams) else []
        texts = [re.sub(rb"\\(.)", rb"\1", s).decode("latin-1") for s in shown]
        pages.append([_element(i, t, "text") for i, t in enumerate(texts)])
    return pages


def _layout(body: dict[str, Any], state: dict[str, Any], seq: int) -> WireReply:
    if str(body.get("model", "")).lower() != "glm-ocr":
        return _bad("Model does not exist, please check the model code.", "1211")
    file = body.get("file")
    pages = _file_pages(file, state) if isinstance(file, str) and file else "file: required"
    if isinstance(pages, str):
        return _bad(pages)
    start, end = body.get("start_page_id", 1), body.get("end_page_id", len(pages))
    if not (isinstance(start, int) and isinstance(end, int) and 1 <= start <= min(end, len(pages))):
        return _bad(f"start_page_id/end_page_id: the file has {len(pages)} pages")
    chosen = pages[start - 1 : end]
    markdown = "\n\n".join(e["content"] for page in chosen for e in page if e.get("content"))
    size = {"width": _A4[0], "height": _A4[1]}
    info = {"num_pages": len(pages), "pages": [size] * len(chosen)}
    n = tokens(len(markdown))
    usage: dict[str, Any] = {"prompt_tokens": 0, "completion_tokens": n, "total_tokens": n}
    usage["prompt_tokens_details"] = {"cached_tokens": 0}
    rest: dict[str, Any] = {"model": "GLM-OCR", "md_results": markdown, "layout_details": chosen}
    rest |= {"layout_visualization": [], "data_info": info, "usage": usage}
    return WireReply.of(200, {**_head(seq), **rest})


def _body(request: RecordedRequest) -> dict[str, Any] | None:
    return request.json if isinstance(request.json, dict) else None


_NOT_JSON = "the request body must be a JSON object"


def search(host: Host, request: RecordedRequest, seq: int) -> WireReply:
    """``POST /web_search``: the corpus ranked by the query; engines by the ``Host`` header."""
    body = _body(request)
    if body is None:
        return _bad(_NOT_JSON)
    where = request.headers.get("host", "").partition(":")[0].lower()
    return _search(body, where, host.web_state, seq)


def read(host: Host, request: RecordedRequest, seq: int) -> WireReply:
    """``POST /reader``: the scripted (or default) page of the URL; another URL is a 400."""
    body = _body(request)
    return _bad(_NOT_JSON) if body is None else _read(body, host.web_state, seq)


def layout(host: Host, request: RecordedRequest, seq: int) -> WireReply:
    """``POST /layout_parsing``: the file's scripted pages, else a PDF's own text."""
    body = _body(request)
    return _bad(_NOT_JSON) if body is None else _layout(body, host.web_state, seq)
