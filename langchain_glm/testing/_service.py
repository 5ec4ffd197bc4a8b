"""`GLMService`: the GLM behaviour as pure code; `plan(request)` returns what to send.

No I/O here: `GLMServer` (HTTP on loopback) and `GLMTransport` (in-process httpx) only carry
out a `Plan`, so both are scripted the same way. Paths: https://docs.z.ai/api-reference .
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import replace
from http import HTTPStatus
from typing import Any, TypeVar

from langchain_glm._models import MODELS
from langchain_glm.testing import _batch
from langchain_glm.testing import _wire as wire
from langchain_glm.testing._replies import (
    JSON,
    ErrorReply,
    Plan,
    RawReply,
    RecordedRequest,
    Reply,
    Script,
    default_reply,
)
from langchain_glm.testing._validate import check_auth, check_body

DEFAULT_MODELS = tuple(MODELS)
"""Models a service knows unless given ``models=``: all of ``langchain_glm._models.MODELS``."""

BASE_PATHS = ("/api/paas/v4", "/api/coding/paas/v4", "/v1")
"""Base paths served: standard, coding plan, and OpenAI-style."""

_SSE = "text/event-stream;charset=UTF-8"
Answer = Reply | ErrorReply | RawReply
_A = TypeVar("_A", Reply, ErrorReply, RawReply)


def phrase(status: int) -> str:
    """The reason phrase of an HTTP status (empty for unregistered ones, like 529)."""
    return HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""


def _error_plan(e: ErrorReply) -> Plan:
    page = wire.html_page(e.status, phrase(e.status), e.message) if e.html else None
    body = page or wire.dumps(wire.error_body(e.code, e.message))
    plan = Plan.of(e.status, body, "text/html" if page else "application/json")
    if e.retry_after is not None:
        seconds = float(e.retry_after)
        plan.headers["Retry-After"] = str(int(seconds)) if seconds.is_integer() else repr(seconds)
    plan.headers.update(e.headers or {})
    return replace(plan, delay=e.delay_before_headers)


def render(answer: Answer, body: Any, seq: int) -> Plan:
    """The `Plan` of an answer to a chat request (``body``: its JSON; ``seq`` seeds ids)."""
    if isinstance(answer, ErrorReply):
        return _error_plan(answer)
    if isinstance(answer, RawReply):
        ctype = answer.content_type or (_SSE if answer.body.lstrip()[:5] == b"data:" else None)
        return Plan.of(answer.status, answer.body, ctype or JSON, answer.delay_before_headers)
    turn, delay = wire.Turn.from_body(body, seq), answer.delay_before_headers
    if answer.disconnect:
        return Plan(delay=delay, disconnect=True)
    if turn.stream:
        events, complete = wire.stream_events(answer, turn)
        headers = {"Content-Type": _SSE, "Cache-Control": "no-cache"}
        return Plan(200, headers, tuple(events), None, delay, answer.trickle, complete)
    data, complete = wire.completion_bytes(answer, turn), answer.cut_after is None
    sent = data if complete else data[: len(data) // 2]
    return Plan(200, {"Content-Type": JSON}, (sent,), len(data), delay, complete=complete)


class GLMService:
    """GLM's chat-completions and Batch API behaviour, scripted by a test."""

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
        self._lock = threading.Lock()
        self._queue: deque[Answer | Script] = deque()
        self._faults: list[tuple[str, ErrorReply]] = []
        self._script: Script | None = None
        self._requests: list[RecordedRequest] = []
        self._script_errors: list[Exception] = []
        self._seq = 0

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

    def reply_raw(self, body: bytes | str, *, times: int = 1, **fields: Any) -> RawReply:
        """Queue ``RawReply(body, **fields)`` (``str`` is UTF-8 encoded), and return it."""
        raw = RawReply(body.encode() if isinstance(body, str) else body, **fields)
        return self._add(raw, times)

    def _add(self, answer: _A, times: int) -> _A:
        self.enqueue(*[answer] * times)
        return answer

    def enqueue(self, *items: Answer | Script) -> None:
        """Queue replies or one-shot scripts (called with the request), one per chat request."""
        with self._lock:
            self._queue.extend(items)

    def fail(self, fragment: str, status: int, code: str, message: str | None = None) -> None:
        """Answer the next request whose path contains ``fragment`` (any route) with an error.

        Args:
            fragment: Part of the path, e.g. ``"/batches/"``.
            status: HTTP status.
            code: GLM business code.
            message: ``None`` uses the service's message for well-known codes.
        """
        with self._lock:
            self._faults.append((fragment, ErrorReply(status, code, message)))

    def script(self, fn: Script | None) -> None:
        """Answer with ``fn(request)`` while nothing is queued (``None``: off)."""
        self._script = fn

    def reset(self) -> None:
        """Forget queued replies, faults, the script, requests and script errors; restart ids."""
        with self._lock:
            self._queue.clear()
            self._faults.clear()
            self._requests.clear()
            self._script_errors.clear()
            self._script, self._seq = None, 0

    def _take_seq(self, request: RecordedRequest | None = None) -> tuple[int, ErrorReply | None]:
        """Count (and record) a request; also pop the first fault its path matches."""
        with self._lock:
            self._seq += 1
            if request is None:
                return self._seq - 1, None
            self._requests.append(request)
            hit = next((f for f in self._faults if f[0] in request.path), None)
            if hit is not None:
                self._faults.remove(hit)
            return self._seq - 1, hit and hit[1]

    def plan(self, request: RecordedRequest) -> Plan:
        """Record one request and decide its whole response: route, auth, validation, reply.

        Args:
            request: The parsed request.

        Returns:
            The plan a carrier executes.
        """
        seq, fault = self._take_seq(request)
        base = next((b for b in BASE_PATHS if request.path.startswith(b + "/")), "")
        route = request.path[len(base) :] if base else ""
        batch = route.startswith(("/files", "/batches"))
        if route not in ("/chat/completions", "/tokenizer") and not batch:
            return _error_plan(ErrorReply(404, "1222", f"API does not exist: {request.path}"))
        if request.method != "POST" and not batch:
            return _error_plan(ErrorReply(405, "1222", f"Method {request.method} is not allowed"))
        error = fault or check_auth(request.headers, self._api_key)
        if error is None and batch:
            return _batch.handle(request, self.answer, self.batch_state)
        error = error or self._check(request.json)
        if error is not None:
            return _error_plan(error)
        if route == "/tokenizer":
            return Plan.of(200, wire.dumps(wire.tokenizer_body(request.json, seq)))
        return render(self._next(request), request.json, seq)

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer a non-stream chat body as scripted (one Batch API line).

        Args:
            body: A chat-completions request body.

        Returns:
            ``(HTTP status, JSON body)``: a completion, or GLM's error body.
        """
        (seq, _), body = self._take_seq(), {**body, "stream": False}
        request = RecordedRequest("POST", "/chat/completions", {}, body, wire.dumps(body))
        answer = self._check(body) or self._next(request)
        if isinstance(answer, ErrorReply):
            return answer.status, wire.error_body(answer.code, answer.message)
        plan = render(answer, body, seq)
        try:
            return plan.status, json.loads(b"".join(plan.chunks))
        except ValueError:
            return 500, wire.error_body("500", "the scripted reply is not a JSON document")

    def _check(self, body: Any) -> ErrorReply | None:
        if self.validate:
            return check_body(body, self.models)
        return None if isinstance(body, dict) else ErrorReply(400, "1210")

    def _next(self, request: RecordedRequest) -> Answer:
        """The next queued item, else the script, else the default (500 when a script fails)."""
        with self._lock:
            item = self._queue.popleft() if self._queue else self._script
        if isinstance(item, (Reply, ErrorReply, RawReply)):
            return item
        try:
            answer = default_reply(request) if item is None else item(request)
            if not isinstance(answer, (Reply, ErrorReply, RawReply)):
                raise TypeError(f"script returned {answer!r}, not a Reply or ErrorReply")
        except Exception as exc:
            self._script_errors.append(exc)
            return ErrorReply(500, "500", f"script raised {type(exc).__name__}: {exc}")
        return answer
