"""Batch API: the pure part of `langchain_glm.batch`, and the emulation driven by plain httpx.

`Emulator` is the real `GLMTransport` (which routes `/files` and `/batches` to the Batch API
emulation) plus the clients the tests need; tests/e2e/test_batch.py drives ChatGLM through it,
and tests/e2e/_pending_batch_server.py reruns those tests over HTTP against `glm_server`.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage

from langchain_glm import ChatGLM
from langchain_glm._errors import (
    GLMAPIError,
    GLMAuthenticationError,
    GLMConnectionError,
    GLMContextOverflowError,
    GLMError,
    GLMInvalidRequestError,
    GLMNotFoundError,
    GLMRateLimitError,
    GLMTimeoutError,
)
from langchain_glm.batch import (
    ENDPOINT,
    MAX_UNMATCHED,
    Chunk,
    Collector,
    LineReader,
    Overlong,
    PollPolicy,
    Span,
    aggregate_status,
    batch_metadata,
    checked_batch,
    custom_id,
    dumps,
    job_id_of,
    jsonl_line,
    multipart,
    parse_job_id,
    parse_result_line,
    poll_delays,
    position_of,
    span_of,
    split_lines,
    transient,
)
from langchain_glm.chat_models import batch_message
from langchain_glm.testing import GLMTransport, advance_batches, expire_batches
from langchain_glm.testing._base import error_body
from langchain_glm.testing._batch import multipart_fields

AUTH = {"Authorization": "Bearer test"}


def glm_clients(**options: Any) -> dict[str, Any]:
    """`http_client` and `http_async_client` for ChatGLM (plain httpx clients)."""
    return {
        "http_client": httpx.Client(**options),
        "http_async_client": httpx.AsyncClient(**options),
    }


class Emulator(GLMTransport):
    """The in-process GLM service (`GLMTransport`) with the clients the batch tests use."""

    @property
    def state(self) -> dict[str, Any]:
        return self.batch_state

    def http(self) -> httpx.Client:
        return httpx.Client(transport=self, base_url=self.base_url, headers=AUTH)

    def llm(self, **fields: Any) -> ChatGLM:
        clients = glm_clients(transport=self)
        return ChatGLM(model="glm-4.6", base_url=self.base_url, api_key="test", **clients, **fields)


@pytest.fixture
def emulator() -> Emulator:
    return Emulator()


# ------------------------------------------------------------------------- pure part


TOKEN = "0123456789abcdef"


def convert(body: dict[str, Any]) -> AIMessage:
    return batch_message(body, model="glm-4.6", output_version=None)


def test_custom_ids_carry_the_job_and_map_back_to_positions() -> None:
    assert custom_id(TOKEN, 42) == "lcg-0123456789abcdef-000042"
    assert [position_of(custom_id(TOKEN, i), TOKEN) for i in (0, 7, 1_234_567)] == [
        0,
        7,
        1_234_567,
    ]
    other = "fedcba9876543210"
    for value in ("request-1", custom_id(other, 1), "req-000001", "lcg-0123456789abcdef-²²²²²²"):
        assert position_of(value, TOKEN) is None
    assert position_of("req-000003", None) == 3  # a job submitted before ids carried a token
    assert position_of("req-²", None) is None
    assert position_of(3, TOKEN) is None


def test_line_body_is_the_invoke_serialization() -> None:
    payload = {"model": "glm-4.6", "messages": [{"role": "user", "content": "héllo"}]}
    line = jsonl_line(custom_id(TOKEN, 3), payload)
    assert line.endswith(b',"body":' + dumps(payload) + b"}\n")
    assert json.loads(line) == {
        "custom_id": custom_id(TOKEN, 3),
        "method": "POST",
        "url": "/v4/chat/completions",
        "body": payload,
    }


def test_split_by_count_bytes_and_model() -> None:
    lines = [b"x" * 10 + b"\n"] * 7
    chunks = split_lines(lines, ["m"] * 7, max_requests=3, max_bytes=10_000)
    assert [(c.start, c.count) for c in chunks] == [(0, 3), (3, 3), (6, 1)]
    assert b"".join(c.data for c in chunks) == b"".join(lines)
    chunks = split_lines(lines, ["m"] * 7, max_requests=100, max_bytes=25)
    assert [(c.start, c.count) for c in chunks] == [(0, 2), (2, 2), (4, 2), (6, 1)]
    chunks = split_lines(lines[:4], ["a", "a", "b", "b"], max_requests=100, max_bytes=999)
    assert [(c.start, c.count) for c in chunks] == [(0, 2), (2, 2)]
    with pytest.raises(ValueError, match="input 0 is 11 bytes"):
        split_lines(lines, ["m"] * 7, max_requests=3, max_bytes=5)
    with pytest.raises(ValueError, match="batch limits must be"):
        split_lines(lines, ["m"] * 7, max_requests=0, max_bytes=5)
    with pytest.raises(ValueError, match="batch limits must be"):
        split_lines(lines, ["m"] * 7, max_requests=50_001, max_bytes=5)


def test_job_ids_encode_spans_and_refuse_forged_or_joined_ones() -> None:
    one, two = Span("batch_1", 0, 3), Span("batch_2", 3, 2)
    assert job_id_of([one]) == "batch_1"
    job = job_id_of([one, two])
    assert job == "glmjob:batch_1@0+3,batch_2@3+2"
    assert parse_job_id(job) == [("batch_1", one), ("batch_2", two)]
    assert parse_job_id("batch_1") == [("batch_1", None)]
    assert parse_job_id("glmjob:batch_1,batch_2") == [("batch_1", None), ("batch_2", None)]
    refused = [
        "glmjob:batch_1@0+3,batch_2@0+3",  # two jobs joined: both claim positions 0..2
        "glmjob:batch_1@0+3,batch_2@4+2",  # a gap
        "glmjob:batch_1@1+3",  # not from 0
        "glmjob:batch_1@0+0",
        "glmjob:batch_1@0+50001",
        "glmjob:batch_1@0+3,batch_2",  # spans for some only
        "glmjob:batch_1,batch_1",
        "glmjob:batch_1,../files",
        ".",
        "..",
        "",
        "batch_1@0+3",
        "batch 1",
        "batch_²",
        "x" * 129,
    ]
    for bad in refused:
        with pytest.raises(ValueError, match=r"job id|not one job"):
            parse_job_id(bad)


def test_metadata_records_the_span_and_keeps_glms_limits() -> None:
    chunk = Chunk(5, 2, b"")
    meta = batch_metadata({"team": "x"}, TOKEN, chunk)
    assert meta == {
        "team": "x",
        "langchain_glm_token": TOKEN,
        "langchain_glm_start": "5",
        "langchain_glm_count": "2",
    }
    for bad in (
        {str(i): "v" for i in range(14)},
        {"k" * 65: "v"},
        {"k": "v" * 513},
        {"k": 1},
        {"langchain_glm_start": "0"},
    ):
        with pytest.raises(ValueError, match="batch metadata"):
            batch_metadata(bad, TOKEN, chunk)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "batch",
    [
        None,
        [],
        {"id": 5, "status": "completed"},
        {"id": "batch_1/..", "status": "completed"},
        {"id": "batch_1", "status": "done"},
        {"id": "batch_1", "status": "completed", "request_counts": "3"},
        {"id": "batch_1", "status": "completed", "request_counts": {"total": "3"}},
        {"id": "batch_1", "status": "completed", "metadata": ["x"]},
        {"id": "batch_1", "status": "completed", "output_file_id": 7},
        {"id": "batch_1", "status": "completed", "error_file_id": "../../x"},
        {"id": "batch_2", "status": "completed"},
    ],
)
def test_wrong_typed_batch_objects_are_typed_errors(batch: Any) -> None:
    with pytest.raises(GLMAPIError, match="malformed"):
        checked_batch(batch, "batch_1")


def test_line_reader_caps_lines_and_keeps_their_tail() -> None:
    reader = LineReader(cap=10)
    out = reader.feed(b"abc\nde") + reader.feed(b"f\n" + b"x" * 600 + b"END\n") + reader.feed(b"z")
    out += reader.finish()
    assert out[:2] == [b"abc", b"def"]
    assert isinstance(out[2], Overlong)
    assert out[2].size == 603
    assert out[2].tail.endswith(b"END")
    assert out[3] == b"z"
    assert reader.finish() == []


def test_aggregate_status() -> None:
    assert aggregate_status(["completed", "in_progress", "validating"]) == "validating"
    assert aggregate_status(["completed", "finalizing"]) == "finalizing"
    assert aggregate_status(["completed", "expired", "cancelled"]) == "expired"
    assert aggregate_status(["completed", "failed"]) == "failed"
    assert aggregate_status(["completed", "completed"]) == "completed"


def test_poll_delays_start_soon_and_back_off_to_the_cap() -> None:
    delays = PollPolicy(first=0.5, factor=2.0, cap=3.0).delays()
    assert [next(delays) for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    default = poll_delays(None)
    assert next(default) <= 1.0
    fixed = poll_delays(0.25)
    assert [next(fixed), next(fixed)] == [0.25, 0.25]
    with pytest.raises(ValueError, match="poll_interval must be positive"):
        poll_delays(0)


COMPLETION = {
    "id": "2026120212000012345",
    "created": 1764648000,
    "model": "glm-4.6",
    "choices": [
        {
            "index": 0,
            "finish_reason": "tool_calls",
            "message": {
                "role": "assistant",
                "reasoning_content": "Call the tool.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city":"Rome"}'},
                    }
                ],
            },
        }
    ],
    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
}


def _line(status: int, body: Any, cid: str = custom_id(TOKEN, 4)) -> bytes:
    response = {"status_code": status, "body": body}
    return dumps({"response": response, "custom_id": cid, "id": "batch_1"})


def test_result_line_success_keeps_reasoning_usage_tools() -> None:
    line_id, message = parse_result_line(_line(200, COMPLETION), convert)
    assert line_id == custom_id(TOKEN, 4)
    assert isinstance(message, AIMessage)
    assert message.tool_calls[0]["args"] == {"city": "Rome"}
    assert message.additional_kwargs["reasoning_content"] == "Call the tool."
    assert message.usage_metadata is not None
    assert message.usage_metadata["total_tokens"] == 15
    assert message.response_metadata["model_name"] == "glm-4.6"
    assert message.response_metadata["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [(429, "1302", GLMRateLimitError), (400, "1261", GLMContextOverflowError)],
)
def test_result_line_failure_is_the_http_error(status: int, code: str, cls: type) -> None:
    _, error = parse_result_line(_line(status, error_body(code, None)), convert)
    assert type(error) is cls
    assert isinstance(error, GLMError)
    assert error.status_code == status
    assert error.code == code


def test_result_line_with_top_level_error() -> None:
    raw = dumps({"custom_id": "req-000001", "error": {"code": "1210", "message": "bad"}})
    line_id, error = parse_result_line(raw, convert)
    assert line_id == "req-000001"
    assert isinstance(error, GLMInvalidRequestError)
    assert error.message == "bad"


NETWORK_ERROR: dict[str, Any] = {
    **COMPLETION,
    "choices": [{"index": 0, "finish_reason": "network_error", "message": {"role": "assistant"}}],
}


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"custom_id": "lcg-0123456789abcdef-000004", "response": ',  # truncated
        _line(200, NETWORK_ERROR),
        _line(200, {"choices": []}),
        _line(200, {"choices": [None]}),
        _line(200, {"choices": [{"message": 5}]}),
        _line(200, "text"),
        _line("200", COMPLETION),  # type: ignore[arg-type]
        dumps({"custom_id": custom_id(TOKEN, 4), "response": []}),
        Overlong(20_000_000, b'"},"custom_id":"lcg-0123456789abcdef-000004","id":"b"}'),
    ],
)
def test_a_bad_line_is_its_own_typed_error_never_a_crash(raw: Any) -> None:
    line_id, error = parse_result_line(raw, convert)
    assert isinstance(error, GLMError)
    assert line_id == (None if raw == b"{not json" else custom_id(TOKEN, 4))


def test_collector_refuses_duplicates_strangers_and_both_kinds() -> None:
    span = Span("batch_1", 0, 3)
    collector = Collector([span], TOKEN)
    ok = _line(200, COMPLETION, custom_id(TOKEN, 0))
    failed = _line(429, error_body("1302", None), custom_id(TOKEN, 1))
    for raw in (ok, ok, failed, _line(200, COMPLETION, custom_id(TOKEN, 1))):
        collector.add(raw, span, convert)
    collector.add(_line(200, COMPLETION, custom_id("fedcba9876543210", 2)), span, convert)
    collector.add(_line(200, COMPLETION, custom_id(TOKEN, 7)), span, convert)
    assert list(collector.missing(span, {"id": "batch_1", "status": "completed"}))
    slots = collector.slots
    assert slots is not None
    assert [type(s).__name__ for s in slots] == [
        "BatchIntegrityError",
        "BatchIntegrityError",
        "BatchItemMissingError",
    ]
    assert [s.custom_id for s in slots if isinstance(s, GLMError)] == [
        custom_id(TOKEN, i) for i in range(3)
    ]
    assert len(collector.unmatched) == 2


def test_multipart_round_trips_through_the_emulation_parser() -> None:
    data = "línea 1\r\n{}\n".encode()
    ctype, body = multipart("in.jsonl", data, "b0undary")
    assert multipart_fields(ctype, body) == {"purpose": b"batch", "file": data}
    # httpx's own encoder (independent of ours) parses the same way
    request = httpx.Request(
        "POST", GLMTransport.base_url, data={"purpose": "batch"}, files={"file": data}
    )
    fields = multipart_fields(request.headers["content-type"], request.read())
    assert fields == {"purpose": b"batch", "file": data}


# ------------------------------------------------------------ the emulation, plain httpx


def _upload(http: httpx.Client, lines: list[dict[str, Any]]) -> str:
    content = b"".join(dumps(line) + b"\n" for line in lines)
    answer = http.post("/files", data={"purpose": "batch"}, files={"file": content})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


def _lines(n: int, model: str = "glm-4.6") -> list[dict[str, Any]]:
    return [
        {
            "custom_id": f"c{i}",
            "method": "POST",
            "url": ENDPOINT,
            "body": {"model": model, "messages": [{"role": "user", "content": f"q{i}"}]},
        }
        for i in range(n)
    ]


def _create(http: httpx.Client, file_id: str, **extra: Any) -> dict[str, Any]:
    body = {"input_file_id": file_id, "endpoint": ENDPOINT, **extra}
    answer = http.post("/batches", json=body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_emulation_walks_the_statuses_and_writes_result_files(emulator: Emulator) -> None:
    emulator.reply("first")
    emulator.reply_error(429, "1302")
    with emulator.http() as http:
        file_id = _upload(http, _lines(3))
        batch = _create(http, file_id, metadata={"k": "v"})
        assert batch["status"] == "validating"
        assert batch["metadata"] == {"k": "v"}
        seen = [http.get(f"/batches/{batch['id']}").json()["status"] for _ in range(4)]
        assert seen == ["in_progress", "finalizing", "completed", "completed"]
        done = http.get(f"/batches/{batch['id']}").json()
        assert done["request_counts"] == {"total": 3, "completed": 2, "failed": 1}
        assert http.get(f"/files/{file_id}/content").status_code == 404  # auto-deleted input
        out = http.get(f"/files/{done['output_file_id']}/content").content.splitlines()
        err = http.get(f"/files/{done['error_file_id']}/content").content.splitlines()
    ok = [json.loads(line) for line in out]
    assert [line["custom_id"] for line in ok] == ["c2", "c0"]  # not input order
    assert set(ok[0]) == {"response", "custom_id", "id"}
    assert ok[1]["id"] == batch["id"]
    assert ok[1]["response"]["status_code"] == 200
    assert ok[1]["response"]["body"]["choices"][0]["message"]["content"] == "first"
    assert ok[0]["response"]["body"]["choices"][0]["message"]["content"] == "You said: q2"
    failed = json.loads(err[0])
    assert failed["custom_id"] == "c1"
    assert failed["response"] == {"status_code": 429, "body": error_body("1302", None)}


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        (_lines(2) + _lines(1), "duplicate or missing custom_id 'c0'"),
        ([*_lines(1), _lines(2, "glm-4.5")[1]], "one model"),
        ([{"custom_id": "x", "method": "GET", "url": ENDPOINT, "body": {}}], "method must"),
    ],
)
def test_emulation_fails_validation(
    emulator: Emulator, lines: list[dict[str, Any]], reason: str
) -> None:
    with emulator.http() as http:
        batch = _create(http, _upload(http, lines))
        failed = http.get(f"/batches/{batch['id']}").json()
    assert failed["status"] == "failed"
    assert reason in failed["errors"]["data"][0]["message"]


def test_emulation_rejects_bad_requests(emulator: Emulator) -> None:
    with emulator.http() as http:
        wrong = http.post("/files", data={"purpose": "agent"}, files={"file": b"{}"})
        assert wrong.status_code == 400
        assert http.post("/batches", json={"input_file_id": "nope"}).status_code == 400
        file_id = _upload(http, _lines(1))
        for meta in ({str(i): "v" for i in range(17)}, {"k": 1}, {"k" * 65: "v"}, ["x"]):
            body = {"input_file_id": file_id, "endpoint": ENDPOINT, "metadata": meta}
            assert http.post("/batches", json=body).status_code == 400
        assert http.get("/batches/batch_404").status_code == 404
        assert http.delete("/files/file_404").status_code == 404
        assert http.put("/batches").status_code == 404


def test_emulation_cancel_expire_and_list(emulator: Emulator) -> None:
    emulator.state.update(auto_advance=False, lines_per_step=2)
    with emulator.http() as http:
        one = _create(http, _upload(http, _lines(5)))
        two = _create(http, _upload(http, _lines(5)))
        three = _create(http, _upload(http, _lines(1)))
        advance_batches(emulator.state, steps=2)  # validated, then 2 lines answered
        cancelling = http.post(f"/batches/{one['id']}/cancel").json()
        assert cancelling["status"] == "cancelling"
        advance_batches(emulator.state, one["id"])
        expire_batches(emulator.state, two["id"])
        one, two = (http.get(f"/batches/{b['id']}").json() for b in (one, two))
        page = http.get("/batches", params={"limit": 2}).json()
        rest = http.get("/batches", params={"after": page["last_id"]}).json()
    assert one["status"] == "cancelled"
    assert one["request_counts"] == {"total": 5, "completed": 2, "failed": 0}
    assert two["status"] == "expired"
    assert two["error_file_id"] is None
    assert [b["id"] for b in page["data"]] == [three["id"], two["id"]]
    assert page["has_more"] is True
    assert [b["id"] for b in rest["data"]] == [one["id"]]
    assert rest["has_more"] is False


def test_emulation_lists_files_by_name_newest_first(emulator: Emulator) -> None:
    content = b"".join(dumps(line) + b"\n" for line in _lines(1))
    with emulator.http() as http:
        made = [
            http.post("/files", data={"purpose": "batch"}, files={"file": (name, content)}).json()
            for name in ("a.jsonl", "b.jsonl", "c.jsonl")
        ]
        page = http.get("/files", params={"purpose": "batch", "limit": 2}).json()
        rest = http.get("/files", params={"purpose": "batch", "after": page["data"][-1]["id"]})
        other = http.get("/files", params={"purpose": "agent"}).json()
    assert [f["filename"] for f in made] == ["a.jsonl", "b.jsonl", "c.jsonl"]
    assert [f["filename"] for f in page["data"]] == ["c.jsonl", "b.jsonl"]
    assert page["has_more"] is True
    assert set(page["data"][0]) == {"id", "object", "bytes", "created_at", "filename", "purpose"}
    assert page["data"][0]["bytes"] == len(content)
    assert [f["id"] for f in rest.json()["data"]] == [made[0]["id"]]
    assert rest.json()["has_more"] is False
    assert other["data"] == []


def test_span_of_reads_only_well_formed_metadata() -> None:
    meta = {"langchain_glm_start": "3", "langchain_glm_count": "2", "langchain_glm_token": TOKEN}
    assert span_of({"id": "b", "metadata": meta}) == (Span("b", 3, 2), TOKEN)
    assert span_of({"metadata": meta})[0] is not None  # a listed object without id: no KeyError
    bad: Any
    for bad in (None, [], {"langchain_glm_start": 3}, {**meta, "langchain_glm_count": "²"}):
        assert span_of({"id": "b", "metadata": bad}) == (None, None)
    assert span_of({"id": "b", "metadata": {**meta, "langchain_glm_token": "x"}})[1] is None


def test_lines_of_no_input_are_counted_but_kept_only_up_to_a_cap() -> None:
    span = Span("batch_1", 0, 1)
    collector = Collector([span], TOKEN)
    for n in range(MAX_UNMATCHED + 50):
        collector.add(_line(200, COMPLETION, f"stranger-{n}"), span, convert)
    assert len(collector.unmatched) == MAX_UNMATCHED
    assert collector.refused == MAX_UNMATCHED + 50
    [(_, missing)] = collector.missing(span, {"id": "batch_1", "status": "completed"})
    assert f"{MAX_UNMATCHED + 50} result lines matched no input" in str(missing)


def test_which_poll_failures_are_polled_through() -> None:
    through = [
        GLMTimeoutError("t", retryable=False),
        GLMConnectionError("reset", retryable=False),
        GLMRateLimitError("busy", status_code=429),
        GLMAPIError("5xx", status_code=503),
        GLMAPIError("garbage", status_code=200),
        GLMAPIError("garbage"),
    ]
    stop = [
        GLMAuthenticationError("key", status_code=401),
        GLMNotFoundError("gone", status_code=404),
    ]
    assert [transient(e) for e in through] == [True] * len(through)
    assert [transient(e) for e in stop] == [False] * len(stop)
