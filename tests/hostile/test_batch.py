"""The Batch API against a hostile raw-socket server: every attack on a paid job, sync and async.

Every test fails on the Batch API as it shipped (results deleted before they were read, one bad
line spoiling the job, duplicates and strangers accepted, creates re-sent blindly, ...).
"""

from __future__ import annotations

import asyncio
import logging
import tracemalloc
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig

from langchain_glm import ChatGLM
from langchain_glm._errors import (
    BatchIntegrityError,
    BatchItemMissingError,
    BatchTimeoutError,
    GLMAPIError,
    GLMAuthenticationError,
    GLMBatchCleanupWarning,
    GLMError,
    GLMInvalidRequestError,
    GLMRateLimitError,
)
from langchain_glm.batch import MAX_LINE_BYTES, BatchJob, Result
from tests.hostile import batch_server as b
from tests.hostile import server as s
from tests.hostile.server import HostileServer

KEY = "hostile-batch-key-5e1c0a.9f86d081884c7d65"


@pytest.fixture
def routes(hostile: HostileServer) -> b.Routes:
    table = b.Routes()
    hostile.default = table
    return table


def model(server: HostileServer, **kwargs: Any) -> ChatGLM:
    options: dict[str, Any] = {"timeout": 5.0, "max_retries": 0}
    return ChatGLM(model="glm-4.6", base_url=server.base_url, api_key=KEY, **{**options, **kwargs})


def run(mode: str, sync: Callable[[], Any], coro: Callable[[], Any]) -> Any:
    """Call the sync twin, or run the async one in a fresh event loop."""
    if mode == "sync":
        return sync()
    return asyncio.run(asyncio.wait_for(coro(), 60))


def retrieve(llm: ChatGLM, mode: str, job_id: str) -> BatchJob:
    job: BatchJob = run(
        mode, lambda: llm.batch_retrieve(job_id), lambda: llm.abatch_retrieve(job_id)
    )
    return job


def results(job: BatchJob, mode: str, **kw: Any) -> list[Result]:
    items: list[Result] = run(mode, lambda: job.results(**kw), lambda: job.aresults(**kw))
    return items


def texts(items: list[Result]) -> list[str]:
    return [i.text if isinstance(i, AIMessage) else type(i).__name__ for i in items]


def done_job(routes: b.Routes, llm: ChatGLM, mode: str, err: str | None = None) -> BatchJob:
    routes.on("GET batches/batch_1", b.batch(err=err))
    return retrieve(llm, mode, "batch_1")


# --------------------------------------------------------------------- nothing paid is lost


def test_a_reset_mid_error_file_deletes_nothing_and_results_come_later(
    hostile: HostileServer, routes: b.Routes, mode: str
) -> None:
    job = done_job(routes, llm := model(hostile), mode, err="file_err")
    routes.on(
        "GET files/file_out/content", s.body(200, b.jsonl(b.line(b.cid(0)), b.line(b.cid(1))))
    )
    err = b.jsonl(b.failed(b.cid(2)))
    routes.on("GET files/file_err/content", b.cut_then_reset(200, err, 10), s.body(200, err))
    routes.on("DELETE files/file_out", {"deleted": True})
    routes.on("DELETE files/file_err", {"deleted": True})
    with pytest.raises(GLMError) as raised:
        results(job, mode)
    assert raised.value.job_id == "batch_1"
    assert "batch_1" in str(raised.value)
    assert not any(r.startswith("DELETE") for r in routes.seen)
    again = results(retrieve(llm, mode, "batch_1"), mode)  # as a fresh process would
    assert texts(again)[:2] == [f"answer {b.cid(0)}", f"answer {b.cid(1)}"]
    assert isinstance(again[2], GLMRateLimitError)
    assert again[2].custom_id == b.cid(2)
    assert routes.seen[-2:] == ["DELETE files/file_out", "DELETE files/file_err"]


