"""GLM's Batch API: many chat requests as one job, at half price, results in input order.

GLM runs a JSONL file of up to 50,000 chat requests within 24 h at 50% of the price
(https://docs.bigmodel.cn/cn/guide/tools/batch). `ChatGLM.batch_submit` builds each body on
the `invoke` path and hands them here: `BatchJob.submit` uploads them (`POST {base}/files`,
`purpose=batch`), creates the batches (`POST {base}/batches`) and returns a `BatchJob`;
`BatchJob.wait` polls `GET {base}/batches/{id}`; `BatchJob.results` streams the output and
error files (`GET {base}/files/{id}/content`) line by line and turns every line back into the
`AIMessage` (or typed `GLMError`) that `invoke` would have produced, in input order.

What a paid job keeps: every `custom_id` names the job (a random client token) and the input
position, and the batch's `metadata` records the token and the positions it holds, so results
are matched to inputs from what was submitted, never from a count the server sends. A line
that cannot be matched, or a position answered twice, is refused as a `BatchIntegrityError`.

Layout: the pure part (JSONL lines, splitting, ids, result-line parsing, the polling policy)
is plain functions; each I/O step is a generator that yields `_Http` / `_Sleep` / `_Open` /
`_NextLine` / `_Emit` steps, run by `_drive` (sync) or `_adrive` (async), the only two places
that differ by `await`. This module does not import `chat_models`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import logging
import re
import secrets
import time
import uuid
import warnings
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    CallbackManager,
    CallbackManagerForLLMRun,
)
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.utils.utils import LC_ID_PREFIX

from langchain_glm._decode import chat_reply
from langchain_glm._errors import (
    BatchFailedError,
    BatchIntegrityError,
    BatchItemMissingError,
    BatchTimeoutError,
    GLMAPIError,
    GLMBatchCleanupWarning,
    GLMConnectionError,
    GLMError,
    GLMRateLimitError,
    GLMTimeoutError,
    error_from_payload,
    excerpt,
    for_batch_job,
    malformed,
)

if TYPE_CHECKING:
    from langchain_glm._client import GLMClient

_LOG = logging.getLogger("langchain_glm")
_T = TypeVar("_T")

MAX_REQUESTS_PER_BATCH = 50_000
"""GLM's limit of requests per batch file; more inputs are split over several batches."""
MAX_BYTES_PER_BATCH = 100 * 1024 * 1024
"""GLM's limit of bytes per batch file (100 MB); larger inputs are split."""
MAX_UNMATCHED = 100
"""Result lines of no input kept as errors in `BatchJob.unmatched`; the rest are counted."""
MAX_LINE_BYTES = 16 * 1024 * 1024
"""Longest result line read; a longer one becomes its slot's error (GLM answers are ~1 MB)."""
ENDPOINT = "/v4/chat/completions"
"""The `url` of every line and the `endpoint` of every batch (note `/v4`, not `/v1`)."""
JOB_PREFIX = "glmjob:"
"""Prefix of a job id made of several batches (`glmjob:batch_1@0+50000,batch_2@50000+7`)."""
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
"""Batch statuses after which nothing changes any more."""
STATUSES = frozenset({"validating", "in_progress", "finalizing", "cancelling", *TERMINAL})
"""Every status GLM documents."""
_ACTIVE = ("validating", "in_progress", "finalizing", "cancelling")
_START, _COUNT, _TOKEN = "langchain_glm_start", "langchain_glm_count", "langchain_glm_token"
_MAX_META = (16, 64, 512)  # GLM: at most 16 keys, keys up to 64 and values up to 512 chars
_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")  # GLM ids: `batch_1791490810192076800`, `file_...`
_PART = re.compile(r"([A-Za-z0-9_-]{1,128})(?:@([0-9]{1,9})\+([0-9]{1,9}))?")
_CUSTOM_ID = re.compile(r"lcg-([0-9a-f]{16})-([0-9]{6,9})")
_LEGACY_ID = re.compile(r"req-([0-9]{6,9})")  # jobs submitted by langchain-glm 0.x
_ID_IN_LINE = re.compile(rb'"custom_id"\s*:\s*"([^"\\]{1,80})"')
_CREATE_RESENDS = 2
_LIST_PAGES = 10

Result = AIMessage | GLMError
"""One job result: the message `invoke` would return, or the error it would raise."""
Convert = Callable[[dict[str, Any]], AIMessage]
"""Turns a chat-completion body into the message `invoke` returns (given by `ChatGLM`)."""


# ------------------------------------------------------------------------------ pure part


def dumps(obj: Any) -> bytes:
    """Serialize JSON exactly as `GLMClient` serializes request bodies (compact, UTF-8)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def new_token() -> str:
    """A fresh client token: names one submission in its `custom_id`s and batch metadata."""
    return secrets.token_hex(8)


def custom_id(token: str, index: int) -> str:
    """The `custom_id` of the input at `index` of the job `token` (`lcg-<token>-000042`)."""
    return f"lcg-{token}-{index:06d}"


def position_of(value: object, token: str | None) -> int | None:
    """The input position a `custom_id` of job `token` stands for, or None if not ours.

    A job submitted before ids carried a token (`token` None) used `req-000042`.
    """
    if not isinstance(value, str):
        return None
    if token is None:
        match = _LEGACY_ID.fullmatch(value)
        return int(match[1]) if match else None
    match = _CUSTOM_ID.fullmatch(value)
    return int(match[2]) if match and match[1] == token else None


def shown(value: object) -> str:
    """A server-sent id as it may appear in a message: printable ASCII, short."""
    text = value if isinstance(value, str) else repr(value)
    return text if _ID.fullmatch(text) or _CUSTOM_ID.fullmatch(text) else ascii(text)[:90]


def jsonl_line(line_id: str, payload: Mapping[str, Any]) -> bytes:
    """One input line; `body` comes last, serialized byte for byte like an `invoke` body."""
    line = {"custom_id": line_id, "method": "POST", "url": ENDPOINT, "body": payload}
    return dumps(line) + b"\n"


@dataclass(frozen=True)
class Chunk:
    """The lines of one batch file: inputs `start` to `start + count - 1`, all one model."""

    start: int
    """Position of the first input."""
    count: int
    """Number of inputs."""
    data: bytes
    """The JSONL file."""


def split_lines(
    lines: Sequence[bytes], models: Sequence[str], *, max_requests: int, max_bytes: int
) -> list[Chunk]:
    """Split lines into batch files of at most `max_requests` lines and `max_bytes` bytes.

    A new file also starts where the model changes (GLM allows one model per file).

    Raises:
        ValueError: If a limit is not positive or one line alone exceeds `max_bytes`.
    """
    if not 0 < max_requests <= MAX_REQUESTS_PER_BATCH or max_bytes < 1:
        msg = f"batch limits must be 1..{MAX_REQUESTS_PER_BATCH} requests and positive bytes,"
        raise ValueError(f"{msg} got {max_requests} requests, {max_bytes} bytes")
    chunks: list[Chunk] = []
    start = size = 0
    for i, line in enumerate(lines):
        if len(line) > max_bytes:
            msg = f"input {i} is {len(line)} bytes as a batch line; a file holds {max_bytes}"
            raise ValueError(msg)
        full = i - start >= max_requests or size + len(line) > max_bytes
        if i > start and (full or models[i] != models[start]):
            chunks.append(Chunk(start, i - start, b"".join(lines[start:i])))
            start, size = i, 0
        size += len(line)
    chunks.append(Chunk(start, len(lines) - start, b"".join(lines[start:])))
    return chunks


def multipart(filename: str, data: bytes, boundary: str) -> tuple[str, bytes]:
    """The `multipart/form-data` upload of a batch file: (content type, body)."""
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/jsonl\r\n\r\n"
    )
    tail = f"\r\n--{boundary}--\r\n"
    return f"multipart/form-data; boundary={boundary}", head.encode() + data + tail.encode()


def batch_metadata(user: Mapping[str, str] | None, token: str, chunk: Chunk) -> dict[str, str]:
    """The `metadata` of a batch: the user's, plus the token and the positions it holds.

    Raises:
        ValueError: If the user's metadata breaks GLM's limits (16 keys, 64-character keys,
            512-character string values) or uses our `langchain_glm_` keys.
    """
    given = dict(user or {})
    keys, key_len, value_len = _MAX_META
    bad = [k for k, v in given.items() if not isinstance(k, str) or not isinstance(v, str)]
    bad += [k for k, v in given.items() if len(str(k)) > key_len or len(str(v)) > value_len]
    bad += [k for k in given if str(k).startswith("langchain_glm_")]
    if bad or len(given) > keys - 3:
        msg = f"batch metadata takes up to {keys - 3} string keys (<= {key_len} characters,"
        msg += f" not starting with langchain_glm_) with string values (<= {value_len})"
        raise ValueError(f"{msg}; refused: {sorted(map(str, bad)) or len(given)}")
    return {**given, _TOKEN: token, _START: str(chunk.start), _COUNT: str(chunk.count)}


@dataclass(frozen=True)
class Span:
    """The inputs one batch holds, as recorded in its metadata at create."""

    batch_id: str
    """GLM's batch id."""
    start: int
    """Position of its first input in the job."""
    count: int
    """Number of its inputs."""


