"""No object is shared between two messages, chunks or test-server replies unless immutable.

LangGraph reducers, callback handlers and user code mutate messages in place, so one
mutated chunk must never change another chunk, a later stream, an `invoke` result or a
default. Two kinds of proof:

- structural: walking every container reachable from each result (dicts, lists, sets,
  pydantic models, their `model_fields_set` and `model_extra`), no container is reachable
  from two results, nor is a module-level container of `langchain_glm` or a pydantic
  field default;
- behavioural (hypothesis): mutate any container of any chunk or message in any way
  pydantic allows (assign a field, set or delete a key, append, clear, add to
  `model_fields_set`); every other result, every later stream or reply and the defaults
  stay as they were.

The Batch API's results are covered by the batch tests.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import pkgutil
from collections.abc import Callable
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from pydantic import BaseModel

import langchain_glm
from langchain_glm import ChatGLM
from langchain_glm.testing import GLMTransport, Reply, WireReply

PROPERTY = settings(
    max_examples=50,
    derandomize=True,  # the same examples every run: CI never fails by chance
    deadline=None,  # speed is measured by benchmarks, never here
    database=None,  # keep the tree clean: no .hypothesis directory
    suppress_health_check=[HealthCheck.too_slow],
)
ID = "20251023225951823569fea7794962"
_HEAD = {"id": ID, "created": 1761231591, "model": "glm-4.6"}
WEB = [{"title": "Sky", "link": "https://example.com/sky", "content": "Rayleigh"}]
USAGE = {
    "prompt_tokens": 12,
    "completion_tokens": 30,
    "total_tokens": 42,
    "prompt_tokens_details": {"cached_tokens": 4},
    "completion_tokens_details": {"reasoning_tokens": 9},
}


def _frame(delta: dict[str, Any], **top: Any) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "delta": delta}
    if "finish_reason" in top:
        choice["finish_reason"] = top.pop("finish_reason")
    return {**_HEAD, "choices": [choice], **top}


_CALL = {"id": "call_1", "index": 0, "type": "function"}
FRAMES = [
    _frame({"role": "assistant", "reasoning_content": "Think"}, web_search=WEB),
    _frame({"reasoning_content": " more."}),
    _frame({"content": "Hello"}),
    _frame({"content": " there"}),
    _frame({"tool_calls": [{**_CALL, "function": {"name": "add", "arguments": '{"a": '}}]}),
    _frame({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
    _frame({"content": ""}, finish_reason="tool_calls", usage=USAGE),
]
STREAM = b"".join(b"data: " + json.dumps(f).encode() + b"\n\n" for f in FRAMES)
STREAM += b"data: [DONE]\n\n"
_MESSAGE = {
    "role": "assistant",
    "content": "Hello there",
    "reasoning_content": "Think more.",
    "tool_calls": [{**_CALL, "function": {"name": "add", "arguments": '{"a": 1}'}}],
}
BODY = {
    **_HEAD,
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": _MESSAGE}],
    "usage": USAGE,
    "web_search": WEB,
    "request_id": "req-1",
}


# ---------------------------------------------------------------- walking and freezing

_ATOMS = (str, bytes, int, float, complex, bool, type(None))


def mutables(root: Any) -> list[Any]:
    """Every mutable object reachable from `root`, in a fixed order (`root` first)."""
    found: list[Any] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if isinstance(obj, _ATOMS) or id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, BaseModel):
            found.append(obj)
            found.append(obj.model_fields_set)
            seen.add(id(obj.model_fields_set))
            stack.extend(reversed([*vars(obj).values(), obj.model_extra]))
        elif isinstance(obj, dict):
            found.append(obj)
            stack.extend(reversed(obj.values()))
        elif isinstance(obj, (tuple, frozenset)):
            stack.extend(reversed(list(obj)))
        else:  # lists, sets and anything unknown count as mutable
            found.append(obj)
            if isinstance(obj, (list, set)):
                stack.extend(reversed(list(obj)))
    return found


def freeze(obj: Any) -> Any:
    """A deep, immutable picture of `obj` (fields, fields set and extras of models)."""
    if isinstance(obj, BaseModel):
        fields = tuple((k, freeze(v)) for k, v in vars(obj).items())
        return (
            type(obj).__name__,
            fields,
            tuple(sorted(obj.model_fields_set)),
            freeze(obj.model_extra),
        )
    if isinstance(obj, dict):
        return ("dict", tuple((k, freeze(v)) for k, v in obj.items()))
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, tuple(freeze(v) for v in obj))
    if isinstance(obj, (set, frozenset)):
        return (type(obj).__name__, tuple(sorted(map(repr, obj))))
    return obj


def assert_disjoint(results: list[Any], forbidden: dict[int, str]) -> None:
    """No mutable object is reachable from two results, nor is any `forbidden` one."""
    owner: dict[int, int] = {}
    for number, result in enumerate(results):
        for obj in mutables(result):
            assert id(obj) not in forbidden, (number, forbidden[id(obj)], obj)
            first = owner.setdefault(id(obj), number)
            assert first == number, f"results {first} and {number} share {obj!r}"


def module_containers() -> dict[int, str]:
    """Every dict, list and set held at module level by `langchain_glm` (cached defaults)."""
    found: dict[int, str] = {}
    for info in pkgutil.walk_packages(langchain_glm.__path__, "langchain_glm."):
        if ".cli" in info.name:  # the terminal chat imports rich, an extra
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, (dict, list, set)) and not name.startswith("__"):
                found[id(value)] = f"{info.name}.{name}"
    return found


def field_defaults() -> dict[int, str]:
    """The default value objects of the message models' fields."""
    found: dict[int, str] = {}
    for model in (AIMessage, AIMessageChunk):
        for name, info in model.model_fields.items():
            if isinstance(info.default, (dict, list, set)):
                found[id(info.default)] = f"{model.__name__}.{name}"
    return found


