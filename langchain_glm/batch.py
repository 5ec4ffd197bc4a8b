"""GLM's Batch API: many chat requests as one job, at half price, results in input order.

GLM runs a JSONL file of up to 50,000 chat requests within 24 h at 50% of the price
(https://docs.bigmodel.cn/cn/guide/tools/batch). `ChatGLM.batch_submit` uploads the requests
(`POST {base}/files`, `purpose=batch`), creates the batches (`POST {base}/batches`) and returns
a `BatchJob`; `BatchJob.wait` polls `GET {base}/batches/{id}`; `BatchJob.results` downloads the
output and error files (`GET {base}/files/{id}/content`) and turns every line back into the
`AIMessage` (or typed `GLMError`) that `invoke` would have produced, in input order.

Layout: the pure part (JSONL lines, splitting, `custom_id` mapping, result-line parsing, the
polling policy) is plain functions; each I/O step is a generator that yields `_Http` / `_Sleep`
steps, run by `_run` (sync) or `_arun` (async), the only two places that differ by `await`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import time
import uuid
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from langchain_core.messages import AIMessage

from langchain_glm import _response
from langchain_glm._errors import (
    GLMAPIError,
    GLMError,
    GLMInvalidRequestError,
    GLMTimeoutError,
    error_from_payload,
    excerpt,
)

if TYPE_CHECKING:
    from langchain_core.language_models import LanguageModelInput

    from langchain_glm._client import GLMClient
    from langchain_glm.chat_models import ChatGLM

_LOG = logging.getLogger("langchain_glm")
_T = TypeVar("_T")

MAX_REQUESTS_PER_BATCH = 50_000
"""GLM's limit of requests per batch file; more inputs are split over several batches."""
MAX_BYTES_PER_BATCH = 100 * 1024 * 1024
"""GLM's limit of bytes per batch file (100 MB); larger inputs are split."""
ENDPOINT = "/v4/chat/completions"
"""The `url` of every line and the `endpoint` of every batch (note `/v4`, not `/v1`)."""
JOB_PREFIX = "glmjob:"
"""Prefix of a job id made of several batch ids (`glmjob:batch_1,batch_2`)."""
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
"""Batch statuses after which nothing changes any more."""
_ACTIVE = ("validating", "in_progress", "finalizing", "cancelling")
_STREAM_ONLY = frozenset({"stream", "stream_options", "stream_usage", "tool_stream"})
_START, _COUNT = "langchain_glm_start", "langchain_glm_count"
_BATCH_ID = re.compile(r"^[A-Za-z0-9_.-]+$")

Result = AIMessage | GLMError
"""One job result: the message `invoke` would return, or the error it would raise."""


class BatchFailedError(GLMInvalidRequestError):
    """GLM rejected a batch file (status `failed`); the message is GLM's reason.

    Attributes:
        batch_id: The batch that failed validation.
    """

    def __init__(self, message: str, *, batch_id: str) -> None:
        super().__init__(message)
        self.batch_id = batch_id


class BatchItemMissingError(GLMAPIError):
    """A request has no result line: its batch expired or was cancelled before running it."""


class BatchTimeoutError(GLMTimeoutError):
    """`BatchJob.wait` gave up after the user's `timeout`; the job runs on (resume by id).

    Attributes:
        job_id: The id to pass to `ChatGLM.batch_retrieve` later.
    """

    def __init__(self, message: str, *, job_id: str) -> None:
        super().__init__(message)
        self.job_id = job_id


# ------------------------------------------------------------------------------ pure part


