"""`GLMService`: the GLM behaviour as pure code; `plan(request)` returns what to send.

No I/O here: `GLMServer` (HTTP on loopback) and `GLMTransport` (in-process httpx) only carry
out a `Plan`, so both are scripted the same way. Paths: https://docs.z.ai/api-reference .
Requests are checked as the real service does, authentication first, then the body; the first
failing check decides. Per-model limits come from the capability table `langchain_glm._models`,
which the client's pre-send checks read too. Error bodies are GLM's as captured
(https://docs.z.ai/api-reference/api-code), media ones ours.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections import deque
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from langchain_glm._models import MODELS, ModelSpec, spec_for
from langchain_glm.testing import _batch
from langchain_glm.testing._replies import (
    Answer,
    ErrorReply,
    Plan,
    RawReply,
    RecordedRequest,
    Reply,
    Script,
    Turn,
    default_reply,
    dumps,
    error_body,
    render,
    tokens,
)

DEFAULT_MODELS = tuple(MODELS)
"""Models a service knows unless given ``models=``: all of ``langchain_glm._models.MODELS``."""
BASE_PATHS = ("/api/paas/v4", "/api/coding/paas/v4", "/v1")
"""Base paths served: standard, coding plan, and OpenAI-style."""
_A = TypeVar("_A", Reply, ErrorReply, RawReply)
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_ILLEGAL = "The messages parameter is illegal. Please check the documentation."
_ALWAYS_THINKS = (
    "This model always engages in thinking and cannot be disabled; please use low, high, or max"
)
_MEDIA = {"image_url": "image", "video_url": "video", "file": "file"}
_ANY_MODEL = ModelSpec("", None, None, inputs=None, max_stop=None)
Found = Iterator[tuple[str, str | None]]  # (GLM code, message or None for the known one)


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def check_auth(headers: Mapping[str, str], api_key: str | None) -> ErrorReply | None:
    """401 with 1001 (no token), 1002 (wrong) or 1003 (expired JWT); ``None``: accepted."""
    raw = headers.get("authorization", "").strip()
    scheme, _, rest = raw.partition(" ")
    token = rest.strip() if scheme.lower() == "bearer" else raw
    if not token:
        return ErrorReply(401, "1001")
    if api_key is None or hmac.compare_digest(token.encode(), api_key.encode()):
        return None
    key_id, _, secret = api_key.partition(".")
    parts = token.split(".")
    try:
        signed = f"{parts[0]}.{parts[1]}".encode()
        good = secret and hmac.compare_digest(
            hmac.new(secret.encode(), signed, hashlib.sha256).digest(), _b64(parts[2])
        )
        claims = json.loads(_b64(parts[1])) if good and len(parts) == 3 else None
    except (ValueError, IndexError):  # binascii.Error is a ValueError
        claims = None
    if not isinstance(claims, dict) or claims.get("api_key") != key_id:
        return ErrorReply(401, "1002")
    exp = claims.get("exp")
    expired = not isinstance(exp, (int, float)) or exp < time.time() * 1000
    return ErrorReply(401, "1003") if expired else None


def _messages(body: dict[str, Any], spec: ModelSpec) -> Found:
    for i, message in enumerate(body["messages"]):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            yield "1214", _ILLEGAL
            continue
        if message["role"] == "tool" and not message.get("tool_call_id"):
            yield "1214", f"messages[{i}].tool_call_id: cannot be empty"
        content = message.get("content")
        for j, part in enumerate(content if isinstance(content, list) else []):
            where = f"messages[{i}].content[{j}]"
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                yield "1214", f"{where}: invalid content part"
                continue
            if part["type"] == "text" and not (isinstance(part.get("text"), str) and part["text"]):
                yield "1214", f"{where}.text: cannot be empty"
            kind = _MEDIA.get(part["type"])
            if kind and spec.inputs is not None and kind not in spec.inputs:
                yield "1210", f"{where}: model {spec.name} does not accept {kind} input"


def _tools(body: dict[str, Any], _: ModelSpec) -> Found:
    tools = body.get("tools")
    if tools is not None and (not isinstance(tools, list) or len(tools) > 128):
        yield "1214", "tools: must be a list of at most 128 tools"
        return
    for i, tool in enumerate(tools or []):
        if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
            yield "1214", f"tools[{i}]: invalid tool"
            continue
        function = tool.get("function") if tool["type"] == "function" else {"name": "ok"}
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or not _NAME.match(name):
            yield "1214", f"tools[{i}].function.name: must match ^[a-zA-Z0-9_-]{{1,64}}$"


def _outside(value: Any, low: float, high: float) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return value is not None and not (number and low <= value <= high)


def _limits(body: dict[str, Any], spec: ModelSpec) -> Found:
    stop, thinking, effort = body.get("stop"), body.get("thinking"), body.get("reasoning_effort")
    words = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    if spec.max_stop is not None and len(words) > spec.max_stop:
        plural = "word is" if spec.max_stop == 1 else "words are"
        yield "1210", f"stop: at most {spec.max_stop} stop {plural} supported"
    if body.get("tool_choice") not in (None, "auto"):
        yield "1210", "Tool choice must be auto"
    for name, (low, high) in (("temperature", spec.temperature), ("top_p", spec.top_p)):
        if _outside(body.get(name), low, high):
            yield "1214", f"{name}: must be between {low:g} and {high:g}"
    if _outside(body.get("max_tokens"), 1, limit := spec.max_output or 131072):
        yield "1210", f"max_tokens参数非法：限制数值范围[1,{limit}]"  # noqa: RUF001 - GLM's text
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if thinking is not None and kind not in ("enabled", "disabled"):
        yield "1214", "thinking.type: must be enabled or disabled"
    elif kind == "disabled" and spec.thinking == "always":
        yield "1210", _ALWAYS_THINKS
    if effort is not None and spec.efforts and effort not in spec.efforts:
        yield "1210", _ALWAYS_THINKS
    prompt = tokens(len(json.dumps(body["messages"], ensure_ascii=False)))
    if spec.context_window is not None and prompt > spec.context_window:
        yield "1261", None


_ROLES = frozenset({"system", "user", "assistant", "tool"})
_CHECKS = (_messages, _tools, _limits)  # in the service's order


def check_body(body: Any, models: Collection[str]) -> ErrorReply | None:
    """Check a chat-completions (or tokenizer) request body; ``None`` when acceptable."""
    if not isinstance(body, dict):
        return ErrorReply(400, "1210")
    model = body.get("model")
    if not isinstance(model, str) or model.lower() not in models:
        return ErrorReply(400, "1211")
    if not body.get("messages"):
        return ErrorReply(400, "1214", "messages: input cannot be empty")
    if not isinstance(body["messages"], list):
        return ErrorReply(400, "1214", _ILLEGAL)
    spec = spec_for(model) or _ANY_MODEL
    found = (problem for check in _CHECKS for problem in check(body, spec))
    return next((ErrorReply(400, code, message) for code, message in found), None)


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
        return self._add(
            RawReply(body.encode() if isinstance(body, str) else body, **fields), times
        )

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
        """Answer with ``fn(request)`` while nothing is queued (``None``: off)."""
        self._script = fn

    def reset(self) -> None:
        """Forget queued replies, faults, the script, requests and script errors; restart ids."""
        with self._lock:
            for store in (self._queue, self._faults, self._requests, self._script_errors):
                store.clear()
            self._script, self._seq = None, 0

    def _take_seq(self, request: RecordedRequest | None = None) -> tuple[int, ErrorReply | None]:
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
        """Record one request and decide its whole response: route, auth, validation, reply."""
        seq, fault = self._take_seq(request)
        base = next((b for b in BASE_PATHS if request.path.startswith(b + "/")), "")
        route = request.path[len(base) :] if base else ""
        batch = route.startswith(("/files", "/batches"))
        error = fault or check_auth(request.headers, self._api_key)
        if route not in ("/chat/completions", "/tokenizer") and not batch:
            error = ErrorReply(404, "1222", f"API does not exist: {request.path}")
        elif request.method != "POST" and not batch:
            error = ErrorReply(405, "1222", f"Method {request.method} is not allowed")
        elif error is None and batch:
            return _batch.handle(request, self.answer, self.batch_state)
        if (error := error or self._check(request.json)) is not None:
            return render(error, None, seq)
        if route == "/tokenizer":
            turn, tools = Turn.of(request.json, seq), request.json.get("tools")
            count = tokens(turn.prompt_chars + (len(dumps(tools)) if tools else 0))
            usage = {"prompt_tokens": count, "image_tokens": 0, "video_tokens": 0}
            ids = {"id": turn.response_id, "created": turn.created, "request_id": turn.request_id}
            return Plan.of(200, ids | {"usage": usage | {"total_tokens": count}})
        return render(self._next(request), request.json, seq)

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer a non-stream chat body as scripted (one Batch API line)."""
        (seq, _), body = self._take_seq(), {**body, "stream": False}
        request = RecordedRequest("POST", "/chat/completions", {}, body, dumps(body))
        answer = self._check(body) or self._next(request)
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

    def _next(self, request: RecordedRequest) -> Answer:
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