def job_id_of(spans: Sequence[Span]) -> str:
    """A job's id: its batch id, or `glmjob:` and each `batch_id@start+count` when split."""
    if len(spans) == 1:
        return spans[0].batch_id
    return JOB_PREFIX + ",".join(f"{s.batch_id}@{s.start}+{s.count}" for s in spans)


def parse_job_id(job_id: object) -> list[tuple[str, Span | None]]:
    """The batch ids inside a job id, each with the span the id claims (None: legacy id).

    Raises:
        ValueError: If the id is malformed, names a batch twice, or its spans do not follow
            each other from 0 (a forged id, or two jobs' ids joined); checked before sending.
    """
    text = job_id if isinstance(job_id, str) else ""
    composite = text.startswith(JOB_PREFIX)
    parts = [_PART.fullmatch(p) for p in text.removeprefix(JOB_PREFIX).split(",")]
    if not text or not all(parts) or (not composite and parts[0] and parts[0][2]):
        raise ValueError(f"not a GLM batch job id: {shown(job_id)}")
    out = [(m[1], Span(m[1], int(m[2]), int(m[3])) if m[2] else None) for m in parts if m]
    claimed = [s for _, s in out if s]
    if claimed and len(claimed) != len(out):
        raise ValueError(f"a job id gives every batch's span or none: {shown(job_id)}")
    check_spans(claimed, shown(job_id))
    if len({b for b, _ in out}) != len(out):
        raise ValueError(f"a job id names each batch once: {shown(job_id)}")
    return out


def check_spans(spans: Sequence[Span], where: str) -> None:
    """Check that spans follow each other from position 0, each of 1 to 50,000 inputs.

    Raises:
        ValueError: Otherwise (a forged id, or batches of different jobs joined).
    """
    start = 0
    for span in spans:
        if span.start != start or not 0 < span.count <= MAX_REQUESTS_PER_BATCH:
            msg = f"{where}: batch {span.batch_id} holds inputs {span.start}+{span.count}, "
            raise ValueError(msg + f"not {start} onwards: not one job (forged or joined ids?)")
        start += span.count


def span_of(batch: Mapping[str, Any]) -> tuple[Span | None, str | None]:
    """(span, client token) recorded in a batch's metadata; (None, None) if not ours."""
    meta = batch.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    start, count, token = meta.get(_START), meta.get(_COUNT), meta.get(_TOKEN)
    if not all(isinstance(v, str) and v.isascii() and v.isdigit() for v in (start, count)):
        return None, None
    if len(str(start)) > 9 or len(str(count)) > 9:
        return None, None
    ok = isinstance(token, str) and re.fullmatch(r"[0-9a-f]{16}", token)
    span = Span(str(batch.get("id")), int(str(start)), int(str(count)))
    return span, str(token) if ok else None


def checked_batch(data: object, batch_id: str | None = None) -> dict[str, Any]:
    """A batch object from GLM, checked field by field (typed error, never `KeyError`).

    Raises:
        GLMAPIError: A malformed response: not an object, an id that is not GLM's (or not
            `batch_id`), an unknown status, wrong-typed counts, metadata or file ids.
    """
    if not isinstance(data, dict):
        raise malformed(f"a batch is not a JSON object: {excerpt(dumps(data))}")
    problem = _batch_problem(data, batch_id)
    if problem:
        raise malformed(f"batch {shown(data.get('id'))}: {problem}")
    return data


def _batch_problem(data: Mapping[str, Any], batch_id: str | None) -> str | None:
    """What is wrong with a batch object, or None."""
    bid, counts, meta = data.get("id"), data.get("request_counts"), data.get("metadata")
    if not isinstance(bid, str) or not _ID.fullmatch(bid) or batch_id not in (None, bid):
        return f"id is not {batch_id or 'a GLM id'}"
    if data.get("status") not in STATUSES:
        return f"unknown status {excerpt(dumps(data.get('status')), 40)}"
    if counts is not None and not (
        isinstance(counts, dict) and all(type(v) is int and v >= 0 for v in counts.values())
    ):
        return "request_counts is not an object of counts"
    if meta is not None and not isinstance(meta, dict):
        return "metadata is not an object"
    for key in ("output_file_id", "error_file_id"):
        value = data.get(key)
        if value not in (None, "") and not (isinstance(value, str) and _ID.fullmatch(value)):
            return f"{key} is not a GLM file id"
    return None


def aggregate_status(statuses: Iterable[str]) -> str:
    """One status for a job: the least advanced active status, else the worst ending."""
    seen = set(statuses)
    for status in (*_ACTIVE, "failed", "expired", "cancelled"):
        if status in seen:
            return status
    return "completed"


