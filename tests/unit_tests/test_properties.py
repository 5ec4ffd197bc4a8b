"""Property-based tests of stream parsing, through `ChatGLM.stream` over an httpx transport.

- Any split of a valid stream (frames split into any deltas, bytes split anywhere) gives
  exactly the right message.
- Any wrong-typed, missing or extra field gives the right message or a `ModelError`: never
  another exception type, never lost text. Inputs are finite, so nothing can hang.
- Any cut of a tool call's arguments ends in `invalid_tool_calls`, never in `tool_calls`.

The expected message comes from `expect`, an independent reading of the frames written
from GLM's documented stream shape (https://docs.z.ai/api-reference/llm/chat-completion).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

import httpx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from langchain_core.exceptions import ModelError
from langchain_core.messages import AIMessageChunk

from langchain_glm import ChatGLM

# The suite runs the same 300 examples every time, so CI never fails by chance; `make fuzz`
# draws fresh random ones, as many as HYPOTHESIS_EXAMPLES asks.
EXAMPLES = os.environ.get("HYPOTHESIS_EXAMPLES")
PROPERTY = settings(
    max_examples=int(EXAMPLES or 300),
    derandomize=not EXAMPLES,
    deadline=None,  # speed is measured by benchmarks, never here
    database=None,  # keep the tree clean: no .hypothesis directory
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ID = "20251023225951823569fea7794962"


# ---------------------------------------------------------------- the transport


class Pieces(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body delivered in the given pieces, to the sync or async client."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece


def sse(frames: list[Any], newline: str = "\n") -> bytes:
    events = [f"data: {json.dumps(f)}{newline}{newline}" for f in frames]
    return "".join([*events, f"data: [DONE]{newline}{newline}"]).encode()


def split(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(body), *(c % (len(body) + 1) for c in cuts)})
    return [body[a:b] for a, b in itertools.pairwise(points)]


@dataclass
class Outcome:
    chunks: list[AIMessageChunk] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def text(self) -> str:
        return "".join(c.text for c in self.chunks)

    @property
    def message(self) -> AIMessageChunk:
        assert self.error is None, f"unexpected {self.error!r}"
        return reduce(lambda a, b: a + b, self.chunks)


def run(pieces: list[bytes], *, use_async: bool) -> Outcome:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream"}
        return httpx.Response(200, headers=headers, stream=Pieces(pieces))

    transport = httpx.MockTransport(handler)
    llm = ChatGLM(
        api_key="test-key-123456",
        max_retries=0,
        http_client=httpx.Client(transport=transport),
        http_async_client=httpx.AsyncClient(transport=transport),
    )
    outcome = Outcome()

    async def collect() -> None:
        async for chunk in llm.astream("hi"):
            outcome.chunks.append(chunk)

    try:
        if use_async:
            asyncio.run(collect())
        else:
            outcome.chunks.extend(llm.stream("hi"))
    except ModelError as exc:  # any other exception type fails the test
        outcome.error = exc
    return outcome


# ---------------------------------------------------------------- the independent reading


class MalformedError(Exception):
    """`expect` found a frame that is not a GLM stream frame."""


def typed(obj: dict[str, Any], key: str, kind: type) -> Any:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise MalformedError(key)
    return value


@dataclass
class Expected:
    text: str = ""
    reasoning: str = ""
    calls: list[list[Any]] = field(default_factory=list)  # [index, id, name, args] per call
    finish: str | None = None
    usage: dict[str, Any] | None = None
    id: str | None = None
    seen_choice: bool = False


def read_usage(usage: dict[str, Any]) -> dict[str, int]:
    counts = {k: typed(usage, k, int) for k in ("prompt_tokens", "completion_tokens")}
    total = typed(usage, "total_tokens", int)
    for details, key in (
        ("prompt_tokens_details", "cached_tokens"),
        ("completion_tokens_details", "reasoning_tokens"),
    ):
        typed(typed(usage, details, dict) or {}, key, int)
    prompt, completion = counts["prompt_tokens"] or 0, counts["completion_tokens"] or 0
    return {
        "input_tokens": prompt,
        "output_tokens": completion,
        "total_tokens": prompt + completion if total is None else total,
    }


def read_calls(state: Expected, raw_calls: list[Any]) -> None:
    for position, raw in enumerate(raw_calls):
        if not isinstance(raw, dict):
            raise MalformedError("tool call")
        if (typed(raw, "type", str) or "function") != "function":
            continue
        function = typed(raw, "function", dict) or {}
        name = typed(function, "name", str)
        args = function.get("arguments")
        if not (args is None or isinstance(args, (str, dict))):
            raise MalformedError("arguments")
        args = json.dumps(args, ensure_ascii=False) if isinstance(args, dict) else args or ""
        call_id = typed(raw, "id", str)
        index = typed(raw, "index", int)
        entry = joined_call(state.calls, position if index is None else index, call_id)
        entry[1] = entry[1] or call_id or None
        entry[2] = (entry[2] or "") + (name or "") or None
        entry[3] += args


def joined_call(calls: list[list[Any]], index: int, call_id: str | None) -> list[Any]:
    """The call a delta belongs to, by the rule of `AIMessageChunk.__add__`.

    A delta joins the first call with its `index` whose id does not contradict its own;
    a different id at a known index starts a new call.
    """
    for entry in calls:
        if entry[0] == index and (not entry[1] or not call_id or entry[1] == call_id):
            return entry
    calls.append([index, None, None, ""])
    return calls[-1]


def read_frame(state: Expected, frame: Any) -> None:
    if not isinstance(frame, dict) or frame.get("error"):
        raise MalformedError("frame")
    frame_id = typed(frame, "id", str)
    state.id = state.id or frame_id
    typed(frame, "model", str)
    usage = typed(frame, "usage", dict)
    if usage:
        state.usage = read_usage(usage)
    choices = typed(frame, "choices", list)
    if not choices:
        return
    if not isinstance(choices[0], dict):
        raise MalformedError("choice")
    state.seen_choice = True
    state.finish = typed(choices[0], "finish_reason", str) or state.finish
    delta = typed(choices[0], "delta", dict) or {}
    state.text += typed(delta, "content", str) or ""
    reasoning = typed(delta, "reasoning_content", str)
    state.reasoning += reasoning or typed(delta, "reasoning", str) or ""
    read_calls(state, typed(delta, "tool_calls", list) or [])


def expect(frames: list[Any]) -> Expected:
    state = Expected()
    for frame in frames:
        read_frame(state, frame)
    if not state.seen_choice or state.finish == "network_error":
        raise MalformedError("no complete answer")
    return state


def assert_message(message: AIMessageChunk, want: Expected) -> None:
    assert message.content == want.text
    assert message.additional_kwargs.get("reasoning_content", "") == want.reasoning
    assert message.response_metadata.get("finish_reason") == want.finish
    assert message.usage_metadata == want.usage
    assert message.id == (want.id or message.id)
    valid, invalid = [], []
    for _, call_id, name, args in want.calls:
        try:
            parsed = json.loads(args or "{}", strict=False)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and (args or want.finish != "length"):
            valid.append((call_id, name or "", parsed))
        else:
            invalid.append(call_id)
    assert [(c["id"], c["name"], c["args"]) for c in message.tool_calls] == valid
    assert [c["id"] for c in message.invalid_tool_calls] == invalid


# ---------------------------------------------------------------- valid streams

texts = st.lists(st.text(max_size=12), max_size=6)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
tool_args = st.dictionaries(st.text(max_size=6), json_values, max_size=4)
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,10}", fullmatch=True)
usages = st.fixed_dictionaries(
    {
        "prompt_tokens": st.integers(0, 10**6),
        "completion_tokens": st.integers(0, 10**6),
        "total_tokens": st.integers(0, 2 * 10**6),
    }
)


def frame(delta: dict[str, Any], **top: Any) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "delta": {"role": "assistant", **delta}}
    if "finish_reason" in top:
        choice["finish_reason"] = top.pop("finish_reason")
    return {"id": ID, "created": 1761231591, "model": "glm-4.6", "choices": [choice], **top}


@st.composite
def call_frames(draw: st.DrawFn, index: int) -> list[dict[str, Any]]:
    args = json.dumps(draw(tool_args), ensure_ascii=draw(st.booleans()))
    cuts = sorted(draw(st.lists(st.integers(0, len(args)), max_size=4)))
    pieces = [args[a:b] for a, b in zip([0, *cuts], [*cuts, len(args)], strict=True)]
    head = {"index": index, "id": f"call_{index}", "type": "function"}
    function = {"name": draw(names), "arguments": pieces[0]}
    frames = [frame({"tool_calls": [{**head, "function": function}]})]
    frames += [
        frame({"tool_calls": [{"index": index, "function": {"arguments": p}}]}) for p in pieces[1:]
    ]
    return frames


@st.composite
def valid_streams(draw: st.DrawFn) -> list[dict[str, Any]]:
    frames = [frame({"reasoning_content": r}) for r in draw(texts)]
    frames += [frame({"content": t}) for t in draw(texts)]
    for index in range(draw(st.integers(0, 2))):
        frames += draw(call_frames(index))
    finish = (
        "tool_calls" if any("tool_calls" in f["choices"][0]["delta"] for f in frames) else "stop"
    )
    return [*frames, frame({"content": ""}, finish_reason=finish, usage=draw(usages))]


@PROPERTY
@given(
    frames=valid_streams(),
    cuts=st.lists(st.integers(0, 10**6), max_size=12),
    newline=st.sampled_from(["\n", "\r\n"]),
    use_async=st.booleans(),
)
def test_any_split_of_a_valid_stream_gives_the_right_message(
    frames: list[dict[str, Any]], cuts: list[int], newline: str, use_async: bool
) -> None:
    outcome = run(split(sse(frames, newline), cuts), use_async=use_async)
    assert_message(outcome.message, expect(frames))


# ---------------------------------------------------------------- faulty streams


def slots(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) inside a frame, depth first."""
    found: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += [(value, key), *slots(item)]
    elif isinstance(value, list):
        for position, item in enumerate(value):
            found += [(value, position), *slots(item)]
    return found