def defaults() -> Any:
    """What fresh messages and the module-level containers look like."""
    fresh = [AIMessageChunk(content=""), AIMessage(content="")]
    return freeze(fresh), freeze([importlib.import_module("langchain_glm._streaming").__dict__])


# ---------------------------------------------------------------- mutating


def mutate(target: Any, data: st.DataObject) -> None:
    """Change `target` in place in one way pydantic allows, as drawn."""
    marker = {"mutated": True}
    if isinstance(target, BaseModel):
        name = data.draw(st.sampled_from(sorted(type(target).model_fields)))
        setattr(target, name, marker)  # messages do not validate assignment
    elif isinstance(target, dict):
        key = data.draw(st.sampled_from([*sorted(target, key=repr), "mutated"]))
        action = data.draw(st.sampled_from(["set", "delete", "clear"]))
        if action == "set":
            target[key] = marker
        elif action == "delete":
            target.pop(key, None)
        else:
            target.clear()
    elif isinstance(target, list):
        action = data.draw(st.sampled_from(["append", "clear", "replace"]))
        if action == "append" or not target:
            target.append(marker)
        elif action == "clear":
            target.clear()
        else:
            target[0] = marker
    elif isinstance(target, set):
        if data.draw(st.booleans()) or not target:
            target.add("mutated")
        else:
            target.clear()
    else:  # pragma: no cover - mutables() found something new: make it known here
        raise AssertionError(f"no mutation for {type(target).__name__}")


def mutate_one(results: list[Any], data: st.DataObject) -> int:
    """Mutate one drawn container of one drawn result; return that result's number."""
    number = data.draw(st.integers(0, len(results) - 1), label="result")
    targets = mutables(results[number])
    target = targets[data.draw(st.integers(0, len(targets) - 1), label="container")]
    mutate(target, data)
    return number


def assert_others_unchanged(results: list[Any], before: list[Any], mutated: int) -> None:
    for number, (result, picture) in enumerate(zip(results, before, strict=True)):
        if number != mutated:
            assert freeze(result) == picture, f"result {number} changed with result {mutated}"


# ---------------------------------------------------------------- ChatGLM results


def model(answer: WireReply) -> ChatGLM:
    """A ChatGLM whose every request is answered with `answer`, over the in-process transport."""
    glm = GLMTransport(validate=False)
    glm.script(lambda _request: answer)
    return ChatGLM(
        model="glm-4.6",
        api_key="test-key-123456",
        base_url=glm.base_url,
        http_client=httpx.Client(transport=glm),
        http_async_client=httpx.AsyncClient(transport=glm),
    )