def dumps(obj: Any) -> bytes:
    """Serialize JSON exactly as `GLMClient` serializes request bodies (compact, UTF-8)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def custom_id(index: int) -> str:
    """The `custom_id` of the input at `index` (`"req-000042"`), unique within a job."""
    return f"req-{index:06d}"


def index_of(value: Any) -> int:
    """The input position a `custom_id` made by `custom_id` stands for.

    Raises:
        GLMAPIError: If it is not one of ours.
    """
    if isinstance(value, str) and value.startswith("req-") and value[4:].isdigit():
        return int(value[4:])
    msg = f"result line has a custom_id this job did not send: {value!r}"
    raise GLMAPIError(msg)


def jsonl_line(index: int, payload: Mapping[str, Any]) -> bytes:
    """One input line; `body` comes last, serialized byte for byte like an `invoke` body."""
    line = {"custom_id": custom_id(index), "method": "POST", "url": ENDPOINT, "body": payload}
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
    if max_requests < 1 or max_bytes < 1:
        msg = f"batch limits must be positive, got {max_requests} requests, {max_bytes} bytes"
        raise ValueError(msg)
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


def job_id_of(batch_ids: Sequence[str]) -> str:
    """A job's id: its batch id, or `glmjob:` and every batch id when it was split."""
    return batch_ids[0] if len(batch_ids) == 1 else JOB_PREFIX + ",".join(batch_ids)


def batch_ids_of(job_id: str) -> list[str]:
    """The batch ids inside a job id (the inverse of `job_id_of`).

    Raises:
        ValueError: If the id is malformed (checked before anything is sent).
    """
    ids = job_id.removeprefix(JOB_PREFIX).split(",")
    if not all(_BATCH_ID.match(i) for i in ids):
        msg = f"not a GLM batch job id: {job_id!r}"
        raise ValueError(msg)
    return ids


def span(batch: Mapping[str, Any]) -> tuple[int, int]:
    """(first input position, number of inputs) of a batch, from the metadata we set.

    A batch created elsewhere (no such metadata) covers positions 0 to its total - 1.
    """
    meta = batch.get("metadata") or {}
    if _START in meta and _COUNT in meta:
        return int(meta[_START]), int(meta[_COUNT])
    return 0, int((batch.get("request_counts") or {}).get("total") or 0)


def aggregate_status(statuses: Iterable[str]) -> str:
    """One status for a job: the least advanced active status, else the worst ending."""
    seen = set(statuses)
    for status in (*_ACTIVE, "failed", "expired", "cancelled"):
        if status in seen:
            return status
    return "completed"


def message_from_body(
    body: Mapping[str, Any], *, model: str, output_version: str | None = None
) -> AIMessage:
    """The `AIMessage` `invoke` makes from a chat-completion body.

    The same conversion as `ChatGLM._generate`, then what `BaseChatModel` adds on `invoke`:
    `content_blocks` as content for `output_version="v1"`, and `llm_output` merged into
    `response_metadata`.
    """
    result = _response.chat_result(body, model=model)
    generation = result.generations[0]
    message = generation.message
    if output_version == "v1":
        meta = {**message.response_metadata, "output_version": "v1"}
        update = {"content": message.content_blocks, "response_metadata": meta}
        message = message.model_copy(update=update)
    info = generation.generation_info or {}
    message.response_metadata = {**(result.llm_output or {}), **info, **message.response_metadata}
    return cast("AIMessage", message)


def parse_result_line(
    raw: bytes, *, model: str, output_version: str | None = None
) -> tuple[int, Result]:
    """Turn one output- or error-file line into (input position, message or typed error).

    Lines look like `{"response": {"status_code": 200, "body": {...}}, "custom_id": ..,
    "id": ..}`; a failed request carries GLM's error body (or a top-level `error`) and
    becomes the same `GLMError` subclass an HTTP failure with that status and code would.

    Raises:
        GLMAPIError: If the line is not JSON or its `custom_id` is not ours.
    """
    try:
        line = json.loads(raw)
    except ValueError:
        line = None
    if not isinstance(line, dict):
        raise GLMAPIError(f"unreadable batch result line: {excerpt(raw)}")
    index = index_of(line.get("custom_id"))
    response = line.get("response") or {}
    status, body = response.get("status_code"), response.get("body")
    if (
        isinstance(status, int)
        and status < 300
        and isinstance(body, dict)
        and not body.get("error")
    ):
        return index, message_from_body(body, model=model, output_version=output_version)
    detail = body if isinstance(body, dict) else line.get("error") or {"message": excerpt(raw)}
    return index, error_from_payload(detail, status if isinstance(status, int) else None)


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


# --------------------------------------------------------------------------- I/O steps


