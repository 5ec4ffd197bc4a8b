r"""The vocabulary every endpoint family shares: what a test scripts, what a carrier sends, auth.

`RecordedRequest` is what arrived; `Reply`, `ErrorReply` and `WireReply` are what a test queues;
a `WireReply` is also what every family's handler returns and the carriers send as it is. Error
bodies and messages as at https://docs.z.ai/api-reference/api-code.
"""

from __future__ import annotations

import base64
import hmac
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.client import responses
from typing import Any, Protocol


@dataclass(frozen=True)
class Reply:
    """One scripted assistant turn, served as JSON or SSE as the request's ``stream`` asks.

    Attributes:
        text: Assistant ``content`` (beside tool calls GLM-4.6 omits it, 4.7/5.x send ``""``).
        reasoning: ``reasoning_content``; dropped when the request or the model does not think.
        tool_calls: ``[{"name", "arguments": dict | str, "id"?}]``; missing ids made as GLM does.
        usage: ``prompt_tokens``, ``completion_tokens``, ``cached_tokens``, ``reasoning_tokens``.
        finish_reason: Sent as is; ``None``: ``"tool_calls"`` with tool calls, else ``"stop"``.
        web_search: Top-level ``web_search`` results (JSON body, first stream frame).
        content_filter: Top-level ``content_filter`` entries (JSON body, first stream frame).
        model: ``model`` echoed back; ``None`` echoes the request's.
        chunk_size: Characters of text, reasoning or ``tool_stream`` arguments per frame.
        include_object: Send ``object`` on GLM-4.6-era models too (4.7/5.x always do).
        delay_before_headers: Fault: seconds before the status line.
        trickle: Fault: seconds between stream frames (the first goes at once).
        cut_after: Fault: drop the connection after this many frames (non-stream: half the body).
        disconnect: Fault: drop the connection without any response.
        stream_error: Fault: a last ``data: {"error": {"code", "message"}}`` frame (or the body).
        stream_error_after: Normal frames before the ``stream_error`` frame.
        malformed_after: Fault: a broken JSON frame after this many (non-stream: truncated JSON).
    """

    text: str = ""
    reasoning: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    usage: dict[str, int] | None = None
    finish_reason: str | None = None
    web_search: list[dict[str, Any]] | None = None
    content_filter: list[dict[str, Any]] | None = None
    model: str | None = None
    chunk_size: int = 8
    include_object: bool = False
    delay_before_headers: float = 0.0
    trickle: float = 0.0
    cut_after: int | None = None
    disconnect: bool = False
    stream_error: dict[str, Any] | None = None
    stream_error_after: int = 0
    malformed_after: int | None = None

    def __post_init__(self) -> None:
        """Reject impossible scripts (`ValueError`) when written, not when served."""
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        counts = (self.cut_after, self.malformed_after, self.stream_error_after)
        if any(n is not None and n < 0 for n in counts):
            raise ValueError("cut_after, malformed_after and stream_error_after must be >= 0")
        for call in self.tool_calls or ():
            if not isinstance(call.get("name"), str) or not call["name"]:
                raise ValueError(f"tool call without a name: {call!r}")


@dataclass(frozen=True)
class ErrorReply:
    """A scripted error: an HTTP status with GLM's ``{"error": {"code", "message"}}`` body.

    Attributes:
        status: HTTP status, e.g. 429.
        code: GLM business code, a string as on the wire, e.g. ``"1302"``.
        message: ``None`` uses the real service's message for well-known codes.
        retry_after: Seconds for a ``Retry-After`` header (whole numbers as integers).
        html: Send a gateway's HTML error page (``text/html``) instead of JSON.
        delay_before_headers: Seconds before the status line.
        headers: Extra response headers, e.g. ``{"retry-after-ms": "250"}``.
    """

    status: int
    code: str
    message: str | None = None
    retry_after: float | None = None
    html: bool = False
    delay_before_headers: float = 0.0
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the service received it.

    Attributes:
        method: HTTP method, upper case.
        path: Path without the query, e.g. ``/api/paas/v4/chat/completions``.
        headers: Headers with lower-case names (the last value wins).
        json: The parsed JSON body, ``None`` when empty or not JSON.
        body: The raw body bytes (multipart uploads arrive as sent).
        connection_id: Number of the TCP connection (equal: keep-alive; 0 in `GLMTransport`).
        query: The query string, without ``?``.
    """

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    body: bytes = b""
    connection_id: int = 0
    query: str = ""

    @classmethod
    def of(
        cls, method: str, target: str, headers: dict[str, str], body: bytes, cid: int = 0
    ) -> RecordedRequest:
        """Record a request (``target``: path and query; ``headers``: lower-case names)."""
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        path, _, query = target.partition("?")
        return cls(method, path, headers, parsed, body, cid, query)


JSON, SSE = "application/json; charset=UTF-8", "text/event-stream;charset=UTF-8"


@dataclass(frozen=True)
class WireReply:
    """The exact response to send for one request; carriers execute it and decide nothing.

    Every family's handler returns one. Queue or script one to send exact bytes, e.g. a capture
    of the real service (`reply_raw`).

    Attributes:
        status: HTTP status.
        headers: Response headers; without ``Content-Length`` the body goes chunked.
        chunks: Body pieces in order (one SSE event each for streams).
        delay: Seconds before the status line.
        gap: Seconds between body pieces (the first goes at once).
        complete: ``False``: drop the connection after the pieces (a cut body).
        disconnect: Drop the connection without any response.
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    chunks: tuple[bytes, ...] = ()
    delay: float = 0.0
    gap: float = 0.0
    complete: bool = True
    disconnect: bool = False

    @classmethod
    def of(cls, status: int, body: Any, ctype: str | None = None, delay: float = 0.0) -> WireReply:
        """A reply sending one fixed-length body (bytes as they are, anything else as JSON).

        ``ctype=None`` is GLM's SSE type for a body starting ``data:``, else JSON.
        """
        data = body if isinstance(body, bytes) else dumps(body)
        ctype = ctype or (SSE if data.lstrip()[:5] == b"data:" else JSON)
        return cls(
            status, {"Content-Type": ctype, "Content-Length": str(len(data))}, (data,), delay
        )

    def paced(self) -> Iterator[tuple[float, bytes]]:
        """Yield ``(seconds to wait first, piece)`` for each body piece."""
        for index, piece in enumerate(self.chunks):
            yield (self.gap if index else 0.0), piece