class LineReader:
    """Split a byte stream into lines of at most `cap` bytes, holding at most one line.

    A longer line is not kept: it comes out as `Overlong` with its last bytes (where GLM
    writes the `custom_id`), so its slot can get an error.
    """

    def __init__(self, cap: int = MAX_LINE_BYTES) -> None:
        self._cap = cap
        self._buffer = bytearray()
        self._dropped = 0

    def feed(self, piece: bytes) -> list[bytes | Overlong]:
        """Add bytes; return the lines they complete (without the newline)."""
        out: list[bytes | Overlong] = []
        start = 0
        while (end := piece.find(b"\n", start)) >= 0:
            self._add(piece[start:end])
            out.append(self._take())
            start = end + 1
        self._add(piece[start:])
        return out

    def finish(self) -> list[bytes | Overlong]:
        """The last line, if the stream did not end with a newline."""
        return [self._take()] if self._buffer or self._dropped else []

    def _add(self, part: bytes) -> None:
        self._buffer += part
        if len(self._buffer) > self._cap:
            self._dropped += len(self._buffer) - 512
            del self._buffer[:-512]

    def _take(self) -> bytes | Overlong:
        line: bytes | Overlong = bytes(self._buffer)
        if self._dropped:
            line = Overlong(self._dropped + len(self._buffer), bytes(self._buffer))
        self._buffer.clear()
        self._dropped = 0
        return line


@dataclass(frozen=True)
class Overlong:
    """A result line longer than the cap: its size, and its last bytes."""

    size: int
    """Bytes in the line."""
    tail: bytes
    """Its last bytes (at most 512)."""


def parse_result_line(raw: bytes | Overlong, convert: Convert) -> tuple[str | None, Result]:
    """Turn one output- or error-file line into (its `custom_id` or None, message or error).

    Lines look like `{"response": {"status_code": 200, "body": {...}}, "custom_id": ..,
    "id": ..}`; a failed request carries GLM's error body (or a top-level `error`) and
    becomes the same `GLMError` subclass an HTTP failure with that status and code would.
    A line that is not JSON, too long, or whose body is no readable answer (including
    `finish_reason: "network_error"`) becomes a typed `GLMAPIError`. Never raises.
    """
    line: Any = None
    if isinstance(raw, bytes):
        try:
            line = json.loads(raw)
        except ValueError:
            line = None
    if not isinstance(line, dict):
        found = _ID_IN_LINE.search(raw.tail if isinstance(raw, Overlong) else raw[-4096:])
        line_id = found[1].decode("ascii", "replace") if found else None
        what = f"{raw.size} bytes, over {MAX_LINE_BYTES}" if isinstance(raw, Overlong) else ""
        shown_raw = what or excerpt(raw if isinstance(raw, bytes) else raw.tail)
        error = malformed(f"unreadable batch result line {shown_raw}")
        return line_id, error
    line_id = line.get("custom_id") if isinstance(line.get("custom_id"), str) else None
    return line_id, _item(line, convert)


def _item(line: Mapping[str, Any], convert: Convert) -> Result:
    """The message or error of one decoded result line."""
    response = line.get("response")
    response = response if isinstance(response, dict) else {}
    status, body = response.get("status_code"), response.get("body")
    status = status if type(status) is int and 100 <= status < 600 else None
    if status is not None and status < 300 and isinstance(body, dict) and not body.get("error"):
        try:
            return convert(chat_reply(body))
        except GLMError as exc:
            return exc
    if isinstance(body, dict):
        detail: Mapping[str, Any] = body
    elif line.get("error"):
        detail = {"error": line["error"]}
    else:
        detail = {"message": f"no answer in the result line: {excerpt(dumps(dict(line)))}"}
    return error_from_payload(detail, status)


class Collector:
    """The results of one job, slot by slot, as result lines come in.

    Each slot is set by exactly one line of its own batch, or refused: a second line for it
    (`BatchIntegrityError`), a line of another job or out of its batch's positions (kept
    in `unmatched`), none at all (`BatchItemMissingError`). With `keep=False` (streaming),
    only one byte per slot is held.
    """

    def __init__(self, spans: Sequence[Span], token: str | None, *, keep: bool = True) -> None:
        total = sum(s.count for s in spans)
        self.token = token
        self.seen = bytearray(total)  # 0 none, 1 answer, 2 error, 3 refused
        self.slots: list[Result | None] | None = [None] * total if keep else None
        self.unmatched: list[BatchIntegrityError] = []
        """Errors for the first `MAX_UNMATCHED` lines that belong to no input of this job."""
        self.refused = 0
        """How many lines belonged to no input (a server cannot grow `unmatched` unbounded)."""

    def add(self, raw: bytes | Overlong, span: Span, convert: Convert) -> tuple[int, Result]:
        """Place one line; returns (position, what the slot now holds), or (-1, error)."""
        line_id, item = parse_result_line(raw, convert)
        index = position_of(line_id, self.token)
        if index is None or not span.start <= index < span.start + span.count:
            why = "no custom_id" if line_id is None else f"custom_id {shown(line_id)}"
            error = BatchIntegrityError(
                f"result line with {why} is not an input of batch {span.batch_id}: {item}"
            )
            error.custom_id = line_id
            self.refused += 1
            if len(self.unmatched) < MAX_UNMATCHED:
                self.unmatched.append(error)
            return -1, error
        kind = 2 if isinstance(item, GLMError) else 1
        if self.seen[index]:
            again = "twice" if self.seen[index] == kind else "with both an answer and an error"
            item = BatchIntegrityError(f"result line {line_id} came {again}; refused both")
            kind = 3
        if isinstance(item, GLMError):
            _name_line(item, str(line_id))
        if self.seen[index] != 3:
            self.seen[index] = kind
            if self.slots is not None:
                self.slots[index] = item
        return index, item

    def missing(self, span: Span, batch: Mapping[str, Any]) -> Iterator[tuple[int, Result]]:
        """Give each slot of `span` without a line a `BatchItemMissingError`."""
        for index in range(span.start, span.start + span.count):
            if not self.seen[index]:
                line_id = custom_id(self.token, index) if self.token else f"req-{index:06d}"
                error = BatchItemMissingError(_missing(batch, index, line_id, self.refused))
                error.custom_id = line_id
                self.seen[index] = 2
                if self.slots is not None:
                    self.slots[index] = error
                yield index, error

    def fail(
        self, span: Span, batch: Mapping[str, Any], reason: str
    ) -> Iterator[tuple[int, Result]]:
        """Give every slot of a batch that failed validation its own `BatchFailedError`."""
        for index in range(span.start, span.start + span.count):
            error = BatchFailedError(
                f"batch {span.batch_id} failed validation: {reason}", batch_id=span.batch_id
            )
            error.custom_id = custom_id(self.token, index) if self.token else None
            self.seen[index] = 2
            if self.slots is not None:
                self.slots[index] = error
            yield index, error


def _name_line(error: GLMError, line_id: str) -> None:
    """Set an error's `custom_id` and put it at the start of its message."""
    error.custom_id = line_id
    if not error.message.startswith(line_id):
        error.message = f"{line_id}: {error.message}"
        error.args = (error.message,)


def _missing(batch: Mapping[str, Any], index: int, line_id: str, refused: int) -> str:
    """The message for an input without a result line."""
    counts = batch.get("request_counts") or {}
    strays = f"; {refused} result lines matched no input" if refused else ""
    return (
        f"{line_id}: no result for input {index}: batch {batch['id']} ended "
        f"{batch.get('status')} with {counts.get('completed', 0)} completed and "
        f"{counts.get('failed', 0)} failed of {counts.get('total', 0)} requests{strays}"
    )