@dataclass(frozen=True)
class _Http:
    """One request to `{base_url}/{path}`; the runner sends back the response body."""

    method: str
    path: str
    body: bytes | None = None
    content_type: str = "application/json"


@dataclass(frozen=True)
class _Sleep:
    """Wait before the next step."""

    seconds: float


_Flow = Generator[_Http | _Sleep, bytes, _T]


def _run(client: GLMClient, flow: _Flow[_T]) -> _T:
    """Run a flow with blocking I/O; a `GLMError` is thrown back into the flow."""
    reply: Any = None
    error: GLMError | None = None
    while True:
        try:
            step = flow.send(reply) if error is None else flow.throw(error)
        except StopIteration as stop:
            return cast("_T", stop.value)
        reply, error = b"", None
        try:
            if isinstance(step, _Sleep):
                time.sleep(step.seconds)
            else:
                reply = client.request(
                    step.method, step.path, body=step.body, content_type=step.content_type
                )
        except GLMError as exc:
            error = exc


async def _arun(client: GLMClient, flow: _Flow[_T]) -> _T:
    """Async twin of `_run`."""
    reply: Any = None
    error: GLMError | None = None
    while True:
        try:
            step = flow.send(reply) if error is None else flow.throw(error)
        except StopIteration as stop:
            return cast("_T", stop.value)
        reply, error = b"", None
        try:
            if isinstance(step, _Sleep):
                await asyncio.sleep(step.seconds)
            else:
                reply = await client.arequest(
                    step.method, step.path, body=step.body, content_type=step.content_type
                )
        except GLMError as exc:
            error = exc


def _json_step(step: _Http) -> _Flow[dict[str, Any]]:
    """Send one request and decode the JSON object that comes back."""
    raw = yield step
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        msg = f"{step.method} {step.path}: response is not a JSON object: {excerpt(raw)}"
        raise GLMAPIError(msg)
    if data.get("error"):
        raise error_from_payload(data, 200)
    return data


@dataclass(frozen=True)
class _Plan:
    """What a submission sends: the batch files, and what the job needs to read results."""

    client: GLMClient
    model: str
    output_version: str | None
    chunks: list[Chunk]
    metadata: dict[str, str]

    def flow(self) -> _Flow[BatchJob]:
        """Upload each file and create its batch; the job holds every batch created."""
        batches: list[dict[str, Any]] = []
        try:
            for n, chunk in enumerate(self.chunks):
                name = f"langchain-glm-{n:03d}.jsonl"
                ctype, body = multipart(name, chunk.data, uuid.uuid4().hex)
                file = yield from _json_step(_Http("POST", "files", body, ctype))
                meta = {**self.metadata, _START: str(chunk.start), _COUNT: str(chunk.count)}
                request = {"input_file_id": file.get("id"), "endpoint": ENDPOINT}
                request.update(auto_delete_input_file=True, metadata=meta)
                batches.append((yield from _json_step(_Http("POST", "batches", dumps(request)))))
        except GLMError as exc:
            if batches:
                exc.add_note(f"batches already created: {job_id_of([b['id'] for b in batches])}")
            raise
        return BatchJob(self.client, batches, model=self.model, output_version=self.output_version)


def _plan(
    llm: ChatGLM,
    inputs: Sequence[LanguageModelInput],
    options: Mapping[str, Any],
    *,
    max_requests: int,
    max_bytes: int,
    metadata: Mapping[str, str] | None,
) -> _Plan:
    """Build every line through `ChatGLM._prepare`, the code path `invoke` uses."""
    kwargs = {k: v for k, v in options.items() if k not in _STREAM_ONLY}
    stop = kwargs.pop("stop", None)
    calls = [
        llm._prepare(llm._convert_input(x).to_messages(), stop, kwargs, stream=False)
        for x in inputs
    ]
    if not calls:
        raise ValueError("a batch job needs at least one input")
    lines = [jsonl_line(i, call.payload) for i, call in enumerate(calls)]
    models = [call.model for call in calls]
    chunks = split_lines(lines, models, max_requests=max_requests, max_bytes=max_bytes)
    version = llm.output_version
    return _Plan(calls[0].client, calls[0].model, version, chunks, dict(metadata or {}))