STREAMED = model(WireReply.of(200, STREAM))
INVOKED = model(WireReply.of(200, BODY))


def streams() -> list[BaseMessage]:
    """The chunks of one sync and one async stream."""

    async def collect() -> list[BaseMessage]:
        return [chunk async for chunk in STREAMED.astream("hi")]

    return [*STREAMED.stream("hi"), *asyncio.run(collect())]


def invokes() -> list[BaseMessage]:
    """One sync and one async `invoke` result."""
    return [INVOKED.invoke("hi"), asyncio.run(INVOKED.ainvoke("hi"))]


RUNS: dict[str, Callable[[], list[BaseMessage]]] = {"stream": streams, "invoke": invokes}
REFERENCE = {kind: freeze(run()) for kind, run in RUNS.items()}
"""What each run gives before any test mutated anything."""
INITIAL = defaults()


def test_the_examples_cover_every_kind_of_chunk() -> None:
    chunks = [c for c in streams() if isinstance(c, AIMessageChunk)]
    assert len(chunks) == 2 * 7  # six frames with content, the closing chunk; sync and async
    message = sum(chunks[1:7], chunks[0])
    assert message.additional_kwargs["reasoning_content"] == "Think more."
    assert message.content == "Hello there"
    assert message.tool_calls[0]["args"] == {"a": 1}
    assert message.response_metadata["web_search"] == WEB
    assert message.usage_metadata is not None
    invoked = invokes()[0]
    assert isinstance(invoked, AIMessage)
    assert invoked.tool_calls[0]["args"] == {"a": 1}


def test_no_result_shares_a_mutable_object_with_another_or_a_default() -> None:
    forbidden = module_containers() | field_defaults()
    for run in RUNS.values():
        assert_disjoint([*run(), *run()], forbidden)


@PROPERTY
@given(kind=st.sampled_from(sorted(RUNS)), data=st.data())
def test_mutating_any_result_changes_no_other_result_later_run_or_default(
    kind: str, data: st.DataObject
) -> None:
    run = RUNS[kind]
    results = run()
    before = [freeze(result) for result in results]
    mutated = mutate_one(results, data)
    assert_others_unchanged(results, before, mutated)
    assert freeze(run()) == REFERENCE[kind]
    assert defaults() == INITIAL


# ---------------------------------------------------------------- test-server replies

SCRIPTED: dict[str, Any] = {
    "text": "Hello there",
    "reasoning": "Think more.",
    "tool_calls": [{"name": "add", "arguments": {"a": 1}, "id": "call_1"}],
    "web_search": WEB,
    "usage": {"prompt_tokens": 12, "completion_tokens": 30},
}
REQUEST = {"model": "glm-4.6", "messages": [{"role": "user", "content": "hi"}]}


def served(times: int) -> tuple[Reply, Callable[[], dict[str, Any]]]:
    """One `Reply` queued `times` times, and how to get the next reply made of it."""
    service = GLMTransport()
    reply = service.reply(times=times, **SCRIPTED)

    def answer() -> dict[str, Any]:
        status, body = service.answer(REQUEST)
        assert status == 200, body
        return body

    return reply, answer


def stable(body: dict[str, Any]) -> Any:
    """A reply without the fields that differ per request (ids, timestamps)."""
    return freeze({k: v for k, v in body.items() if k not in ("id", "created", "request_id")})


def test_served_replies_share_nothing_with_each_other_or_the_script() -> None:
    reply, answer = served(3)
    scripted = [v for v in vars(reply).values() if isinstance(v, (dict, list))]
    forbidden = {id(obj): "Reply" for root in scripted for obj in mutables(root)}
    assert_disjoint([answer() for _ in range(3)], forbidden)


@PROPERTY
@given(data=st.data())
def test_mutating_a_served_reply_changes_no_other_reply_nor_the_script(
    data: st.DataObject,
) -> None:
    reply, answer = served(3)
    bodies = [answer(), answer()]
    script, before = freeze(vars(reply)), [freeze(body) for body in bodies]
    mutated = mutate_one(bodies, data)
    assert_others_unchanged(bodies, before, mutated)
    assert freeze(vars(reply)) == script
    assert stable(answer()) == stable(bodies[1 - mutated])