def failure_reason(batch: Mapping[str, Any]) -> str:
    """GLM's reason for a failed validation, from the batch's `errors` field."""
    errors = batch.get("errors")
    data = errors.get("data") if isinstance(errors, dict) else None
    items = data if isinstance(data, list) else []
    reasons = [excerpt(str(e.get("message") or e)) for e in items[:20] if isinstance(e, dict)]
    return "; ".join(reasons) or "GLM gave no reason in the batch's errors"


@dataclass(frozen=True)
class PollPolicy:
    """How `BatchJob.wait` spaces its status polls: soon at first, then backing off.

    Attributes:
        first: Seconds before the first poll (a short batch must not wait long).
        factor: Each later delay is the previous one times this.
        cap: Longest delay between polls, in seconds.
    """

    first: float = 0.5
    factor: float = 1.5
    cap: float = 60.0

    def delays(self) -> Iterator[float]:
        """Yield the delay before each poll, forever."""
        delay = self.first
        while True:
            yield delay
            delay = min(delay * self.factor, self.cap)


def poll_delays(poll_interval: float | None, policy: PollPolicy | None = None) -> Iterator[float]:
    """Delays before each poll: every `poll_interval` seconds, or the backoff of `policy`.

    Raises:
        ValueError: If `poll_interval` is not positive.
    """
    if poll_interval is None:
        return (policy or PollPolicy()).delays()
    if not poll_interval > 0:
        msg = f"poll_interval must be positive, got {poll_interval!r}"
        raise ValueError(msg)
    return itertools.repeat(poll_interval)


def transient(error: GLMError) -> bool:
    """Whether a failed status poll (a GET, safe to repeat) is worth polling on after."""
    if isinstance(error, GLMRateLimitError | GLMTimeoutError | GLMConnectionError):
        return True
    status = error.status_code
    return isinstance(error, GLMAPIError) and not (status is not None and 400 <= status < 500)


# --------------------------------------------------------------------------- I/O steps


@dataclass(frozen=True)
class _Http:
    """One request to `{base_url}/{path}`; the runner sends back the response body."""

    method: str
    path: str
    body: bytes | None = None
    content_type: str = "application/json"
    timeout: float | None = None
    """Per-request timeout in seconds instead of the client's (None: the client's)."""
    retries: int | None = None
    """The client's own retries instead of its setting (None: its setting)."""


@dataclass(frozen=True)
class _Sleep:
    """Wait before the next step."""

    seconds: float


@dataclass(frozen=True)
class _Open:
    """Start streaming a file's lines (`GET {base}/files/{id}/content`)."""

    path: str


@dataclass(frozen=True)
class _NextLine:
    """The next line of the open file; the runner sends None at its end."""


@dataclass(frozen=True)
class _Emit:
    """Hand one value to the caller of a streaming run."""

    value: Any


_Step = _Http | _Sleep | _Open | _NextLine | _Emit
_Flow = Generator[_Step, Any, _T]


def _boxed(flow: _Flow[_T], box: list[_T]) -> _Flow[None]:
    """Run `flow`, keeping its return value in `box` (async generators cannot return one)."""
    box.append((yield from flow))


def _lines(pieces: Iterator[bytes]) -> Generator[bytes | Overlong]:
    """The capped lines of a downloaded file."""
    reader = LineReader()
    for piece in pieces:
        yield from reader.feed(piece)
    yield from reader.finish()


async def _alines(pieces: AsyncIterator[bytes]) -> AsyncGenerator[bytes | Overlong]:
    """Async twin of `_lines`."""
    reader = LineReader()
    async for piece in pieces:
        for line in reader.feed(piece):
            yield line
    for line in reader.finish():
        yield line


def _client_for(client: GLMClient, step: _Http) -> GLMClient:
    """The client with the step's per-request timeout and retries, if any."""
    if step.timeout is None and step.retries is None:
        return client
    if step.timeout is None:
        return client.with_options(max_retries=step.retries)
    return client.with_options(timeout=step.timeout, max_retries=step.retries)


_Thrown = (Exception, KeyboardInterrupt, asyncio.CancelledError)
"""What a failed step throws back into its flow (not `GeneratorExit`: that only closes)."""


def _drive(client: GLMClient, flow: _Flow[None]) -> Iterator[Any]:
    """Run a flow with blocking I/O, yielding what it emits; a failure goes back in.

    A download is closed as soon as the flow opens another, ends or fails.
    """
    reply: Any = None
    error: BaseException | None = None
    lines: Generator[bytes | Overlong] | None = None
    try:
        while True:
            try:
                step = flow.send(reply) if error is None else flow.throw(error)
            except StopIteration:
                return
            reply, error = None, None
            try:
                if isinstance(step, _Emit):
                    yield step.value
                elif isinstance(step, _Sleep):
                    time.sleep(step.seconds)
                elif isinstance(step, _Open):
                    if lines is not None:
                        lines.close()
                    lines = _lines(client.download(step.path))
                elif isinstance(step, _NextLine):
                    reply = next(lines, None) if lines is not None else None
                else:
                    reply = _client_for(client, step).request(
                        step.method, step.path, content=step.body,
                        content_type=step.content_type, check=dict,
                    )  # fmt: skip
            except _Thrown as exc:
                error = exc
    finally:
        if lines is not None:
            lines.close()
        flow.close()


async def _adrive(client: GLMClient, flow: _Flow[None]) -> AsyncIterator[Any]:
    """Async twin of `_drive`."""
    reply: Any = None
    error: BaseException | None = None
    lines: AsyncGenerator[bytes | Overlong] | None = None
    try:
        while True:
            try:
                step = flow.send(reply) if error is None else flow.throw(error)
            except StopIteration:
                return
            reply, error = None, None
            try:
                if isinstance(step, _Emit):
                    yield step.value
                elif isinstance(step, _Sleep):
                    await asyncio.sleep(step.seconds)
                elif isinstance(step, _Open):
                    if lines is not None:
                        await lines.aclose()
                    lines = _alines(client.adownload(step.path))
                elif isinstance(step, _NextLine):
                    reply = await anext(lines, None) if lines is not None else None
                else:
                    reply = await _client_for(client, step).arequest(
                        step.method, step.path, content=step.body,
                        content_type=step.content_type, check=dict,
                    )  # fmt: skip
            except _Thrown as exc:
                error = exc
    finally:
        if lines is not None:
            await lines.aclose()
        flow.close()


def _run(client: GLMClient, flow: _Flow[_T]) -> _T:
    """Run a flow that emits nothing; return its value."""
    box: list[_T] = []
    for _ in _drive(client, _boxed(flow, box)):
        pass
    return box[0]


async def _arun(client: GLMClient, flow: _Flow[_T]) -> _T:
    """Async twin of `_run`."""
    box: list[_T] = []
    async for _ in _adrive(client, _boxed(flow, box)):
        pass
    return box[0]


def _json_step(step: _Http) -> _Flow[dict[str, Any]]:
    """Send one request; the JSON object that comes back.

    The client decodes and checks it, capped like every reply: a non-object or a GLM error
    object raises its typed error.
    """
    data = yield step
    if not isinstance(data, dict):  # pragma: no cover - the client's check guarantees it
        raise malformed(f"{step.method} {step.path}: not a JSON object")
    return data