class _Progress:
    """Progress of `BatchJob.wait`: a tqdm bar when tqdm is installed, else INFO log lines."""

    def __init__(self, job: BatchJob) -> None:
        self._last: tuple[str, int] | None = None
        try:
            from tqdm.auto import tqdm  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            self._bar: Any = None
        else:
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
                job.id,
                job.status,
                done,
                counts["total"],
                counts["failed"],
            )
        self._last = (job.status, done)

    def close(self) -> None:
        """Close the bar, if any."""
        if self._bar is not None:
            self._bar.close()


class BatchJob:
    """A Batch API job: one or more GLM batches holding a list of chat requests.

    Made by `ChatGLM.batch_submit` (or `batch_retrieve`, to resume by `id` in another
    process). Every method has an async twin: `arefresh`, `await_completion`, `aresults`,
    `acancel`.

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
        client: The client the job's requests go through.
        batches: GLM's batch objects, in input order.
        model: The requested model (reported when a result body does not echo one).
        output_version: The model's `output_version` (`"v1"`: content blocks as content).
    """

    def __init__(
        self,
        client: GLMClient,
        batches: Sequence[Mapping[str, Any]],
        *,
        model: str,
        output_version: str | None = None,
    ) -> None:
        self.batches: list[dict[str, Any]] = [dict(b) for b in batches]
        """GLM's batch objects as last fetched, in input order."""
        self._client = client
        self._model = model
        self._output_version = output_version
        self._results: list[Result] | None = None

    def __repr__(self) -> str:
        return f"BatchJob(id={self.id!r}, status={self.status!r}, {self.request_counts})"

    @property
    def id(self) -> str:
        """Stable job id for `ChatGLM.batch_retrieve` (composite when split over batches)."""
        return job_id_of([str(batch["id"]) for batch in self.batches])

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
            totals["total"] += max(int(counts.get("total") or 0), span(batch)[1])
            totals["completed"] += int(counts.get("completed") or 0)
            totals["failed"] += int(counts.get("failed") or 0)
        return totals

    # ---------------------------------------------------------------- creating and resuming

    @classmethod
    def submit(
        cls,
        llm: ChatGLM,
        inputs: Sequence[LanguageModelInput],
        *,
        max_requests_per_batch: int = MAX_REQUESTS_PER_BATCH,
        max_bytes_per_batch: int = MAX_BYTES_PER_BATCH,
        metadata: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> BatchJob:
        """Upload the requests and create the batches; see `ChatGLM.batch_submit`."""
        plan = _plan(
            llm,
            inputs,
            kwargs,
            max_requests=max_requests_per_batch,
            max_bytes=max_bytes_per_batch,
            metadata=metadata,
        )
        return _run(plan.client, plan.flow())

    @classmethod
    async def asubmit(
        cls,
        llm: ChatGLM,
        inputs: Sequence[LanguageModelInput],
        *,
        max_requests_per_batch: int = MAX_REQUESTS_PER_BATCH,
        max_bytes_per_batch: int = MAX_BYTES_PER_BATCH,
        metadata: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> BatchJob:
        """Async twin of `submit`."""
        plan = _plan(
            llm,
            inputs,
            kwargs,
            max_requests=max_requests_per_batch,
            max_bytes=max_bytes_per_batch,
            metadata=metadata,
        )
        return await _arun(plan.client, plan.flow())

    @classmethod
    def retrieve(cls, llm: ChatGLM, job_id: str) -> BatchJob:
        """Fetch a job by id; see `ChatGLM.batch_retrieve`."""
        job = cls._empty(llm, job_id)
        return _run(job._client, job._refresh_flow(every=True))

    @classmethod
    async def aretrieve(cls, llm: ChatGLM, job_id: str) -> BatchJob:
        """Async twin of `retrieve`."""
        job = cls._empty(llm, job_id)
        return await _arun(job._client, job._refresh_flow(every=True))

    @classmethod
    def _empty(cls, llm: ChatGLM, job_id: str) -> BatchJob:
        """A job that knows only its batch ids (checked before anything is sent)."""
        batches = [{"id": batch_id} for batch_id in batch_ids_of(job_id)]
        return cls(
            llm._client({}), batches, model=llm.model_name, output_version=llm.output_version
        )

    # ---------------------------------------------------------------------------- polling

    def refresh(self) -> BatchJob:
        """Fetch the status of every unfinished batch; returns the job."""
        return _run(self._client, self._refresh_flow())

    async def arefresh(self) -> BatchJob:
        """Async twin of `refresh`."""
        return await _arun(self._client, self._refresh_flow())

    def wait(self, poll_interval: float | None = None, timeout: float | None = None) -> BatchJob:
        """Poll until every batch has ended; returns the job.

        Polls first after 0.5 s, then backs off by 1.5x to one poll a minute
        (`PollPolicy`); progress goes to a tqdm bar if tqdm is installed, else to INFO
        log lines on the `langchain_glm` logger. A failed poll that is retryable (rate
        limit, 5xx, connection) is logged and polling goes on.

        Args:
            poll_interval: Poll every this many seconds instead of backing off.
            timeout: Give up after this many seconds (None: wait as long as GLM takes).

        Raises:
            BatchTimeoutError: After `timeout`; the job keeps running (resume by `id`).
        """
        return _run(self._client, self._wait_flow(poll_interval, timeout))

    async def await_completion(
        self,
        poll_interval: float | None = None,
        timeout: float | None = None,  # noqa: ASYNC109  (the issue's API: same as `wait`)
    ) -> BatchJob:
        """Async twin of `wait`."""
        return await _arun(self._client, self._wait_flow(poll_interval, timeout))

    def cancel(self) -> BatchJob:
        """Ask GLM to cancel every unfinished batch (requests already run keep their results)."""
        return _run(self._client, self._cancel_flow())

    async def acancel(self) -> BatchJob:
        """Async twin of `cancel`."""
        return await _arun(self._client, self._cancel_flow())

    # ---------------------------------------------------------------------------- results

    def results(self, *, return_exceptions: bool = True, keep_files: bool = False) -> list[Result]:
        """One result per input, in input order: the `AIMessage` or the typed `GLMError`.

        Result files are downloaded once and then deleted from GLM (which keeps at most
        1,000 files per account) unless `keep_files`. A request without a result line
        (expired or cancelled batch) gets a `BatchItemMissingError`; the requests of a
        batch that failed validation get a `BatchFailedError` with GLM's reason.

        Args:
            return_exceptions: Return errors in the list; False raises the first one.
            keep_files: Leave the output and error files on GLM.

        Raises:
            ValueError: If the job has not ended yet (call `wait` first).
        """
        items = _run(self._client, self._results_flow(keep_files))
        return _checked(items, return_exceptions)

    async def aresults(
        self, *, return_exceptions: bool = True, keep_files: bool = False
    ) -> list[Result]:
        """Async twin of `results`."""
        items = await _arun(self._client, self._results_flow(keep_files))
        return _checked(items, return_exceptions)

    # ------------------------------------------------------------------------------ flows

    def _refresh_flow(self, *, every: bool = False) -> _Flow[BatchJob]:
        """GET each unfinished batch (or every batch) and keep its new state."""
        for n, batch in enumerate(self.batches):
            if every or batch.get("status") not in TERMINAL:
                step = _Http("GET", f"batches/{batch['id']}")
                self.batches[n] = yield from _json_step(step)
        return self

    def _cancel_flow(self) -> _Flow[BatchJob]:
        """POST a cancel for each unfinished batch."""
        for n, batch in enumerate(self.batches):
            if batch.get("status") not in TERMINAL:
                step = _Http("POST", f"batches/{batch['id']}/cancel", b"{}")
                self.batches[n] = yield from _json_step(step)
        return self

    def _wait_flow(self, poll_interval: float | None, timeout: float | None) -> _Flow[BatchJob]:
        """Sleep, refresh, report, until done or `timeout`; retryable poll errors are logged."""
        delays = poll_delays(poll_interval)
        deadline = None if timeout is None else time.monotonic() + timeout
        progress = _Progress(self)
        try:
            while not self.done:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    msg = f"batch job {self.id} still {self.status} after {timeout} s"
                    raise BatchTimeoutError(f"{msg}: {self.request_counts}", job_id=self.id)
                yield _Sleep(next(delays) if left is None else min(next(delays), left))
                try:
                    yield from self._refresh_flow()
                except GLMError as exc:
                    if not exc.is_retryable:
                        raise
                    _LOG.warning("polling GLM batch job %s failed, polling on: %s", self.id, exc)
                progress.update(self)
        finally:
            progress.close()
        return self

    def _results_flow(self, keep_files: bool) -> _Flow[list[Result]]:
        """Read every batch's result files once, in input order, filling every gap."""
        if self._results is None:
            if not self.done:
                msg = f"batch job {self.id} is {self.status}; call wait() before results()"
                raise ValueError(msg)
            size = max(sum(span(batch)) for batch in self.batches)
            slots: list[Result | None] = [None] * size
            for batch in self.batches:
                yield from self._collect(batch, slots, keep_files)
            self._results = cast("list[Result]", slots)
        return list(self._results)

    def _collect(
        self, batch: Mapping[str, Any], slots: list[Result | None], keep_files: bool
    ) -> _Flow[None]:
        """Put one batch's results (or its failure, or missing-line errors) into `slots`."""
        start, count = span(batch)
        if batch.get("status") == "failed":
            reason = yield from _failure_reason(batch)
            error = BatchFailedError(
                f"batch {batch['id']} failed validation: {reason}", batch_id=str(batch["id"])
            )
            if not count:  # a batch we did not create: its size is unknown, so raise
                raise error
            slots[start : start + count] = [error] * count
            return
        for key in ("output_file_id", "error_file_id"):
            if file_id := batch.get(key):
                raw = yield _Http("GET", f"files/{file_id}/content")
                for line in raw.splitlines():
                    if line.strip():
                        index, item = parse_result_line(
                            line, model=self._model, output_version=self._output_version
                        )
                        _place(slots, index, item, start, count)
                if not keep_files:
                    yield from _json_step(_Http("DELETE", f"files/{file_id}"))
        for index in range(start, start + count):
            if slots[index] is None:
                slots[index] = BatchItemMissingError(_missing(batch, index))


def _place(slots: list[Result | None], index: int, item: Result, start: int, count: int) -> None:
    """Store a result line's item at its input position, refusing positions not in the batch."""
    if not start <= index < start + count:
        last = start + count - 1
        msg = f"result line {custom_id(index)} is outside its batch (inputs {start}..{last})"
        raise GLMAPIError(msg)
    slots[index] = item


def _failure_reason(batch: Mapping[str, Any]) -> _Flow[str]:
    """GLM's reason for a failed validation: the `errors` field, else the error file."""
    errors = (batch.get("errors") or {}).get("data") or []
    reasons = [str(e.get("message") or e) for e in errors if isinstance(e, dict)]
    if not reasons and batch.get("error_file_id"):
        raw = yield _Http("GET", f"files/{batch['error_file_id']}/content")
        reasons = [excerpt(raw, limit=500)]
    return "; ".join(reasons) or "GLM gave no reason"


def _missing(batch: Mapping[str, Any], index: int) -> str:
    """The message for an input without a result line."""
    counts = batch.get("request_counts") or {}
    return (
        f"no result for input {index} ({custom_id(index)}): batch {batch['id']} ended "
        f"{batch.get('status')} with {counts.get('completed', 0)} completed and "
        f"{counts.get('failed', 0)} failed of {counts.get('total', 0)} requests"
    )


def _checked(items: list[Result], return_exceptions: bool) -> list[Result]:
    """Return the results, or raise the first error when errors are not wanted."""
    if not return_exceptions:
        for item in items:
            if isinstance(item, GLMError):
                raise item
    return items


__all__ = [
    "ENDPOINT",
    "MAX_BYTES_PER_BATCH",
    "MAX_REQUESTS_PER_BATCH",
    "BatchFailedError",
    "BatchItemMissingError",
    "BatchJob",
    "BatchTimeoutError",
    "PollPolicy",
    "Result",
]