json_junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=4,
)
mutations = st.one_of(
    st.tuples(st.just("replace"), json_junk),
    st.tuples(st.just("delete"), st.none()),
    st.tuples(st.just("extra"), st.tuples(st.text(max_size=8), json_junk)),
)


def mutate(frame: Any, choice: int, mutation: tuple[str, Any]) -> Any:
    frame = copy.deepcopy(frame)
    places = slots(frame)
    container, key = places[choice % len(places)]
    kind, value = mutation
    if kind == "replace":
        container[key] = value
    elif kind == "delete" and isinstance(container, dict):
        del container[key]
    elif kind == "delete":
        container.pop(key)
    else:
        target = container if isinstance(container, dict) else frame
        target[value[0]] = value[1]
    return frame


def shown(text: str) -> str:
    """What a stream hands out of `text` before it closes: leading whitespace is held."""
    return "" if text.isspace() else text


@PROPERTY
@given(
    frames=valid_streams(),
    at=st.integers(0, 10**6),
    choice=st.integers(0, 10**6),
    mutation=mutations,
    use_async=st.booleans(),
)
def test_any_faulty_field_gives_the_right_message_or_a_model_error(
    frames: list[dict[str, Any]],
    at: int,
    choice: int,
    mutation: tuple[str, Any],
    use_async: bool,
) -> None:
    k = at % len(frames)
    frames = [*frames[:k], mutate(frames[k], choice, mutation), *frames[k + 1 :]]
    outcome = run([sse(frames)], use_async=use_async)
    try:
        want = expect(frames)
    except MalformedError:
        event("malformed: a ModelError")
        assert isinstance(outcome.error, ModelError)
        before = shown(expect_text(frames[:k]))
        assert outcome.text.startswith(before)  # nothing already handed out is lost
        return
    event("still valid: the right message")
    assert_message(outcome.message, want)


def expect_text(frames: list[Any]) -> str:
    state = Expected()
    for frame in frames:
        read_frame(state, frame)
    return state.text


# ---------------------------------------------------------------- cut-off tool calls


@PROPERTY
@given(args=tool_args, cut=st.integers(0, 10**6), use_async=st.booleans())
def test_any_cut_off_tool_call_is_invalid(args: dict[str, Any], cut: int, use_async: bool) -> None:
    text = json.dumps(args)
    prefix = text[: cut % len(text)]  # a strict prefix: never complete
    head = {"index": 0, "id": "call_0", "type": "function"}
    frames = [
        frame({"tool_calls": [{**head, "function": {"name": "f", "arguments": prefix}}]}),
        frame({"content": ""}, finish_reason="length"),
    ]
    message = run([sse(frames)], use_async=use_async).message
    assert message.tool_calls == []
    [bad] = message.invalid_tool_calls
    assert bad["id"] == "call_0"
    assert (bad["args"] or "").startswith(prefix)