def _delete_files(file_ids: Iterable[str]) -> _Flow[None]:
    """DELETE files; a failure is a `GLMBatchCleanupWarning`, never an error."""
    for file_id in file_ids:
        try:
            yield from _json_step(_Http("DELETE", f"files/{file_id}"))
        except GLMError as exc:
            message = f"could not delete GLM file {file_id} (delete it later): {exc}"
            warnings.warn(message, GLMBatchCleanupWarning, stacklevel=2)


@dataclass(frozen=True)
class BatchRequests:
    """What `ChatGLM` hands a submission: bodies built by `invoke`'s code path."""

    client: GLMClient
    """The client the job's requests go through."""
    payloads: Sequence[Mapping[str, Any]]
    """One chat-completion body per input, in input order (empty to resume a job)."""
    convert: Convert
    """Turns a result body into the message `invoke` returns."""
    request_timeout: float | None = None
    """The client's per-request timeout in seconds (None: none); polls cut it further."""


@dataclass
class _Submission:
    """One submission: its batch files, its client token, and what the job needs later."""

    requests: BatchRequests
    chunks: list[Chunk]
    metadata: Mapping[str, str] | None
    token: str = field(default_factory=new_token)

    def flow(self) -> _Flow[BatchJob]:
        """Upload each file and create its batch; the job holds every batch created."""
        batches: list[dict[str, Any]] = []
        try:
            for n, chunk in enumerate(self.chunks):
                file_id = yield from self._upload(n, chunk)
                batches.append((yield from self._create(file_id, chunk)))
        except GLMError as exc:
            if batches:
                job = job_id_of([s for s, _ in map(span_of, batches) if s])
                raise for_batch_job(exc, job) from exc.__cause__
            raise
        return BatchJob(self.requests, batches)

    def _upload(self, n: int, chunk: Chunk) -> _Flow[str]:
        """Upload one batch file exactly once; its id.

        The file is named after this submission's token and the file's number, and
        `POST /files` is sent without the client's own retries: after a failure whose
        outcome is unknown, `GET /files?purpose=batch` is searched for that name (and size)
        before the file is sent again, so a file stored before a 502 is used, not orphaned.
        """
        name = f"langchain-glm-{self.token}-{n:03d}.jsonl"
        ctype, body = multipart(name, chunk.data, uuid.uuid4().hex)

        def ours(file: Mapping[str, Any]) -> bool:
            size = file.get("bytes")
            return file.get("filename") == name and size in (None, len(chunk.data))

        def lookup(cause: GLMError) -> _Flow[dict[str, Any] | None]:
            where = f"uploading {name} failed ({cause}) and could not be checked; it may exist"
            return _find("files?purpose=batch&limit=100", ours, where)

        file = yield from _once(_Http("POST", "files", body, ctype, retries=0), lookup, _nothing)
        file_id = file.get("id")
        if not isinstance(file_id, str) or not _ID.fullmatch(file_id):
            raise malformed(f"an uploaded file without a GLM id: {excerpt(dumps(file))}")
        return file_id

    def _create(self, file_id: str, chunk: Chunk) -> _Flow[dict[str, Any]]:
        """Create one batch exactly once: an unknown outcome is looked up before re-sending.

        `POST /batches` is sent without the client's own retries; after a failure whose
        outcome is unknown (5xx, timeout, dropped connection, garbage) the batch list is
        searched for this submission's token and position before it is sent again. A batch
        that was surely not created has its input file deleted.
        """
        meta = batch_metadata(self.metadata, self.token, chunk)
        request: dict[str, Any] = {"input_file_id": file_id, "endpoint": ENDPOINT}
        request.update(auto_delete_input_file=True, metadata=meta)

        def ours(batch: Mapping[str, Any]) -> bool:
            span, token = span_of(batch)
            return token == self.token and span is not None and span.start == chunk.start

        def lookup(cause: GLMError) -> _Flow[dict[str, Any] | None]:
            note = f"batch creation failed ({cause}) and could not be checked; it may exist:"
            return _find(
                "batches?limit=100", ours, f"{note} token {self.token}, file {file_id} kept"
            )

        step = _Http("POST", "batches", dumps(request), retries=0)
        return checked_batch((yield from _once(step, lookup, lambda: _delete_files([file_id]))))