BAD_LINES: dict[str, bytes] = {
    "network_error": b.jsonl(
        b.line(
            b.cid(2),
            {
                **b.answer("x"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "network_error",
                        "message": {"role": "assistant", "content": "x"},
                    }
                ],
            },
        )
    ),
    "not json": b"{oops\n",
    "truncated": b'{"custom_id": "'
    + b.cid(2).encode()
    + b'", "response": {"status_code": 200, "body": {"choi\n',
    "body is text": b.jsonl(b.line(b.cid(2), "text")),
    "choices [null]": b.jsonl(b.line(b.cid(2), {"choices": [None]})),
    "status as text": b.jsonl(b.line(b.cid(2), b.answer("x"), "200")),
    "response a list": b.jsonl({"custom_id": b.cid(2), "response": []}),
}


@pytest.mark.parametrize("kind", list(BAD_LINES))
def test_one_bad_line_spoils_only_its_slot(
    hostile: HostileServer, routes: b.Routes, mode: str, kind: str
) -> None:
    job = done_job(routes, model(hostile), mode, err="file_err")
    routes.on(
        "GET files/file_out/content", s.body(200, b.jsonl(b.line(b.cid(0)), b.line(b.cid(1))))
    )
    routes.on("GET files/file_err/content", s.body(200, BAD_LINES[kind]))
    items = results(job, mode, keep_files=True)
    assert texts(items)[:2] == [f"answer {b.cid(0)}", f"answer {b.cid(1)}"]
    assert isinstance(items[2], GLMError)
    assert items[2].custom_id == b.cid(2)
    assert b.cid(2) in str(items[2])
    with pytest.raises(GLMError) as raised:  # the first error, after every line was read
        results(job, mode, return_exceptions=False)
    assert raised.value.custom_id == b.cid(2)


def test_a_lost_delete_reply_is_a_warning(
    hostile: HostileServer, routes: b.Routes, mode: str
) -> None:
    job = done_job(routes, model(hostile), mode)
    content = b.jsonl(*(b.line(b.cid(i)) for i in range(3)))
    routes.on("GET files/file_out/content", s.body(200, content))
    routes.on("DELETE files/file_out", b.reset_now())
    with pytest.warns(GLMBatchCleanupWarning, match="file_out"):
        items = results(job, mode)
    assert texts(items) == [f"answer {b.cid(i)}" for i in range(3)]
    assert results(job, mode) == items  # kept in the job
    assert routes.count("GET files/file_out/content") == 1


