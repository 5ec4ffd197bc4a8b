"""Properties of Batch API results: every slot its own answer or a typed error, nothing lost.

Result files are built by hand from GLM's documented line format
(https://docs.bigmodel.cn/cn/guide/tools/batch) and read through the same `LineReader` and
`Collector` that `BatchJob.results` uses, cut into pieces at arbitrary byte offsets as a network
would deliver them.
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage

from langchain_glm._errors import (
    BatchIntegrityError,
    BatchItemMissingError,
    GLMAPIError,
    GLMError,
    GLMRateLimitError,
)
from langchain_glm.batch import Collector, LineReader, Span, dumps
from langchain_glm.chat_models import batch_message
from tests.unit_tests.test_batch import COMPLETION, Emulator

EXAMPLES = os.environ.get("HYPOTHESIS_EXAMPLES")
PROPERTY = settings(
    max_examples=int(EXAMPLES or 300),
    derandomize=not EXAMPLES,  # the suite runs fixed examples; `make fuzz` draws fresh ones
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TOKEN = "00112233445566ff"
KINDS = ("good", "failed", "malformed")
STRANGERS = ("other job", "out of range", "garbage", "no custom_id")


def cid(index: int, token: str = TOKEN) -> str:
    return f"lcg-{token}-{index:06d}"


def raw_line(line_id: str | None, kind: str, index: int) -> bytes:
    """One result line as GLM writes it."""
    if kind == "garbage":
        return b'{"response": {"status_code": 200, "body": {"choi'
    body: Any = {
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"content": f"answer {index}"}}
        ]
    }
    status = 200
    if kind == "failed":
        body, status = {"error": {"code": "1302", "message": "busy"}}, 429
    elif kind == "malformed":
        body = {"choices": [None]}
    line: dict[str, Any] = {"response": {"status_code": status, "body": body}, "id": "batch_1"}
    if line_id is not None:
        line["custom_id"] = line_id
    return json.dumps(line).encode()


def stranger(kind: str, total: int) -> bytes:
    if kind == "other job":
        return raw_line(cid(0, "ffffffffffffffff"), "good", 0)
    if kind == "out of range":
        return raw_line(cid(total + 3), "good", total + 3)
    return raw_line(None, "garbage" if kind == "garbage" else "good", 0)


@st.composite
def result_files(draw: st.DrawFn) -> tuple[list[list[str]], list[str], bytes]:
    """Per slot the kinds of its lines (none: missing; several: duplicated), the strangers,
    and the file: every line in a random order (GLM guarantees none)."""
    total = draw(st.integers(1, 10))
    plan = [draw(st.lists(st.sampled_from(KINDS), max_size=3)) for _ in range(total)]
    strangers = draw(st.lists(st.sampled_from(STRANGERS), max_size=3))
    lines = [raw_line(cid(i), kind, i) for i, kinds in enumerate(plan) for kind in kinds]
    lines += [stranger(kind, total) for kind in strangers]
    ordered = draw(st.permutations(lines))
    crlf = draw(st.booleans())
    return plan, strangers, b"".join(x + (b"\r\n" if crlf else b"\n") for x in ordered)


def convert(body: dict[str, Any]) -> AIMessage:
    return batch_message(body, model="glm-4.6", output_version=None)


@PROPERTY
@given(result_files(), st.lists(st.integers(0, 4000), max_size=20))
def test_every_slot_gets_its_own_answer_or_a_typed_error(
    files: tuple[list[list[str]], list[str], bytes], cuts: list[int]
) -> None:
    plan, strangers, data = files
    span = Span("batch_1", 0, len(plan))
    collector = Collector([span], TOKEN)
    reader = LineReader()
    edges = [0, *sorted(c for c in cuts if c < len(data)), len(data)]
    lines = [line for a, z in itertools.pairwise(edges) for line in reader.feed(data[a:z])]
    for line in lines + reader.finish():
        if isinstance(line, bytes) and not line.strip():
            continue
        collector.add(line, span, convert)
    list(collector.missing(span, {"id": "batch_1", "status": "completed"}))
    assert collector.slots is not None
    for index, (kinds, item) in enumerate(zip(plan, collector.slots, strict=True)):
        expected: type = {
            (): BatchItemMissingError,
            ("good",): AIMessage,
            ("failed",): GLMRateLimitError,
            ("malformed",): GLMAPIError,
        }.get(tuple(kinds), BatchIntegrityError)
        assert type(item) is expected, (kinds, item)
        if isinstance(item, AIMessage):
            assert item.content == f"answer {index}"
        else:
            assert isinstance(item, GLMError)
            assert item.custom_id == cid(index)
            assert cid(index) in str(item)
    assert len(collector.unmatched) == len(strangers)  # nothing lost, nothing misplaced


# ------------------------------------------------ mutating a result changes nothing else

_JOBS: dict[str, Any] = {}


def _finished_job(emulator: Emulator) -> Any:
    """A finished job of three answers (reasoning, tool call, usage) and one error."""
    emulator.reply_raw(dumps(COMPLETION), times=3)
    emulator.reply_error(429, "1302")
    return emulator.llm(max_retries=0).batch_submit(["a", "b", "c", "d"]).wait(poll_interval=0.01)


def _mutate(item: Any, choice: int) -> None:
    """Change one field of a message (or error) in place, in a way pydantic allows."""
    if isinstance(item, GLMError):
        item.message, item.custom_id = "changed", "changed"
        return
    name = sorted(type(item).model_fields)[choice % len(type(item).model_fields)]
    value = getattr(item, name)
    if isinstance(value, dict):
        nested = next((v for v in value.values() if isinstance(v, dict | list)), None)
        if isinstance(nested, dict):
            nested["changed"] = 1
        elif isinstance(nested, list):
            nested.append({"changed": 1})
        value["changed"] = {"deep": [1]}
    elif isinstance(value, list) and value:  # tool calls: change one, add a copy
        value[0]["id"] = "changed"
        value.append(dict(value[0]))
    else:
        setattr(item, name, "changed" if isinstance(value, str) or value is None else value)


def _dumped(items: list[Any]) -> list[Any]:
    return [i.model_dump() if isinstance(i, AIMessage) else (type(i), str(i)) for i in items]


@PROPERTY
@given(st.integers(0, 3), st.integers(0, 40), st.booleans())
def test_mutating_one_result_changes_no_other_result_or_later_job(
    index: int, choice: int, twice: bool
) -> None:
    if not _JOBS:
        emulator = Emulator()
        _JOBS["emulator"], _JOBS["job"] = emulator, _finished_job(emulator)
        _JOBS["pristine"] = _dumped(_JOBS["job"].results(keep_files=True))
    job, pristine = _JOBS["job"], _JOBS["pristine"]
    got = job.results(keep_files=True)
    _mutate(got[index], choice)
    if twice:
        _mutate(got[index], choice + 1)
    assert [d for n, d in enumerate(_dumped(got)) if n != index] == [
        d for n, d in enumerate(pristine) if n != index
    ]
    assert _dumped(job.results(keep_files=True)) == pristine
    if choice == 0:  # a later job, now and then (each one costs a few ms)
        later = _finished_job(_JOBS["emulator"]).results(keep_files=True)
        assert [type(x) for x in later] == [type(x) for x in got]
        assert _dumped(later)[0]["content"] == pristine[0]["content"]
        assert _dumped(later)[0]["tool_calls"] == pristine[0]["tool_calls"]