def _once(
    step: _Http,
    lookup: Callable[[GLMError], _Flow[dict[str, Any] | None]],
    give_up: Callable[[], _Flow[None]],
) -> _Flow[dict[str, Any]]:
    """Send a request that must take effect once (an upload, a create); its reply.

    A failure whose outcome is unknown (5xx, timeout, dropped connection, garbage) is first
    looked up (`lookup` finds what it made, or None); only what surely did not take effect
    is sent again, at most `_CREATE_RESENDS` times. Before the last failure is raised,
    `give_up` cleans up.
    """
    for attempt in itertools.count():
        try:
            return (yield from _json_step(step))
        except GLMError as exc:
            refused = exc.status_code is not None and 400 <= exc.status_code < 500
            found = None if refused else (yield from lookup(exc))
            if found is not None:
                return found
            if attempt >= _CREATE_RESENDS or (refused and not exc.is_retryable):
                yield from give_up()
                raise
            yield _Sleep(exc.retry_after or 0.5 * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _find(
    path: str, match: Callable[[Mapping[str, Any]], bool], where: str
) -> _Flow[dict[str, Any] | None]:
    """The first object of a GLM list (`GET path`, paged by `after`) that `match`es, or None.

    Reads at most `_LIST_PAGES` pages of 100 (GLM keeps 1,000 files per account). The
    cursor is the page's `last_id`, else its last object's id. A failed look-up is raised
    with the note `where` (the outcome stays unknown).
    """
    after: str | None = None
    try:
        for _ in range(_LIST_PAGES):
            page = yield from _json_step(_Http("GET", path + (f"&after={after}" if after else "")))
            listed = page.get("data")
            objects = [i for i in listed if isinstance(i, dict)] if isinstance(listed, list) else []
            for item in objects:
                if match(item):
                    return item
            after = page.get("last_id") or (objects[-1].get("id") if objects else None)
            if page.get("has_more") is not True or not isinstance(after, str):
                return None
            if not _ID.fullmatch(after):
                return None
    except GLMError as exc:
        exc.add_note(where)
        raise
    return None


def _nothing() -> _Flow[None]:
    """No clean-up to do."""
    yield from ()


def submission(
    requests: BatchRequests,
    *,
    max_requests_per_batch: int = MAX_REQUESTS_PER_BATCH,
    max_bytes_per_batch: int = MAX_BYTES_PER_BATCH,
    metadata: Mapping[str, str] | None = None,
) -> _Submission:
    """Plan a submission: JSONL lines split into batch files (checked before sending).

    Raises:
        ValueError: For no inputs, bad limits, a line too large, or bad metadata.
    """
    if not requests.payloads:
        raise ValueError("a batch job needs at least one input")
    token = new_token()
    lines = [jsonl_line(custom_id(token, i), p) for i, p in enumerate(requests.payloads)]
    models = [str(p.get("model")) for p in requests.payloads]
    chunks = split_lines(
        lines, models, max_requests=max_requests_per_batch, max_bytes=max_bytes_per_batch
    )
    for chunk in chunks:
        batch_metadata(metadata, token, chunk)
    return _Submission(requests, chunks, metadata, token)


class _Progress:
    """Progress of `BatchJob.wait`: a tqdm bar when asked for, else INFO log lines."""

    def __init__(self, job: BatchJob, bar: bool) -> None:
        self._last: tuple[str, int] | None = None
        self._bar: Any = None
        if bar:
            try:
                from tqdm.auto import tqdm  # type: ignore[import-untyped,unused-ignore]
            except ImportError as exc:
                msg = "progress=True needs tqdm: pip install 'langchain-glm[progress]'"
                raise ImportError(msg) from exc
            self._bar = tqdm(total=job.request_counts["total"], desc=job.id[:40], unit="req")

    def update(self, job: BatchJob) -> None:
        """Show the job's status and how many requests are done."""
        counts = job.request_counts
        done = counts["completed"] + counts["failed"]
        if self._bar is not None:
            self._bar.total, self._bar.n = counts["total"], done
            self._bar.set_postfix_str(job.status)
        elif (job.status, done) != self._last:
            _LOG.info(
                "GLM batch job %s: %s, %d of %d done (%d failed)",
                job.id, job.status, done, counts["total"], counts["failed"],
            )  # fmt: skip
        self._last = (job.status, done)

    def close(self) -> None:
        """Close the bar, if any."""
        if self._bar is not None:
            self._bar.close()


class BatchJob:
    """A Batch API job: one or more GLM batches holding a list of chat requests.

    Made by `ChatGLM.batch_submit` (or `batch_retrieve`, to resume by `id` in another
    process). Every method has an async twin: `arefresh`, `await_completion`, `aresults`,
    `aiter_results`, `acancel`, `adelete_files`. Every error a method raises carries the
    job's id in `job_id` and in its message.

    Example:
        ```python
        from langchain_glm import ChatGLM

        llm = ChatGLM(model="glm-4.6")
        job = llm.batch_submit(["Name a colour.", "Name a fruit."], max_tokens=50)
        print(job.id, job.status, job.request_counts)
        for message in job.wait(timeout=24 * 3600).results():
            print(message.content)
        ```

    Args:
        requests: The client, result converter and timeout `ChatGLM` hands over (its
            `payloads` are not needed once the batches exist).
        batches: GLM's batch objects, in input order.
        claimed: The spans a job id claims for its batches (checked against their metadata).
    """

    def __init__(
        self,
        requests: BatchRequests,
        batches: Sequence[Mapping[str, Any]],
        *,
        claimed: Sequence[Span | None] = (),
    ) -> None:
        self.batches: list[dict[str, Any]] = [dict(b) for b in batches]
        """GLM's batch objects as last fetched, in input order."""
        self.unmatched: list[BatchIntegrityError] = []
        """Result lines that belonged to no input of this job (the first `MAX_UNMATCHED`;
        set by reading results)."""
        self._requests = BatchRequests(
            requests.client, (), requests.convert, requests.request_timeout
        )
        self._claimed = list(claimed)
        self._results: list[Result] | None = None
        self._deleted = False

    def __repr__(self) -> str:
        return f"BatchJob(id={self.id!r}, status={self.status!r}, {self.request_counts})"

    @property
    def id(self) -> str:
        """Stable job id for `ChatGLM.batch_retrieve` (composite when split over batches)."""
        spans = [span_of(b)[0] for b in self.batches]
        if all(spans) or len(self.batches) == 1:
            pairs = zip(spans, self.batches, strict=True)
            return job_id_of([s or Span(str(b["id"]), 0, 0) for s, b in pairs])
        return JOB_PREFIX + ",".join(str(b["id"]) for b in self.batches)

    @property
    def status(self) -> str:
        """GLM's status for one batch; for several, the least advanced one or the worst end."""
        return aggregate_status(str(batch.get("status")) for batch in self.batches)

    @property
    def done(self) -> bool:
        """Whether every batch has ended (completed, failed, expired or cancelled)."""
        return all(batch.get("status") in TERMINAL for batch in self.batches)

    @property
    def request_counts(self) -> dict[str, int]:
        """`{"total", "completed", "failed"}` summed over the job's batches."""
        totals = {"total": 0, "completed": 0, "failed": 0}
        for batch in self.batches:
            counts = batch.get("request_counts") or {}
            span = span_of(batch)[0]
            totals["total"] += span.count if span else int(counts.get("total") or 0)
            totals["completed"] += int(counts.get("completed") or 0)
            totals["failed"] += int(counts.get("failed") or 0)
        return totals

    # ---------------------------------------------------------------- creating and resuming

    @classmethod
    def submit(cls, requests: BatchRequests, **options: Any) -> BatchJob:
        """Upload the requests and create the batches; see `ChatGLM.batch_submit`."""
        plan = submission(requests, **options)
        return _run(requests.client, plan.flow())

    @classmethod
    async def asubmit(cls, requests: BatchRequests, **options: Any) -> BatchJob:
        """Async twin of `submit`."""
        plan = submission(requests, **options)
        return await _arun(requests.client, plan.flow())

    @classmethod
    def retrieve(cls, requests: BatchRequests, job_id: str) -> BatchJob:
        """Fetch a job by id; see `ChatGLM.batch_retrieve`."""
        job = cls._empty(requests, job_id)
        return _run(requests.client, job._tagged(job._retrieve_flow()))

    @classmethod
    async def aretrieve(cls, requests: BatchRequests, job_id: str) -> BatchJob:
        """Async twin of `retrieve`."""
        job = cls._empty(requests, job_id)
        return await _arun(requests.client, job._tagged(job._retrieve_flow()))

    @classmethod
    def _empty(cls, requests: BatchRequests, job_id: str) -> BatchJob:
        """A job that knows only its batch ids (checked before anything is sent)."""
        parts = parse_job_id(job_id)
        batches = [{"id": batch_id} for batch_id, _ in parts]
        return cls(requests, batches, claimed=[claim for _, claim in parts])

    # ---------------------------------------------------------------------------- polling

    def refresh(self) -> BatchJob:
        """Fetch the status of every unfinished batch; returns the job."""
        return self._sync(self._refresh_flow())

    async def arefresh(self) -> BatchJob:
        """Async twin of `refresh`."""
        return await self._async(self._refresh_flow())

    def wait(
        self,
        poll_interval: float | None = None,
        timeout: float | None = None,
        *,
        progress: bool = False,
    ) -> BatchJob:
        """Poll until every batch has ended; returns the job. Blocks until then.

        Polls first after 0.5 s, then backs off by 1.5x to one poll a minute
        (`PollPolicy`). A failed poll (timeout, reset, 5xx, rate limit, garbage) is
        logged and polling goes on until `timeout`, which is kept to within one poll
        interval: each poll's own request timeout is cut to the time left.

        Args:
            poll_interval: Poll every this many seconds instead of backing off.
            timeout: Give up after this many seconds (None: wait as long as GLM takes).
            progress: Draw a tqdm progress bar (needs the `progress` extra); else progress
                goes to INFO log lines on the `langchain_glm` logger.

        Raises:
            BatchTimeoutError: After `timeout`; the job keeps running (resume by `id`).
            ImportError: With `progress=True` when tqdm is not installed.
        """
        return self._sync(self._wait_flow(poll_interval, timeout, progress))

    async def await_completion(
        self,
        poll_interval: float | None = None,
        timeout: float | None = None,  # noqa: ASYNC109  (the issue's API: same as `wait`)
        *,
        progress: bool = False,
    ) -> BatchJob:
        """Async twin of `wait`."""
        return await self._async(self._wait_flow(poll_interval, timeout, progress))

    def cancel(self) -> BatchJob:
        """Ask GLM to cancel every unfinished batch (requests already run keep their results).

        Every batch is tried; a batch that has ended meanwhile is no failure. The first
        real failure is raised after all were tried, naming the others in its notes.
        """
        return self._sync(self._cancel_flow())

    async def acancel(self) -> BatchJob:
        """Async twin of `cancel`."""
        return await self._async(self._cancel_flow())

    # ---------------------------------------------------------------------------- results

    def results(self, *, return_exceptions: bool = True, keep_files: bool = False) -> list[Result]:
        """One result per input, in input order: the `AIMessage` or the typed `GLMError`.

        Result files are streamed line by line. Each line fills only its own slot: a failed,
        malformed, too long or `network_error` line becomes that input's typed `GLMError`
        (with its `custom_id`); a request without a line gets `BatchItemMissingError`, the
        requests of a batch that failed validation a `BatchFailedError`, a line answered
        twice `BatchIntegrityError`. Once every line was read and the list is handed back,
        the output and error files are deleted from GLM (which keeps at most 1,000 files per
        account) unless `keep_files`; a failed delete is a `GLMBatchCleanupWarning`. Until
        then (an error, `return_exceptions=False` raising) nothing is deleted, so results()
        can be called again, here or in a fresh process after `batch_retrieve`. Each call
        returns fresh copies.

        Args:
            return_exceptions: Return errors in the list; False raises the first one, after
                every line was read (and then deletes nothing).
            keep_files: Leave the output and error files on GLM.

        Raises:
            ValueError: If the job has not ended yet (call `wait` first).
        """
        return self._sync(self._results_flow(return_exceptions, keep_files))

    async def aresults(
        self, *, return_exceptions: bool = True, keep_files: bool = False
    ) -> list[Result]:
        """Async twin of `results`."""
        return await self._async(self._results_flow(return_exceptions, keep_files))

    def iter_results(self) -> Iterator[tuple[int, Result]]:
        """Stream `(input position, result)` pairs in file order, holding one line at a time.

        For jobs too large to hold in memory. Results are checked as in `results`, except
        that a position answered twice yields its `BatchIntegrityError` after the first
        answer (which it then refutes). Files are not deleted: call `delete_files`.
        """
        flow = self._tagged(self._read_flow(keep=False))
        yield from _drive(self._requests.client, _boxed(flow, []))

    async def aiter_results(self) -> AsyncIterator[tuple[int, Result]]:
        """Async twin of `iter_results`."""
        flow = self._tagged(self._read_flow(keep=False))
        async for item in _adrive(self._requests.client, _boxed(flow, [])):
            yield item

    def delete_files(self) -> BatchJob:
        """Delete the job's output and error files from GLM (failures are warnings)."""
        return self._sync(self._delete_flow())

    async def adelete_files(self) -> BatchJob:
        """Async twin of `delete_files`."""
        return await self._async(self._delete_flow())

    # ------------------------------------------------------------------------------ flows

    def _sync(self, flow: _Flow[_T]) -> _T:
        return _run(self._requests.client, self._tagged(flow))

    async def _async(self, flow: _Flow[_T]) -> _T:
        return await _arun(self._requests.client, self._tagged(flow))

    def _tagged(self, flow: _Flow[_T]) -> _Flow[_T]:
        """Run a flow; whatever stops it carries this job's id (errors, interruptions)."""
        try:
            return (yield from flow)
        except GLMError as exc:
            raise for_batch_job(exc, self.id) from exc.__cause__
        except (Exception, KeyboardInterrupt, asyncio.CancelledError) as exc:
            exc.add_note(f"GLM batch job {self.id}: resume it with ChatGLM.batch_retrieve")
            raise

    def _refresh_flow(
        self, *, every: bool = False, timeout: float | None = None
    ) -> _Flow[BatchJob]:
        """GET each unfinished batch (or every batch) and keep its new state."""
        for n, batch in enumerate(self.batches):
            if every or batch.get("status") not in TERMINAL:
                bid = str(batch["id"])
                retries = None if timeout is None else 0
                step = _Http("GET", f"batches/{bid}", timeout=timeout, retries=retries)
                self.batches[n] = checked_batch((yield from _json_step(step)), bid)
        return self

    def _retrieve_flow(self) -> _Flow[BatchJob]:
        """Fetch every batch, then check they are the job the id claims."""
        yield from self._refresh_flow(every=True)
        if any(span_of(b)[0] for b in self.batches):
            self._job_spans()
        return self

    def _job_spans(self) -> tuple[list[Span], str | None]:
        """The batches' spans and token from their metadata, checked to be one job.

        Raises:
            GLMAPIError: A batch without our metadata (not submitted by langchain-glm).
            ValueError: Spans that do not follow each other, differ from what the job id
                claims, or tokens that differ (batches of different jobs joined).
        """
        found = [span_of(b) for b in self.batches]
        if not all(span for span, _ in found):
            bad = next(b["id"] for b, (s, _) in zip(self.batches, found, strict=True) if not s)
            msg = f"batch {bad} has no langchain_glm_* metadata: not submitted by langchain-glm,"
            raise GLMAPIError(f"{msg} so its results cannot be matched to inputs")
        spans = [cast("Span", span) for span, _ in found]
        check_spans(spans, f"job {self.id}")
        tokens = {token for _, token in found}
        claimed = [c for c in self._claimed if c]
        if len(tokens) != 1 or (claimed and claimed != spans):
            raise ValueError(f"job {self.id}: its batches are not one job (forged or joined ids)")
        return spans, tokens.pop()

    def _cancel_flow(self) -> _Flow[BatchJob]:
        """POST a cancel for each unfinished batch; collect failures, raise the first."""
        failures: list[GLMError] = []
        for n, batch in enumerate(self.batches):
            if batch.get("status") in TERMINAL:
                continue
            bid = str(batch["id"])
            try:
                step = _Http("POST", f"batches/{bid}/cancel", b"{}")
                self.batches[n] = checked_batch((yield from _json_step(step)), bid)
            except GLMError as exc:
                with contextlib.suppress(GLMError):  # "already completed" is no failure
                    yield from self._refresh_one(n)
                if self.batches[n].get("status") not in TERMINAL:
                    failures.append(exc)
        if failures:
            first = failures[0]
            for other in failures[1:]:
                first.add_note(f"cancelling another batch failed too: {other}")
            raise first
        return self

    def _refresh_one(self, n: int) -> _Flow[None]:
        """GET one batch again."""
        bid = str(self.batches[n]["id"])
        self.batches[n] = checked_batch(
            (yield from _json_step(_Http("GET", f"batches/{bid}"))), bid
        )

    def _wait_flow(
        self, poll_interval: float | None, timeout: float | None, bar: bool
    ) -> _Flow[BatchJob]:
        """Sleep, refresh, report, until done or `timeout`; transient poll errors are logged."""
        delays = poll_delays(poll_interval)
        if timeout is not None and not timeout >= 0:
            raise ValueError(f"timeout must be a non-negative number of seconds, got {timeout!r}")
        deadline = None if timeout is None else time.monotonic() + timeout
        progress = _Progress(self, bar)
        try:
            while not self.done:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    msg = f"batch job {self.id} still {self.status} after {timeout} s"
                    raise BatchTimeoutError(f"{msg}: {self.request_counts}", job_id=self.id)
                yield _Sleep(next(delays) if left is None else min(next(delays), left))
                yield from self._poll(deadline)
                progress.update(self)
        finally:
            progress.close()
        return self

    def _poll(self, deadline: float | None) -> _Flow[None]:
        """One status poll, its request timeout cut to the time left; transient errors logged."""
        limit = self._requests.request_timeout
        if deadline is not None:
            left = max(deadline - time.monotonic(), 0.05)
            limit = left if limit is None else min(limit, left)
        try:
            yield from self._refresh_flow(timeout=limit if deadline is not None else None)
        except GLMError as exc:
            if not transient(exc):
                raise
            _LOG.warning("polling GLM batch job %s failed, polling on: %s", self.id, exc)

    def _read_flow(self, *, keep: bool) -> _Flow[Collector]:
        """Stream every batch's result files into a `Collector`, emitting each placed slot."""
        if not self.done:
            msg = f"batch job {self.id} is {self.status}; call wait() before results()"
            raise ValueError(msg)
        for batch in self.batches:
            if batch.get("status") == "failed" and span_of(batch)[0] is None:
                reason = f"batch {batch['id']} failed validation: {failure_reason(batch)}"
                raise BatchFailedError(reason, batch_id=str(batch["id"]))
        spans, token = self._job_spans()
        collector = Collector(spans, token, keep=keep)
        for span, batch in zip(spans, self.batches, strict=True):
            if batch.get("status") == "failed":
                placed = collector.fail(span, batch, failure_reason(batch))
            else:
                for key in ("output_file_id", "error_file_id"):
                    if file_id := batch.get(key):
                        yield from self._read_file(collector, span, f"files/{file_id}/content")
                placed = collector.missing(span, batch)
            for index, item in placed:
                yield _Emit((index, self._own(item)))
        for error in collector.unmatched:
            _LOG.warning("GLM batch job %s: %s", self.id, error)
        self.unmatched = collector.unmatched
        return collector

    def _read_file(self, collector: Collector, span: Span, path: str) -> _Flow[None]:
        """Stream one result file into the collector, emitting each slot it fills."""
        yield _Open(path)
        while (line := (yield _NextLine())) is not None:
            if isinstance(line, Overlong) or line.strip():
                index, item = collector.add(line, span, self._requests.convert)
                self._own(item)
                if index >= 0:
                    yield _Emit((index, item))

    def _own(self, item: Result) -> Result:
        """Mark a slot's error as this job's (`job_id`), its server text redacted."""
        if isinstance(item, GLMError):
            item.job_id = self.id
            self._requests.client.redact(item)
        return item

    def _results_flow(self, return_exceptions: bool, keep_files: bool) -> _Flow[list[Result]]:
        """Read once, hand back copies, and delete the files only after that."""
        if self._results is None:
            collector = yield from self._read_flow(keep=True)
            self._results = cast("list[Result]", collector.slots)
        items = _checked([_copied(item) for item in self._results], return_exceptions)
        if not keep_files:
            yield from self._delete_flow()
        return items

    def _delete_flow(self) -> _Flow[BatchJob]:
        """Delete the output and error files, once."""
        if not self._deleted:
            keys = ("output_file_id", "error_file_id")
            yield from _delete_files(str(b[k]) for b in self.batches for k in keys if b.get(k))
            self._deleted = True
        return self


class DropInRuns:
    """The callback runs of the drop-in `ChatGLM.batch`: one per input, as core's fires them.

    Args:
        starts: Per input, `{"configure": CallbackManager.configure kwargs, "start":
            on_chat_model_start kwargs}` (built by `ChatGLM`, which knows its settings).
    """

    def __init__(self, starts: Sequence[Mapping[str, Any]]) -> None:
        self._starts = starts
        self._runs: list[CallbackManagerForLLMRun] = []
        self._aruns: list[AsyncCallbackManagerForLLMRun] = []

    def start(self) -> None:
        """Fire `on_chat_model_start` for every input."""
        for run in self._starts:
            manager = CallbackManager.configure(**run["configure"])
            self._runs += manager.on_chat_model_start(**run["start"])

    async def astart(self) -> None:
        """Async twin of `start`."""
        for run in self._starts:
            manager = AsyncCallbackManager.configure(**run["configure"])
            self._aruns += await manager.on_chat_model_start(**run["start"])

    def fail(self, error: BaseException) -> None:
        """The whole job failed: fire `on_llm_error` for every input."""
        for run in self._runs:
            run.on_llm_error(error, response=LLMResult(generations=[]))

    async def afail(self, error: BaseException) -> None:
        """Async twin of `fail`."""
        for run in self._aruns:
            await run.on_llm_error(error, response=LLMResult(generations=[]))

    def end(self, results: Sequence[Result], return_exceptions: bool) -> list[Result]:
        """Fire `on_llm_end` / `on_llm_error` per input; raise the first error if asked.

        The error raised names its job (`for_batch_job`), as every batch error does.
        """
        for run, item in zip(self._runs, results, strict=True):
            if isinstance(item, GLMError):
                run.on_llm_error(item, response=LLMResult(generations=[]))
            else:
                run.on_llm_end(_llm_result(item, str(run.run_id)))
        return _checked(results, return_exceptions)

    async def aend(self, results: Sequence[Result], return_exceptions: bool) -> list[Result]:
        """Async twin of `end`."""
        for run, item in zip(self._aruns, results, strict=True):
            if isinstance(item, GLMError):
                await run.on_llm_error(item, response=LLMResult(generations=[]))
            else:
                await run.on_llm_end(_llm_result(item, str(run.run_id)))
        return _checked(results, return_exceptions)


def _llm_result(message: AIMessage, run_id: str) -> LLMResult:
    """The `LLMResult` of one run; the message gets core's run-based id if it has none."""
    if message.id is None:
        message.id = f"{LC_ID_PREFIX}-{run_id}"
    return LLMResult(generations=[[ChatGeneration(message=message)]])


def _checked(results: Sequence[Result], return_exceptions: bool) -> list[Result]:
    """The results, or the first error raised (named by its job) when errors are not wanted."""
    if not return_exceptions:
        for item in results:
            if isinstance(item, GLMError):
                raise item if item.job_id is None else for_batch_job(item, item.job_id)
    return list(results)


def _copied(item: Result) -> Result:
    """A copy a caller may change without changing any other result (or a later call's)."""
    if isinstance(item, AIMessage):
        return item.model_copy(deep=True)
    return copy.copy(item)


__all__ = [
    "ENDPOINT",
    "MAX_BYTES_PER_BATCH",
    "MAX_LINE_BYTES",
    "MAX_REQUESTS_PER_BATCH",
    "BatchFailedError",
    "BatchIntegrityError",
    "BatchItemMissingError",
    "BatchJob",
    "BatchRequests",
    "BatchTimeoutError",
    "DropInRuns",
    "PollPolicy",
    "Result",
]