Script = Callable[[RecordedRequest], "Reply | ErrorReply | WireReply"]
"""A function deciding the reply from the recorded request (a `WireReply` is sent as it is)."""
Answer = Reply | ErrorReply | WireReply


_LIMITS = "please reduce {} or contact customer service to increase limits"
KNOWN_MESSAGES: dict[str, str] = {
    "500": "Internal server error, please try again later.",
    "1001": "Authorization parameter not received in header, unable to authenticate.",
    "1002": "Authorization Token is invalid, please ensure that the Authorization Token is "
    "correctly provided.",
    "1003": "Authorization Token has expired, please regenerate it.",
    "1113": "Insufficient balance or no resource package. Please recharge.",
    "1210": "Invalid API parameter, please check the documentation.",
    "1211": "Model does not exist, please check the model code.",
    "1214": "The messages parameter is illegal. Please check the documentation.",
    "1234": "Network error, please try again later.",
    "1261": "Prompt exceeds max length",
    "1301": "System detected potentially unsafe or sensitive content in input or generation. "
    "Please avoid using prompts that may generate sensitive content.",
    "1302": "High concurrency usage of this API, " + _LIMITS.format("concurrency"),
    "1303": "High frequency usage of this API, " + _LIMITS.format("frequency"),
    "1305": "The service may be temporarily overloaded, please try again later",
}
"""The service's messages for well-known codes (https://docs.z.ai/api-reference/api-code)."""
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_ENCODE_SORTED = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode
_HTML = (
    "<html>\r\n<head><title>{0}</title></head>\r\n<body>\r\n<center><h1>{0}</h1></center>\r\n"
    "{1}<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)  # a gateway's (nginx) error page


def dumps(obj: Any, *, sort_keys: bool = False) -> bytes:
    """Encode JSON as the service does: compact UTF-8, non-ASCII unescaped."""
    return (_ENCODE_SORTED if sort_keys else _ENCODE)(obj).encode()


def tokens(chars: int) -> int:
    """Rough, deterministic token count: four characters a token, at least one."""
    return max(1, math.ceil(chars / 4))


def error_body(code: str, message: str | None) -> dict[str, Any]:
    """GLM's error object, with the real message for well-known codes when none is given."""
    code = str(code)  # an int slipped in by a test still goes out as GLM's string code
    text = message if message is not None else KNOWN_MESSAGES.get(code, f"Error {code}.")
    return {"error": {"code": code, "message": text}}


def render_error(e: ErrorReply) -> WireReply:
    """The `WireReply` of a scripted or found error: GLM's JSON body, or a gateway's HTML page."""
    extra = f"<p>{e.message}</p>\r\n" if e.message else ""
    page = _HTML.format(f"{e.status} {responses.get(e.status, '')}", extra).encode()
    body = page if e.html else error_body(e.code, e.message)
    ctype = "text/html" if e.html else "application/json"
    plan = WireReply.of(e.status, body, ctype, e.delay_before_headers)
    if e.retry_after is not None:
        seconds = float(e.retry_after)
        plan.headers["Retry-After"] = str(int(seconds)) if seconds.is_integer() else repr(seconds)
    plan.headers.update(e.headers or {})
    return plan


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
        mac = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), "sha256").digest()
        good = bool(secret) and hmac.compare_digest(mac, _b64(parts[2]))
        claims = json.loads(_b64(parts[1])) if good and len(parts) == 3 else None
    except (ValueError, IndexError):  # binascii.Error is a ValueError
        claims = None
    if not isinstance(claims, dict) or claims.get("api_key") != key_id:
        return ErrorReply(401, "1002")
    exp = claims.get("exp")
    expired = not isinstance(exp, (int, float)) or exp < time.time() * 1000
    return ErrorReply(401, "1003") if expired else None


class Host(Protocol):
    """What a family's handlers use of the service (`GLMService` is one), so they never import it.

    Attributes:
        models: Model ids accepted (lower case).
        validate: Whether request bodies are validated.
        batch_state: The Batch API store (see `langchain_glm.testing.advance_batches`).
        web_state: The web search / reader / layout script (see `langchain_glm.testing.web_pages`).
    """

    models: frozenset[str]
    validate: bool
    batch_state: dict[str, Any]
    web_state: dict[str, Any]

    def next_answer(
        self, request: RecordedRequest, default: Script, *, use_script: bool = True
    ) -> Answer:
        """The next queued answer, else the script's (if ``use_script``), else the default."""
        ...

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer a non-stream chat body as scripted (one Batch API line)."""
        ...


Handler = Callable[[Host, RecordedRequest, int], WireReply]
"""A family's answer to one routed, authenticated request (``int``: a sequence number for ids)."""
