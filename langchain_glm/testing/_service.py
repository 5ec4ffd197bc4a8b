"""`GLMService`: the GLM behaviour as pure code, and `Plan`, what to send for one request.

`GLMService.plan` takes a parsed `RecordedRequest` and returns a `Plan` (status, headers, body
pieces, pacing and faults) without any I/O; `GLMServer` (HTTP on loopback) and `GLMTransport`
(in-process httpx) only carry plans out. Scripting (queued replies, scripts, recorded requests)
lives here, so both carriers script the same way.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from langchain_glm._models import MODELS
from langchain_glm.testing._replies import (
    ErrorReply,
    RawReply,
    RecordedRequest,
    Reply,
    Script,
    default_reply,
)
from langchain_glm.testing._validate import check_auth, check_body
from langchain_glm.testing._wire import (
    Turn,
    completion_bytes,
    dumps,
    error_body,
    html_page,
    stream_events,
    tokenizer_body,
)

DEFAULT_MODELS = tuple(MODELS)
"""Model ids a service knows unless given ``models=``: every model of the capability table."""

BASE_PATHS = ("/api/paas/v4", "/api/coding/paas/v4", "/v1")
"""Base paths served: standard, coding plan, and OpenAI-style."""

_JSON = "application/json; charset=UTF-8"
_SSE = "text/event-stream;charset=UTF-8"
Answer = Reply | ErrorReply | RawReply
_Queued = Answer | Script


@dataclass(frozen=True)
class Plan:
    """What to send for one request; carriers execute it and decide nothing."""

    status: int = 200
    """HTTP status."""
    headers: dict[str, str] = field(default_factory=dict)
    """Response headers (``Content-Length`` is added from ``length``)."""
    chunks: tuple[bytes, ...] = ()
    """Body pieces, sent in order (one SSE event each for streams)."""
    length: int | None = None
    """``Content-Length``; ``None`` sends the body chunked (streams)."""
    delay: float = 0.0
    """Seconds before the status line."""
    gap: float = 0.0
    """Seconds between body pieces (the first goes at once)."""
    complete: bool = True
    """``False``: drop the connection after the pieces, ending the body early."""
    disconnect: bool = False
    """Drop the connection without any response."""

    def paced(self) -> Iterator[tuple[float, bytes]]:
        """Yield ``(seconds to wait first, piece)`` for each body piece."""
        for index, piece in enumerate(self.chunks):
            yield (self.gap if index else 0.0), piece

    def header_list(self) -> list[tuple[str, str]]:
        """Headers to send, with ``Content-Length`` when the body has a fixed length."""
        extra = [] if self.length is None else [("Content-Length", str(self.length))]
        return [*self.headers.items(), *extra]


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def phrase(status: int) -> str:
    """The reason phrase of an HTTP status (empty for unregistered ones, like 529)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _error_plan(e: ErrorReply) -> Plan:
    if e.html:
        body, ctype = html_page(e.status, phrase(e.status), e.message), "text/html"
    else:
        body, ctype = dumps(error_body(e.code, e.message)), "application/json"
    headers = {"Content-Type": ctype}
    if e.retry_after is not None:
        headers["Retry-After"] = _seconds(e.retry_after)
    headers.update(e.headers or {})
    return Plan(e.status, headers, (body,), len(body), e.delay_before_headers)


