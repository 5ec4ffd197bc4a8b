"""`GLMService`: the GLM behaviour as pure code (no I/O); `plan(request)` returns what to send.

It records each request, applies faults and auth, and hands the request to the endpoint family
that `langchain_glm.testing._routes.ROUTES` names (chat, tokenizer, Batch API, embeddings, rerank).
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any, TypeVar

from langchain_glm._models import MODELS
from langchain_glm.testing._base import (
    Answer,
    ErrorReply,
    RecordedRequest,
    Reply,
    Script,
    WireReply,
    check_auth,
    render_error,
)
from langchain_glm.testing._chat import batch_line
from langchain_glm.testing._routes import find_route

DEFAULT_MODELS = tuple(MODELS)
"""Models a service knows unless given ``models=``: all of ``langchain_glm._models.MODELS``."""
_A = TypeVar("_A", Reply, ErrorReply, WireReply)


class GLMService:
    """GLM's chat-completions, Batch API, embeddings and rerank behaviour, scripted by a test."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: Iterable[str] | None = None,
        validate: bool = True,
    ) -> None:
        """Configure the behaviour.

        Args:
            api_key: Accept only this bearer key (or a valid JWT made from an ``id.secret``
                key); ``None`` accepts any non-empty key.
            models: Model ids to accept (default `DEFAULT_MODELS`).
            validate: Check request bodies as the service does (``False`` lets anything in).
        """
        self._api_key = api_key
        self.models = frozenset(m.lower() for m in (DEFAULT_MODELS if models is None else models))
        """Model ids accepted (lower case)."""
        self.validate = validate
        """Whether request bodies are validated."""
        self.batch_state: dict[str, Any] = {}
        """The Batch API store (files, batches, settings): see `advance_batches`."""
        self.web_state: dict[str, Any] = {}
        """The web search / reader / layout-parsing script: see `search_corpus`."""
        self._lock = threading.Lock()
        self._queue: deque[Answer | Script] = deque()
        self._faults: list[tuple[str, ErrorReply]] = []
        self._script: Script | None = None
        self._requests: list[RecordedRequest] = []
        self._script_errors: list[Exception] = []
        self._ids = itertools.count()  # seeds response and tool-call ids

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received since start or `reset`, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent request (`LookupError` before the first)."""
        with self._lock:
            if not self._requests:
                raise LookupError("no request has been received")
            return self._requests[-1]

    @property
    def pending(self) -> int:
        """How many queued replies have not been served yet."""
        return len(self._queue)

    @property
    def script_errors(self) -> list[Exception]:
        """Exceptions raised by scripts (each was answered with HTTP 500, code ``"500"``)."""
        return list(self._script_errors)

    def reply(self, text: str = "", *, times: int = 1, **fields: Any) -> Reply:
        """Queue ``Reply(text, **fields)`` ``times`` times, and return it (fields: `Reply`)."""
        return self._add(Reply(text, **fields), times)

    def reply_error(
        self, status: int, code: str, message: str | None = None, *, times: int = 1, **fields: Any
    ) -> ErrorReply:
        """Queue ``ErrorReply(status, code, message, **fields)`` ``times`` times, and return it."""
        return self._add(ErrorReply(status, code, message, **fields), times)

    def reply_raw(
        self,
        body: bytes | str,
        status: int = 200,
        content_type: str | None = None,
        *,
        times: int = 1,
        delay_before_headers: float = 0.0,
    ) -> WireReply:
        """Queue ``body`` (``str``: UTF-8) served byte for byte, e.g. a real capture; returns it."""
        raw = body.encode() if isinstance(body, str) else body
        return self._add(WireReply.of(status, raw, content_type, delay_before_headers), times)

    def _add(self, answer: _A, times: int) -> _A:
        self.enqueue(*[answer] * times)
        return answer

    def enqueue(self, *items: Answer | Script) -> None:
        """Queue replies or one-shot scripts (called with the request), one per chat request."""
        with self._lock:
            self._queue.extend(items)

    def fail(self, fragment: str, status: int, code: str, message: str | None = None) -> None:
        """Answer the next request whose path contains ``fragment`` (any route) with an error."""
        with self._lock:
            self._faults.append((fragment, ErrorReply(status, code, message)))

    def script(self, fn: Script | None) -> None:
        """Answer chat requests and Batch API lines with ``fn(request)`` while nothing is queued."""
        self._script = fn

    def reset(self) -> None:
        """Forget queued replies, faults, the script, requests and script errors; restart ids."""
        with self._lock:
            for store in (self._queue, self._faults, self._requests, self._script_errors):
                store.clear()
            self._script, self._ids = None, itertools.count()

    def _record(self, request: RecordedRequest) -> tuple[int, ErrorReply | None]:
        with self._lock:
            self._requests.append(request)
            for index, (fragment, error) in enumerate(self._faults):
                if fragment in request.path:
                    del self._faults[index]
                    return next(self._ids), error
            return next(self._ids), None

    def plan(self, request: RecordedRequest) -> WireReply:
        """Record one request and decide its whole response: route, auth, then the family's."""
        seq, fault = self._record(request)
        route = find_route(request.path)
        if route is None:
            return render_error(ErrorReply(404, "1222", f"API does not exist: {request.path}"))
        if route.methods is not None and request.method not in route.methods:
            return render_error(ErrorReply(405, "1222", f"Method {request.method} is not allowed"))
        error = fault or check_auth(request.headers, self._api_key)
        return route.handle(self, request, seq) if error is None else render_error(error)

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer a non-stream chat body as scripted (one Batch API line)."""
        return batch_line(self, body, next(self._ids))

    def next_answer(
        self, request: RecordedRequest, default: Script, *, use_script: bool = True
    ) -> Answer:
        """The next queued answer, else the script's (if ``use_script``), else ``default(request)``.

        A script that raises, or returns something else than a `Reply`, `ErrorReply` or
        `WireReply`, is answered with HTTP 500 and kept in `script_errors`.
        """
        with self._lock:
            item = self._queue.popleft() if self._queue else self._script if use_script else None
        if isinstance(item, (Reply, ErrorReply, WireReply)):
            return item
        try:
            answer = default(request) if item is None else item(request)
            if not isinstance(answer, (Reply, ErrorReply, WireReply)):
                raise TypeError(f"script returned {answer!r}, not a Reply, ErrorReply or WireReply")
        except Exception as exc:
            self._script_errors.append(exc)
            return ErrorReply(500, "500", f"script raised {type(exc).__name__}: {exc}")
        return answer
