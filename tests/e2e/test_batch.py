"""GLM's Batch API end to end: ChatGLM -> httpx -> the emulated files and batches routes.

`backend` serves chat completions and the Batch API in process (`GLMTransport`, through
`tests.unit_tests.test_batch.Emulator`); tests/e2e/test_batch_server.py runs the same tests
over loopback HTTP against the GLM test server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import types
from typing import Any

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel

from langchain_glm import ChatGLM
from langchain_glm._errors import GLMAuthenticationError, GLMRateLimitError
from langchain_glm.batch import (
    BatchFailedError,
    BatchItemMissingError,
    BatchJob,
    BatchTimeoutError,
    dumps,
)
from langchain_glm.testing import auto_reply
from langchain_glm.testing._batch import advance_batches, expire_batches, multipart_fields
from tests.unit_tests.test_batch import COMPLETION, Emulator

FAST = 0.01
"""Poll interval for tests: the emulation advances one status per poll."""


@pytest.fixture
def backend() -> Emulator:
    return Emulator()


def _uploads(backend: Any) -> list[bytes]:
    """The JSONL files uploaded so far, from the recorded multipart requests."""
    found = []
    for request in backend.requests:
        if request.method == "POST" and request.path.endswith("/files"):
            fields = multipart_fields(request.headers["content-type"], request.body)
            assert fields["purpose"] == b"batch"
            found.append(fields["file"])
    return found


def _texts(results: list[Any]) -> list[str]:
    return [str(r.content) if isinstance(r, AIMessage) else type(r).__name__ for r in results]


def test_thousand_prompts_come_back_in_input_order(backend: Any) -> None:
    llm = backend.llm()
    prompts = [f"prompt {i}" for i in range(1000)]
    job = llm.batch_submit(prompts, max_tokens=20)
    assert job.status == "validating"
    assert job.request_counts == {"total": 1000, "completed": 0, "failed": 0}
    results = job.wait(poll_interval=FAST).results(return_exceptions=False)
    assert job.status == "completed"
    assert job.request_counts == {"total": 1000, "completed": 1000, "failed": 0}
    assert _texts(results) == [f"You said: prompt {i}" for i in range(1000)]
    assert results[7].additional_kwargs["reasoning_content"].startswith("The user said: prompt 7")
    created = next(r.json for r in backend.requests if r.path.endswith("/batches"))
    assert created["endpoint"] == "/v4/chat/completions"
    assert created["auto_delete_input_file"] is True
    lines = _uploads(backend)[0].splitlines()
    assert len(lines) == 1000
    token = job.batches[0]["metadata"]["langchain_glm_token"]
    assert json.loads(lines[999])["custom_id"] == f"lcg-{token}-000999"
    assert {json.loads(line)["body"]["max_tokens"] for line in lines} == {20}
    deleted = [r.path for r in backend.requests if r.method == "DELETE"]
    assert len(deleted) == 1  # the output file (the input was auto-deleted)
    assert job.results() == results  # read once, kept in the job


def test_over_the_limit_splits_into_batches_under_one_job(backend: Any) -> None:
    llm = backend.llm()
    job = llm.batch_submit([f"p{i}" for i in range(100)], max_requests_per_batch=40)
    assert job.id.startswith("glmjob:")
    assert len(job.batches) == 3
    assert job.request_counts["total"] == 100
    assert [len(f.splitlines()) for f in _uploads(backend)] == [40, 40, 20]
    results = job.wait(poll_interval=FAST).results()
    assert _texts(results) == [f"You said: p{i}" for i in range(100)]


def test_split_by_bytes(backend: Any) -> None:
    job = backend.llm().batch_submit(["x" * 200] * 10, max_bytes_per_batch=1000)
    sizes = [len(f) for f in _uploads(backend)]
    assert len(sizes) == len(job.batches) > 1
    assert max(sizes) <= 1000
    assert sum(len(f.splitlines()) for f in _uploads(backend)) == 10


def test_mixed_successes_and_failures_keep_their_positions(backend: Any) -> None:
    backend.reply("zero")
    backend.reply_error(429, "1302")
    backend.reply("two")
    backend.reply_error(401, "1002")
    job = backend.llm().batch_submit(["a", "b", "c", "d", "e"]).wait(poll_interval=FAST)
    assert job.request_counts == {"total": 5, "completed": 3, "failed": 2}
    results = job.results()
    assert _texts(results) == [
        "zero",
        "GLMRateLimitError",
        "two",
        "GLMAuthenticationError",
        "You said: e",
    ]
    assert results[1].code == "1302"
    assert results[1].status_code == 429
    with pytest.raises(GLMRateLimitError, match="1302"):
        job.results(return_exceptions=False)


def test_resume_from_the_id_in_a_fresh_chatglm(backend: Any) -> None:
    job = backend.llm().batch_submit(["a", "b", "c"], max_requests_per_batch=2)
    resumed = backend.llm().batch_retrieve(job.id)
    assert resumed.id == job.id
    assert resumed.request_counts["total"] == 3
    assert _texts(resumed.wait(poll_interval=FAST).results()) == [
        "You said: a",
        "You said: b",
        "You said: c",
    ]
    with pytest.raises(ValueError, match="not a GLM batch job id"):
        backend.llm().batch_retrieve("glmjob:a b")


def test_cancel_reports_missing_lines(backend: Any) -> None:
    backend.state.update(auto_advance=False, lines_per_step=1)
    job = backend.llm().batch_submit(["a", "b", "c"])
    advance_batches(backend.state, steps=2)  # validated, then one line answered
    assert job.cancel().status == "cancelling"
    backend.state["auto_advance"] = True
    results = job.wait(poll_interval=FAST).results()
    assert job.status == "cancelled"
    assert isinstance(results[0], AIMessage)
    assert [type(r) for r in results[1:]] == [BatchItemMissingError] * 2
    assert "ended cancelled with 1 completed and 0 failed of 3" in str(results[2])
    token = job.batches[0]["metadata"]["langchain_glm_token"]
    assert f"lcg-{token}-000002" in str(results[2])


def test_expired_batch_reports_counts(backend: Any) -> None:
    backend.state.update(auto_advance=False, lines_per_step=2)
    job = backend.llm().batch_submit(["a", "b", "c", "d"])
    advance_batches(backend.state, steps=2)
    expire_batches(backend.state)
    job.refresh()
    assert job.status == "expired"
    assert job.done
    results = job.results()
    assert _texts(results)[:2] == ["You said: a", "You said: b"]
    assert "ended expired with 2 completed" in str(results[3])
    with pytest.raises(BatchItemMissingError):
        job.results(return_exceptions=False)


def test_validation_failure_is_a_clear_error(backend: Any) -> None:
    body = {"model": "glm-4.6", "messages": [{"role": "user", "content": "hi"}]}
    line = {"custom_id": "req-000000", "method": "POST", "url": "/v4/chat/completions"}
    content = b"".join(dumps({**line, "body": body}) + b"\n" for _ in range(2))
    with backend.http() as http:
        file_id = http.post("/files", data={"purpose": "batch"}, files={"file": content})
        batch = http.post(
            "/batches",
            json={"input_file_id": file_id.json()["id"], "endpoint": "/v4/chat/completions"},
        ).json()
    job = backend.llm().batch_retrieve(batch["id"]).wait(poll_interval=FAST)
    assert job.status == "failed"
    with pytest.raises(BatchFailedError, match="duplicate or missing custom_id") as raised:
        job.results(return_exceptions=False)
    assert raised.value.batch_id == batch["id"]


def test_results_before_the_end_and_bad_input_fail_before_sending(backend: Any) -> None:
    llm = backend.llm()
    with pytest.raises(ValueError, match="at least one input"):
        llm.batch_submit([])
    with pytest.raises(ValueError, match="max_tokens=0"):
        llm.batch_submit(["a"], max_tokens=0)
    assert backend.requests == []
    backend.state["auto_advance"] = False
    job = llm.batch_submit(["a"])
    with pytest.raises(ValueError, match="call wait"):
        job.results()
    with pytest.raises(BatchTimeoutError, match="still validating") as raised:
        job.wait(poll_interval=FAST, timeout=0.05)
    assert raised.value.job_id == job.id


def test_polling_survives_transient_errors(backend: Any, caplog: pytest.LogCaptureFixture) -> None:
    llm = backend.llm(max_retries=0)
    job = llm.batch_submit(["a"])
    backend.fail("/batches/", 503, "1234")
    backend.fail("/batches/", 429, "1305")
    with caplog.at_level(logging.INFO, logger="langchain_glm"):
        job.wait(poll_interval=FAST)
    assert job.status == "completed"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "polling on" in warnings[0]
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert info[-1] == f"GLM batch job {job.id}: completed, 1 of 1 done (0 failed)"
    backend.state["auto_advance"] = False
    other = llm.batch_submit(["b"])
    backend.fail("/batches/", 401, "1002")
    with pytest.raises(GLMAuthenticationError):
        other.wait(poll_interval=FAST)


def test_keep_files(backend: Any) -> None:
    job = backend.llm().batch_submit(["a"]).wait(poll_interval=FAST)
    job.results(keep_files=True)
    output = job.batches[0]["output_file_id"]
    assert output in backend.state["files"]
    assert not [r for r in backend.requests if r.method == "DELETE"]


async def test_async_twins(backend: Any) -> None:
    llm = backend.llm()
    job = await llm.abatch_submit(["a", "b", "c"], max_requests_per_batch=2)
    resumed = await llm.abatch_retrieve(job.id)
    await resumed.await_completion(poll_interval=FAST)
    assert _texts(await resumed.aresults()) == ["You said: a", "You said: b", "You said: c"]
    assert (await job.arefresh()).status == "completed"
    backend.state["auto_advance"] = False
    other = await llm.abatch_submit(["d"])
    assert (await other.acancel()).status == "cancelling"
    advance_batches(backend.state)
    await other.await_completion(poll_interval=FAST)
    assert [type(r) for r in await other.aresults()] == [BatchItemMissingError]


def _invoke_body(backend: Any, llm: Any, value: Any, **kwargs: Any) -> bytes:
    llm.invoke(value, **kwargs)
    return bytes(backend.requests[-1].body)


WEATHER = {
    "title": "weather",
    "description": "Get the weather.",
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}


def test_each_line_body_is_byte_for_byte_the_invoke_body(backend: Any) -> None:
    llm = backend.llm(temperature=0.2)
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{q}")])
    inputs: list[Any] = [
        "héllo 世界",
        [SystemMessage("sys"), HumanMessage("two")],
        prompt.invoke({"q": "three"}),
    ]
    options = {"max_tokens": 64, "thinking": False, "stop": ["END"], "tools": [WEATHER]}
    expected = [_invoke_body(backend, llm, value, **options) for value in inputs]
    llm.batch_submit(inputs, **options, stream_options={"include_usage": True})
    lines = _uploads(backend)[0].splitlines()
    for line, body in zip(lines, expected, strict=True):
        assert line.endswith(b',"body":' + body + b"}")
    assert b"stream_options" not in lines[0]


def test_bound_tools_reach_the_lines_through_the_drop_in_batch(backend: Any) -> None:
    tools_llm = backend.llm(use_batch_api=True, batch_poll_interval=FAST).bind_tools([WEATHER])
    expected = _invoke_body(backend, tools_llm, "Weather in Rome?")
    backend.script(auto_reply)
    results = tools_llm.batch(["Weather in Rome?"])
    line = _uploads(backend)[0].strip()
    assert line.endswith(b',"body":' + expected + b"}")
    assert results[0].tool_calls[0]["name"] == "weather"


def test_batch_message_is_the_invoke_message(backend: Any) -> None:
    for version in ("v0", "v1"):
        llm = backend.llm(output_version=version)
        backend.reply_raw(dumps(COMPLETION), times=2)
        expected = llm.invoke("q")
        got = llm.batch_submit(["q"]).wait(poll_interval=FAST).results()[0]
        assert got == expected
        assert got.response_metadata == expected.response_metadata


class Movie(BaseModel):
    """A movie."""

    title: str
    year: int


# function_calling binds the schema tool through bind_tools, which warns once per model that
# the forced tool_choice is sent as "auto".
@pytest.mark.filterwarnings(
    "ignore:GLM accepts only tool_choice='auto':langchain_glm.GLMCompatibilityWarning"
)
@pytest.mark.parametrize("method", ["function_calling", "json_mode"])
def test_drop_in_batch_matches_plain_batch(backend: Any, method: str) -> None:
    backend.script(auto_reply)
    prompts = ["one", "two", "three"]
    plain = backend.llm().batch(prompts)
    via_api = backend.llm(use_batch_api=True, batch_poll_interval=FAST).batch(prompts)
    assert _texts(via_api) == _texts(plain)
    assert [m.additional_kwargs for m in via_api] == [m.additional_kwargs for m in plain]
    structured = backend.llm(use_batch_api=True, batch_poll_interval=FAST)
    movies = structured.with_structured_output(Movie, method=method).batch(prompts)
    assert all(isinstance(m, Movie) for m in movies)
    assert len(_uploads(backend)) == 2


def test_drop_in_batch_honours_return_exceptions(backend: Any) -> None:
    llm = backend.llm(use_batch_api=True, batch_poll_interval=FAST, max_retries=0)
    backend.reply("ok")
    backend.reply_error(429, "1302")
    results = llm.batch(["a", "b"], return_exceptions=True)
    assert _texts(results) == ["ok", "GLMRateLimitError"]
    assert isinstance(results[1], GLMRateLimitError)
    assert results[1].job_id is not None
    backend.reply_error(429, "1302")
    with pytest.raises(GLMRateLimitError) as raised:
        llm.batch(["a"])
    assert raised.value.job_id is not None
    assert raised.value.job_id in str(raised.value)
    assert str(raised.value.custom_id) in str(raised.value)
    assert llm.batch([]) == []


async def test_drop_in_abatch(backend: Any) -> None:
    llm = backend.llm(use_batch_api=True, batch_poll_interval=FAST)
    results = await llm.abatch(["x", "y"])
    assert _texts(results) == ["You said: x", "You said: y"]
    assert len(_uploads(backend)) == 1


def test_job_repr_and_constructor_are_public(backend: Any) -> None:
    job = backend.llm().batch_submit(["a"])
    assert repr(job) == (
        f"BatchJob(id={job.id!r}, status='validating', {{'total': 1, 'completed': 0, 'failed': 0}})"
    )
    assert isinstance(job, BatchJob)
    assert "test" not in repr(job)  # no API key
    assert isinstance(ChatGLM(use_batch_api=True).use_batch_api, bool)


class Runs(BaseCallbackHandler):
    """Records what each run start says, and how each run ends."""

    raise_error = True

    def __init__(self) -> None:
        self.starts: list[tuple[Any, ...]] = []
        self.ends: list[str] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kw: Any) -> None:
        meta = kw["metadata"]
        text = messages[0][-1].content
        params = json.dumps(kw["invocation_params"], sort_keys=True)
        self.starts.append((text, kw["tags"], json.dumps(meta, sort_keys=True), kw["name"], params))

    def on_llm_end(self, response: Any, **kw: Any) -> None:
        self.ends.append(response.generations[0][0].message.text)

    def on_llm_error(self, error: BaseException, **kw: Any) -> None:
        self.ends.append(type(error).__name__)


def _configs(runs: Runs) -> list[RunnableConfig]:
    return [
        {"callbacks": [runs], "tags": [f"t{i}"], "metadata": {"n": i}, "run_name": f"r{i}"}
        for i in range(3)
    ]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_drop_in_fires_the_callbacks_core_batch_fires(backend: Any, mode: str) -> None:
    core, ours = Runs(), Runs()
    prompts = ["a", "b", "c"]
    backend.llm(max_retries=0).batch(prompts, _configs(core))
    llm = backend.llm(use_batch_api=True, batch_poll_interval=FAST, max_retries=0)
    backend.reply("ok a")
    backend.reply_error(429, "1302")
    backend.reply("ok c")
    if mode == "sync":
        got = llm.batch(prompts, _configs(ours), return_exceptions=True)
    else:
        got = asyncio.run(llm.abatch(prompts, _configs(ours), return_exceptions=True))
    assert sorted(ours.starts) == sorted(core.starts)
    assert ours.ends == ["ok a", "GLMRateLimitError", "ok c"]
    assert _texts(got) == ["ok a", "GLMRateLimitError", "ok c"]


def test_results_are_copies_a_caller_may_change(backend: Any) -> None:
    llm = backend.llm()
    job = llm.batch_submit(["a", "b"]).wait(poll_interval=FAST)
    first = job.results(keep_files=True)
    pristine = [m.model_dump() for m in first]
    for message in first:
        assert isinstance(message, AIMessage)
        message.content = "changed"
        message.response_metadata["model_name"] = "changed"
        message.additional_kwargs["x"] = 1
        if message.usage_metadata:
            message.usage_metadata["total_tokens"] = -1
    assert [m.model_dump() for m in job.results()] == pristine
    later = llm.batch_submit(["a", "b"]).wait(poll_interval=FAST).results()
    assert _texts(later) == ["You said: a", "You said: b"]
    assert all(m.response_metadata["model_name"] != "changed" for m in later)


def test_progress_bar_only_when_asked(backend: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    job = backend.llm().batch_submit(["a"])
    monkeypatch.setitem(sys.modules, "tqdm", None)  # tqdm missing
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match=r"langchain-glm\[progress\]"):
        job.wait(poll_interval=FAST, progress=True)
    bars: list[Any] = []

    class Bar:
        def __init__(self, **kw: Any) -> None:
            bars.append(self)
            self.total, self.n, self.closed = kw["total"], 0, False

        def set_postfix_str(self, text: str) -> None:
            self.status = text

        def close(self) -> None:
            self.closed = True

    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", types.SimpleNamespace(tqdm=Bar))
    job.wait(poll_interval=FAST)
    assert bars == []  # installed, but not asked for
    other = backend.llm().batch_submit(["b"])
    other.wait(poll_interval=FAST, progress=True)
    assert len(bars) == 1
    assert (bars[0].n, bars[0].status, bars[0].closed) == (1, "completed", True)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_iter_results_streams_and_never_deletes(backend: Any, mode: str) -> None:
    llm = backend.llm()
    job = llm.batch_submit(["a", "b", "c"], max_requests_per_batch=2).wait(poll_interval=FAST)

    async def collect() -> list[tuple[int, Any]]:
        return [pair async for pair in job.aiter_results()]

    pairs = list(job.iter_results()) if mode == "sync" else asyncio.run(collect())
    assert sorted((i, str(m.content)) for i, m in pairs) == [
        (0, "You said: a"),
        (1, "You said: b"),
        (2, "You said: c"),
    ]
    assert not [r for r in backend.requests if r.method == "DELETE"]
    if mode == "sync":
        job.delete_files()
    else:
        asyncio.run(job.adelete_files())
    outputs = [b["output_file_id"] for b in job.batches]
    assert [r.path.rsplit("/", 1)[-1] for r in backend.requests if r.method == "DELETE"] == outputs
    assert not set(outputs) & set(backend.state["files"])


class Interrupted(Emulator):
    """The emulation, with a Ctrl-C arriving during the first status poll."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and "/batches/" in request.url.path:
            raise KeyboardInterrupt
        return super().handle_request(request)


def test_an_interrupted_wait_names_the_job() -> None:
    llm = Interrupted().llm()
    job = llm.batch_submit(["a"])
    with pytest.raises(KeyboardInterrupt) as raised:
        job.wait(poll_interval=FAST)
    assert any(job.id in note and "batch_retrieve" in note for note in raised.value.__notes__)


async def test_a_cancelled_await_completion_names_the_job(backend: Any) -> None:
    backend.state["auto_advance"] = False
    job = await backend.llm().abatch_submit(["a"])
    task = asyncio.ensure_future(job.await_completion(poll_interval=30))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError) as raised:
        await task
    assert any(job.id in note for note in raised.value.__notes__)