class Recorder(BaseCallbackHandler):
    """Records run starts, ends and errors."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kw: Any) -> None:
        self.events.append(("start", (kw.get("tags"), kw.get("metadata"), kw.get("name"))))

    def on_llm_end(self, response: Any, *, run_id: UUID, **kw: Any) -> None:
        self.events.append(("end", response.generations[0][0].message.text))

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        self.events.append(("error", type(error).__name__))


def test_the_drop_in_names_the_job_on_failure(
    hostile: HostileServer, routes: b.Routes, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    llm = model(hostile, use_batch_api=True, batch_poll_interval=0.01)
    routes.on("POST files", {"id": "file_in", "object": "file"})
    routes.on("POST batches", routes.created("batch_7"))
    routes.on(
        "GET batches/batch_7", s.json_reply({"error": {"code": "1001", "message": "no"}}, 401)
    )
    recorder = Recorder()
    config: RunnableConfig = {"callbacks": [recorder]}
    with (
        caplog.at_level(logging.INFO, "langchain_glm"),
        pytest.raises(GLMAuthenticationError) as raised,
    ):
        run(mode, lambda: llm.batch(["a", "b"], config), lambda: llm.abatch(["a", "b"], config))
    assert raised.value.job_id == "batch_7"
    assert "batch_7" in str(raised.value)
    assert any("batch_7" in r.getMessage() and r.levelno == logging.INFO for r in caplog.records)
    assert [e for e, _ in recorder.events] == ["start", "start", "error", "error"]


# ----------------------------------------------------------- attached to its own input


def test_a_duplicate_custom_id_is_refused(
    hostile: HostileServer, routes: b.Routes, mode: str
) -> None:
    job = done_job(routes, model(hostile), mode)
    content = b.jsonl(
        b.line(b.cid(0), b.answer("first")),
        b.line(b.cid(0), b.answer("second")),
        b.line(b.cid(1)),
        b.line(b.cid(2)),
    )
    routes.on("GET files/file_out/content", s.body(200, content))
    items = results(job, mode, keep_files=True)
    assert isinstance(items[0], BatchIntegrityError)
    assert items[0].custom_id == b.cid(0)
    assert texts(items)[1:] == [f"answer {b.cid(1)}", f"answer {b.cid(2)}"]


def test_an_error_line_never_replaces_an_answer(
    hostile: HostileServer, routes: b.Routes, mode: str
) -> None:
    job = done_job(routes, model(hostile), mode, err="file_err")
    routes.on(
        "GET files/file_out/content", s.body(200, b.jsonl(*(b.line(b.cid(i)) for i in range(3))))
    )
    routes.on("GET files/file_err/content", s.body(200, b.jsonl(b.failed(b.cid(1)))))
    items = results(job, mode, keep_files=True)
    assert isinstance(items[1], BatchIntegrityError)
    assert items[1].custom_id == b.cid(1)
    assert "both an answer and an error" in str(items[1])
    assert texts(items)[::2] == [f"answer {b.cid(0)}", f"answer {b.cid(2)}"]


def test_custom_ids_never_sent_are_refused(
    hostile: HostileServer, routes: b.Routes, mode: str
) -> None:
    job = done_job(routes, model(hostile), mode)
    strangers = [b.cid(7), b.cid(2, token="ffffffffffffffff"), "req-²", "req-000002"]
    content = b.jsonl(b.line(b.cid(0)), b.line(b.cid(1)), *(b.line(x) for x in strangers))
    routes.on("GET files/file_out/content", s.body(200, content))
    items = results(job, mode, keep_files=True)
    assert texts(items)[:2] == [f"answer {b.cid(0)}", f"answer {b.cid(1)}"]
    assert isinstance(items[2], BatchItemMissingError)
    assert items[2].custom_id == b.cid(2)
    assert "4 result lines matched no input" in str(items[2])
    assert [e.custom_id for e in job.unmatched] == strangers


def test_joined_job_ids_are_refused(hostile: HostileServer, routes: b.Routes, mode: str) -> None:
    llm = model(hostile)
    for joined in ("glmjob:batch_a@0+3,batch_b@0+3", ".", "..", "glmjob:batch_a,../files"):
        with pytest.raises(ValueError, match=r"job id|not one job"):
            retrieve(llm, mode, joined)
    assert routes.seen == []  # refused before anything was sent
    routes.on("GET batches/batch_a", b.batch("batch_a"))
    routes.on("GET batches/batch_b", b.batch("batch_b", out="file_b"))  # also positions 0..2
    with pytest.raises(ValueError, match="not one job"):
        retrieve(llm, mode, "glmjob:batch_a,batch_b")
    other = {**b.batch("batch_c", start=3), "metadata": b.meta(3, 3, "0000000000000000")}
    routes.on("GET batches/batch_c", other)
    with pytest.raises(ValueError, match="not one job"):
        retrieve(llm, mode, "glmjob:batch_a@0+3,batch_c@3+3")


# ------------------------------------------------------------------- never billed twice


def _lost_create(routes: b.Routes) -> s.Play:
    """A `POST batches` that creates the batch, then answers 502 (its outcome unknown)."""

    async def play(w: s.Writer, raw: bytes) -> bool:
        listed = {
            **b.batch("batch_9", "validating", out=None),
            "metadata": b.request_json(raw)["metadata"],
        }
        routes.on(
            "GET batches",
            {"object": "list", "data": [b.batch("batch_8"), listed], "has_more": False},
        )
        return await s.json_reply({"error": {"code": "500", "message": "bad gateway"}}, 502)(w, raw)

    return play


def test_a_502_on_create_is_looked_up_not_resent(
    hostile: HostileServer, routes: b.Routes, mode: str
) -> None:
    llm = model(hostile, max_retries=2)
    routes.on("POST files", {"id": "file_in", "object": "file"})
    routes.on("POST batches", _lost_create(routes))
    job = run(mode, lambda: llm.batch_submit(["a", "b"]), lambda: llm.abatch_submit(["a", "b"]))
    assert job.id == "batch_9"
    assert routes.count("POST batches") == 1
    assert routes.count("GET batches") == 1


def test_a_502_on_upload_is_looked_up_not_resent(
    hostile: HostileServer, routes: b.Routes, mode: str
) -> None:
    llm = model(hostile, max_retries=2)
    routes.on("POST files", routes.stored_then_lost("file_in", before=2))
    routes.on("POST batches", routes.created("batch_9"))
    job = run(mode, lambda: llm.batch_submit(["a", "b"]), lambda: llm.abatch_submit(["a", "b"]))
    assert job.id == "batch_9"
    assert routes.seen == ["POST files", "GET files", "GET files", "POST batches"]
    assert b.request_json(b"\r\n\r\n" + routes.bodies[-1])["input_file_id"] == "file_in"
    listed = [t for t in routes.targets if t.startswith(b.PREFIX + "files?")]
    assert all("purpose=batch" in t for t in listed)
    assert "after=file_other1" in listed[1]
    name, _ = b.upload_of(b"\r\n\r\n" + routes.bodies[0])
    token = b.request_json(b"\r\n\r\n" + routes.bodies[-1])["metadata"]["langchain_glm_token"]
    assert name == f"langchain-glm-{token}-000.jsonl"


def test_an_upload_not_found_after_a_reset_is_sent_again(
    hostile: HostileServer, routes: b.Routes, mode: str
) -> None:
    llm = model(hostile, max_retries=2)
    routes.on("POST files", b.reset_now(), {"id": "file_in", "object": "file"})
    others = [b.file_object("file_x", "langchain-glm-0000000000000000-000.jsonl", 5)]
    routes.on("GET files", {"object": "list", "data": others, "has_more": False})
    routes.on("POST batches", routes.created("batch_9"))
    job = run(mode, lambda: llm.batch_submit(["a"]), lambda: llm.abatch_submit(["a"]))
    assert job.id == "batch_9"
    assert routes.seen == ["POST files", "GET files", "POST files", "POST batches"]
    assert routes.bodies[0] == routes.bodies[2]  # the same file, under the same name
    assert b.upload_of(b"\r\n\r\n" + routes.bodies[0])[0].startswith("langchain-glm-")


def test_an_upload_that_cannot_be_checked_is_not_resent(
    hostile: HostileServer, routes: b.Routes, mode: str
) -> None:
    llm = model(hostile, max_retries=2)
    routes.on("POST files", s.json_reply({"error": {"code": "500", "message": "x"}}, 502))
    routes.on("GET files", s.json_reply({"error": {"code": "500", "message": "down"}}, 503))
    with pytest.raises(GLMAPIError) as raised:
        run(mode, lambda: llm.batch_submit(["a"]), lambda: llm.abatch_submit(["a"]))
    assert routes.count("POST files") == 1  # the list GET is retried, the upload never
    assert set(routes.seen) == {"POST files", "GET files"}
    assert any("may exist" in note for note in getattr(raised.value, "__notes__", []))


def test_a_create_that_surely_failed_deletes_its_upload(
    hostile: HostileServer, routes: b.Routes, mode: str
) -> None:
    llm = model(hostile)
    routes.on("POST files", {"id": "file_in", "object": "file"})
    routes.on("POST batches", s.json_reply({"error": {"code": "1210", "message": "bad"}}, 400))
    routes.on("DELETE files/file_in", {"deleted": True})
    with pytest.raises(GLMInvalidRequestError):
        run(mode, lambda: llm.batch_submit(["a"]), lambda: llm.abatch_submit(["a"]))
    assert routes.seen == ["POST files", "POST batches", "DELETE files/file_in"]


def test_cancel_tries_every_batch(hostile: HostileServer, routes: b.Routes, mode: str) -> None:
    llm = model(hostile)
    for n, bid in enumerate(("batch_a", "batch_b", "batch_c")):
        routes.on(f"GET batches/{bid}", b.batch(bid, "in_progress", start=3 * n, out=None))
    job = retrieve(llm, mode, "glmjob:batch_a@0+3,batch_b@3+3,batch_c@6+3")
    routes.on(
        "POST batches/batch_a/cancel",
        s.json_reply({"error": {"code": "1210", "message": "already completed"}}, 400),
    )
    routes.table["GET batches/batch_a"] = [s.json_reply(b.batch("batch_a"))]
    routes.on(
        "POST batches/batch_b/cancel",
        s.json_reply({"error": {"code": "500", "message": "oops"}}, 500),
    )
    routes.on("POST batches/batch_c/cancel", b.batch("batch_c", "cancelling", start=6, out=None))
    with pytest.raises(GLMError, match="oops") as raised:
        run(mode, job.cancel, job.acancel)
    assert raised.value.job_id == job.id
    assert [r for r in routes.seen if r.endswith("cancel")] == [
        f"POST batches/{x}/cancel" for x in ("batch_a", "batch_b", "batch_c")
    ]
    assert [x["status"] for x in job.batches] == ["completed", "in_progress", "cancelling"]


# ------------------------------------------------------------- waiting survives the network


def test_wait_polls_through_resets_5xx_garbage_and_timeouts(
    hostile: HostileServer, routes: b.Routes, mode: str
) -> None:
    llm = model(hostile, timeout=0.5)
    routes.on("GET batches/batch_1", b.batch(status="in_progress"))
    job = retrieve(llm, mode, "batch_1")
    routes.table["GET batches/batch_1"] = [
        b.reset_now(),
        s.json_reply({"error": {"code": "500", "message": "x"}}, 503),
        s.body(200, b"<html>gateway</html>", "text/html"),
        s.json_reply({"id": "batch_1", "status": 5}),
        b.stall_reply(),
        s.json_reply(b.batch()),
    ]
    run(
        mode,
        lambda: job.wait(poll_interval=0.01, timeout=60),
        lambda: job.await_completion(poll_interval=0.01, timeout=60),
    )
    assert job.status == "completed"
    assert routes.count("GET batches/batch_1") == 7


def test_wait_timeout_cuts_the_poll_and_names_the_job(
    hostile: HostileServer, routes: b.Routes, mode: str
) -> None:
    llm = model(hostile, timeout=600)
    routes.on("GET batches/batch_1", b.batch(status="in_progress"))
    job = retrieve(llm, mode, "batch_1")
    routes.table["GET batches/batch_1"] = [b.stall_reply()]
    with pytest.raises(BatchTimeoutError) as raised:
        run(
            mode,
            lambda: job.wait(poll_interval=0.05, timeout=0.5),
            lambda: job.await_completion(poll_interval=0.05, timeout=0.5),
        )
    assert raised.value.job_id == "batch_1"
    assert "batch_1" in str(raised.value)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"status": "completed"},
        {"id": "batch_1", "status": 5},
        {"id": "batch_1", "status": "completed", "request_counts": "x"},
        {"id": "batch_1", "status": "completed", "metadata": [1]},
    ],
)
def test_wrong_typed_batch_objects_are_typed_errors(
    hostile: HostileServer, routes: b.Routes, mode: str, body: Any
) -> None:
    routes.on("GET batches/batch_1", body)
    with pytest.raises(GLMAPIError, match="malformed") as raised:
        retrieve(model(hostile), mode, "batch_1")
    assert raised.value.job_id == "batch_1"


# ------------------------------------------------------------------------------ memory


def test_a_count_the_server_sends_sizes_nothing(
    hostile: HostileServer, routes: b.Routes, mode: str
) -> None:
    llm = model(hostile)
    huge = {**b.batch(), "request_counts": {"total": 10**12, "completed": 0, "failed": 0}}
    routes.on("GET batches/batch_1", {**huge, "metadata": None})
    routes.on("GET batches/batch_2", {**huge, "id": "batch_2", "metadata": b.meta(0, 999_999_999)})
    tracemalloc.start()
    try:
        with pytest.raises(GLMAPIError, match="no langchain_glm_"):
            results(retrieve(llm, mode, "batch_1"), mode)
        with pytest.raises(ValueError, match="not one job"):
            retrieve(llm, mode, "batch_2")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


def test_a_gzip_bomb_output_file_stays_small(
    hostile: HostileServer, routes: b.Routes, mode: str
) -> None:
    job = done_job(routes, model(hostile, timeout=60), mode)
    bomb = b.gzip_bomb(256 * 2**20)
    routes.on(
        "GET files/file_out/content",
        s.body(200, bomb, "application/octet-stream", **{"Content-Encoding": "gzip"}),
    )
    tracemalloc.start()
    try:
        items = results(job, mode, keep_files=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 48 * 2**20
    assert [type(i) for i in items] == [BatchItemMissingError] * 3
    assert len(job.unmatched) == 1


def test_a_create_not_found_after_a_502_is_sent_again(
    hostile: HostileServer, routes: b.Routes, mode: str
) -> None:
    llm = model(hostile, max_retries=2)
    routes.on("POST files", {"id": "file_in", "object": "file"})
    routes.on("POST batches", s.json_reply({"error": {"code": "500", "message": "x"}}, 502))
    routes.on("POST batches", routes.created("batch_9"))
    routes.on("GET batches", {"object": "list", "data": [b.batch("batch_8")], "has_more": False})
    job = run(mode, lambda: llm.batch_submit(["a"]), lambda: llm.abatch_submit(["a"]))
    assert job.id == "batch_9"
    assert routes.seen == ["POST files", "POST batches", "GET batches", "POST batches"]


def test_a_result_line_echoing_the_key_never_shows_it(
    hostile: HostileServer, routes: b.Routes, mode: str
) -> None:
    job = done_job(routes, model(hostile), mode, err="file_err")
    routes.on(
        "GET files/file_out/content", s.body(200, b.jsonl(b.line(b.cid(0)), b.line(b.cid(1))))
    )
    echo = {"error": {"code": "1214", "message": f"bad key {KEY}"}}
    content = b.jsonl(b.line(b.cid(2), echo, 400), b.line("stranger", echo, 400))
    routes.on("GET files/file_err/content", s.body(200, content))
    items = results(job, mode, keep_files=True)
    assert isinstance(items[2], GLMInvalidRequestError)
    shown = [str(items[2]), repr(items[2]), *map(str, job.unmatched)]
    assert len(shown) == 3
    assert all(KEY not in text and "bad key ***" in text for text in shown)


def test_a_failed_later_create_names_the_batches_already_made(
    hostile: HostileServer, routes: b.Routes, mode: str
) -> None:
    llm = model(hostile)
    routes.on("POST files", {"id": "file_1", "object": "file"}, {"id": "file_2", "object": "file"})
    refused = s.json_reply({"error": {"code": "1210", "message": "bad"}}, 400)
    routes.on("POST batches", routes.created("batch_1"), refused)
    routes.on("DELETE files/file_2", {"deleted": True})
    with pytest.raises(GLMInvalidRequestError) as raised:
        run(
            mode,
            lambda: llm.batch_submit(["a", "b"], max_requests_per_batch=1),
            lambda: llm.abatch_submit(["a", "b"], max_requests_per_batch=1),
        )
    assert raised.value.job_id == "batch_1"
    assert "batch_1" in str(raised.value)
    assert raised.value.__cause__ is not raised.value
    assert routes.seen[-1] == "DELETE files/file_2"


def test_a_line_over_the_cap_is_its_own_error(
    hostile: HostileServer, routes: b.Routes, mode: str
) -> None:
    job = done_job(routes, model(hostile, timeout=60), mode)
    huge = b.line(b.cid(1), b.answer("x" * (MAX_LINE_BYTES + 1)))
    content = b.jsonl(b.line(b.cid(0)), huge, b.line(b.cid(2)))
    routes.on("GET files/file_out/content", s.body(200, content, "application/octet-stream"))
    items = results(job, mode, keep_files=True)
    assert texts(items)[::2] == [f"answer {b.cid(0)}", f"answer {b.cid(2)}"]
    assert isinstance(items[1], GLMAPIError)
    assert items[1].custom_id == b.cid(1)
    assert f"over {MAX_LINE_BYTES}" in str(items[1])
