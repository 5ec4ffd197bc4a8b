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
from langchain_glm.batch import Collector, LineReader, Span
from langchain_glm.chat_models import batch_message

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