def render(answer: Answer, body: Any, seq: int) -> Plan:
    """Turn a decided answer to a chat request into a `Plan`.

    Args:
        answer: The reply, error reply or raw reply to serve.
        body: The request's JSON body (a dict for replies).
        seq: Sequence number of the request (seeds ids).

    Returns:
        The plan.
    """
    if isinstance(answer, ErrorReply):
        return _error_plan(answer)
    if isinstance(answer, RawReply):
        sse = answer.body.lstrip().startswith(b"data:")
        headers = {"Content-Type": answer.content_type or (_SSE if sse else _JSON)}
        raw = (answer.body,)
        return Plan(answer.status, headers, raw, len(answer.body), answer.delay_before_headers)
    turn = Turn.from_body(body, seq)
    delay = answer.delay_before_headers
    if answer.disconnect:
        return Plan(delay=delay, disconnect=True)
    if turn.stream:
        events, complete = stream_events(answer, turn)
        headers = {"Content-Type": _SSE, "Cache-Control": "no-cache"}
        return Plan(200, headers, tuple(events), None, delay, answer.trickle, complete)
    data, complete = completion_bytes(answer, turn), answer.cut_after is None
    sent = data if complete else data[: len(data) // 2]
    return Plan(200, {"Content-Type": _JSON}, (sent,), len(data), delay, complete=complete)


class GLMService:
    """GLM's chat-completions behaviour, scripted by a test; no I/O (see `GLMServer`)."""

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
            validate: Check request bodies as the service does (turn off to let anything in).
        """
        self._api_key = api_key
        self.models: frozenset[str] = frozenset(
            m.lower() for m in (DEFAULT_MODELS if models is None else models)
        )
        """Model ids accepted (lower case)."""
        self.validate = validate
        """Whether request bodies are validated."""
        self.batch_state: dict[str, Any] = {}
        """Store of the Batch API emulation (files, batches), owned by this service."""
        self._lock = threading.Lock()
        self._queue: deque[_Queued] = deque()
        self._script: Script | None = None
        self._requests: list[RecordedRequest] = []
        self._script_errors: list[Exception] = []
        self._seq = 0

    # ----------------------------------------------------------------------------- records

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received since start or `reset`, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent request.

        Raises:
            LookupError: If no request has been received.
        """
        with self._lock:
            if not self._requests:
                raise LookupError("no request has been received")
            return self._requests[-1]

    @property
    def pending(self) -> int:
        """How many queued replies have not been served yet."""
        with self._lock:
            return len(self._queue)

    @property
    def script_errors(self) -> list[Exception]:
        """Exceptions raised by scripts (each was answered with HTTP 500, code ``"500"``)."""
        with self._lock:
            return list(self._script_errors)

    # ---------------------------------------------------------------------------- scripting

    def reply(self, text: str = "", *, times: int = 1, **fields: Any) -> Reply:
        """Queue ``Reply(text, **fields)`` (see `Reply` for every field) ``times`` times.

        Returns:
            The queued reply.
        """
        reply = Reply(text, **fields)
        self.enqueue(*[reply] * times)
        return reply

    def reply_error(
        self, status: int, code: str, message: str | None = None, *, times: int = 1, **fields: Any
    ) -> ErrorReply:
        """Queue ``ErrorReply(status, code, message, **fields)`` ``times`` times.

        Returns:
            The queued error reply.
        """
        error = ErrorReply(status, code, message, **fields)
        self.enqueue(*[error] * times)
        return error

    def reply_raw(self, body: bytes | str, *, times: int = 1, **fields: Any) -> RawReply:
        """Queue ``RawReply(body, **fields)`` (a ``str`` body is UTF-8 encoded) ``times`` times.

        Returns:
            The queued raw reply.
        """
        raw = RawReply(body.encode() if isinstance(body, str) else body, **fields)
        self.enqueue(*[raw] * times)
        return raw

    def enqueue(self, *items: _Queued) -> None:
        """Queue replies, error replies, raw replies or one-shot scripts, served in order.

        Args:
            *items: One per coming valid chat request; a script gets the `RecordedRequest`.
        """
        with self._lock:
            self._queue.extend(items)

    def script(self, fn: Script | None) -> None:
        """Answer with ``fn(request)`` while the queue is empty (``None``: the default reply).

        Args:
            fn: Called with each `RecordedRequest`; returns a reply (e.g. `auto_reply`).
        """
        with self._lock:
            self._script = fn

    def reset(self) -> None:
        """Forget queued replies, the script, recorded requests and script errors; restart ids."""
        with self._lock:
            self._queue.clear()
            self._script = None
            self._requests.clear()
            self._script_errors.clear()
            self._seq = 0

    # ----------------------------------------------------------------------------- deciding

    def plan(self, request: RecordedRequest) -> Plan:
        """Record one request and decide everything about its response.

        Args:
            request: The parsed request.

        Returns:
            The plan a carrier executes.
        """
        with self._lock:
            seq = self._seq
            self._seq += 1
            self._requests.append(request)
        base = next((b for b in BASE_PATHS if request.path.startswith(b + "/")), None)
        route = request.path[len(base) :] if base else ""
        batch = route.startswith(("/files", "/batches"))
        if route not in ("/chat/completions", "/tokenizer") and not batch:
            return _error_plan(ErrorReply(404, "1222", f"API does not exist: {request.path}"))
        if request.method != "POST" and not batch:
            return _error_plan(ErrorReply(405, "1222", f"Method {request.method} is not allowed"))
        error = check_auth(request.headers, self._api_key)
        if error is None and batch:
            return self._batch(request)
        if error is None:
            error = self._check(request.json)
        if error is not None:
            return _error_plan(error)
        if route == "/tokenizer":
            data = dumps(tokenizer_body(request.json, seq))
            return Plan(200, {"Content-Type": _JSON}, (data,), len(data))
        return render(self._next(request), request.json, seq)

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one non-stream chat body as the scripting decides (for the Batch emulation).

        Args:
            body: A chat-completions request body.

        Returns:
            ``(HTTP status, JSON body)``: a completion, or GLM's error body.
        """
        with self._lock:
            seq = self._seq
            self._seq += 1
        body = {**body, "stream": False}
        error = self._check(body)
        request = RecordedRequest("POST", "/chat/completions", {}, body, dumps(body))
        answer: Answer = error or self._next(request)
        if isinstance(answer, ErrorReply):
            return answer.status, error_body(answer.code, answer.message)
        plan = render(answer, body, seq)
        try:
            return plan.status, json.loads(b"".join(plan.chunks))
        except ValueError:
            return 500, error_body("500", "the scripted reply is not a JSON document")

    def _check(self, body: Any) -> ErrorReply | None:
        if self.validate:
            return check_body(body, self.models)
        return None if isinstance(body, dict) else ErrorReply(400, "1210")

    def _batch(self, request: RecordedRequest) -> Plan:
        """Hand a ``/files`` or ``/batches`` request to the Batch emulation, if installed."""
        try:
            batch = importlib.import_module("langchain_glm.testing._batch")
        except ModuleNotFoundError as exc:
            if exc.name != "langchain_glm.testing._batch":
                raise
            return _error_plan(ErrorReply(404, "1222", f"API does not exist: {request.path}"))
        status, headers, body = batch.handle(request, answer=self.answer, state=self.batch_state)
        return Plan(status, headers, (body,), len(body))

    def _next(self, request: RecordedRequest) -> Answer:
        """The next queued item, else the script, else the default reply (500 if a script fails)."""
        with self._lock:
            item = self._queue.popleft() if self._queue else self._script
        if item is None:
            return default_reply(request)
        if isinstance(item, (Reply, ErrorReply, RawReply)):
            return item
        try:
            answer = item(request)
            if not isinstance(answer, (Reply, ErrorReply, RawReply)):
                raise TypeError(f"script returned {answer!r}, not a Reply or ErrorReply")
        except Exception as exc:
            with self._lock:
                self._script_errors.append(exc)
            return ErrorReply(500, "500", f"script raised {type(exc).__name__}: {exc}")
        return answer
