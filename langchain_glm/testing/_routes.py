"""The route table: which endpoint family answers which path, under every base path.

A family is a module of handlers (`langchain_glm.testing._base.Handler`) that imports only
`_base` (and its own helpers); adding one is a module and a line in `ROUTES`.
"""

from __future__ import annotations

from dataclasses import dataclass

from langchain_glm.testing import _batch, _chat, _retrieval, _web
from langchain_glm.testing._base import Handler, Host, RecordedRequest, WireReply

BASE_PATHS = ("/api/paas/v4", "/api/coding/paas/v4", "/v1")
"""Base paths served: standard, coding plan, and OpenAI-style."""


@dataclass(frozen=True)
class Route:
    """One path a family serves under every base path.

    Attributes:
        path: The path after the base path, e.g. ``"/chat/completions"``.
        handle: The family's handler, called once auth has passed.
        prefix: Also route every path starting with ``path`` (e.g. ``/files/{id}/content``).
        methods: Methods served (another is a 405); ``None``: the handler decides.
    """

    path: str
    handle: Handler
    prefix: bool = False
    methods: frozenset[str] | None = frozenset({"POST"})


def _batch_api(host: Host, request: RecordedRequest, _: int) -> WireReply:
    return _batch.handle(request, host.answer, host.batch_state)


ROUTES: tuple[Route, ...] = (
    Route("/chat/completions", _chat.chat),
    Route("/tokenizer", _chat.tokenizer),
    Route("/files", _batch_api, prefix=True, methods=None),
    Route("/batches", _batch_api, prefix=True, methods=None),
    Route("/web_search", _web.search),
    Route("/reader", _web.read),
    Route("/layout_parsing", _web.layout),
    Route("/embeddings", _retrieval.embeddings),
    Route("/rerank", _retrieval.rerank),
)
"""Every route served, one family after another."""


def find_route(path: str) -> Route | None:
    """The route serving a request path (base path included), ``None`` when there is none."""
    base = next((b for b in BASE_PATHS if path.startswith(b + "/")), None)
    rest = path[len(base) :] if base else ""
    return next(
        (r for r in ROUTES if rest == r.path or (r.prefix and rest.startswith(r.path))), None
    )
