"""Our own copy of the LangChain-core floor: the cheapest full-fidelity chat model.

Raw httpx + httpx-sse + json, real `AIMessageChunk`s (reasoning, tool-call chunks, usage,
finish_reason) through `BaseChatModel.stream`; no validation, retries or error mapping.
What any LangChain integration pays at least; ChatGLM is measured against it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
from httpx_sse import aconnect_sse, connect_sse
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}
_HEADERS = {"Authorization": "Bearer x"}
_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
_CLIENTS: dict[str, Any] = {}


def _sync() -> httpx.Client:
    """The one sync pool, made on first use (a new `httpx.Client` costs ~20 ms: SSL setup)."""
    client = _CLIENTS.get("sync")
    if client is None:
        client = _CLIENTS["sync"] = httpx.Client(timeout=60, limits=_LIMITS)
    return client


def _body(messages: list[BaseMessage], stream: bool) -> dict[str, Any]:
    msgs = [{"role": _ROLES.get(m.type, m.type), "content": m.content} for m in messages]
    return {"model": "glm-4.6", "messages": msgs, "stream": stream}


def _usage(u: dict[str, Any] | None) -> Any:
    if not u:
        return None
    return {
        "input_tokens": u["prompt_tokens"],
        "output_tokens": u["completion_tokens"],
        "total_tokens": u["total_tokens"],
    }


def _chunk(data: str) -> ChatGenerationChunk:
    d = json.loads(data)
    choice = (d.get("choices") or [{}])[0]
    delta = choice.get("delta") or {}
    kw = {"reasoning_content": delta["reasoning_content"]} if delta.get("reasoning_content") else {}
    tcc = [
        {
            "index": t.get("index"),
            "id": t.get("id"),
            "name": (t.get("function") or {}).get("name"),
            "args": (t.get("function") or {}).get("arguments"),
        }
        for t in delta.get("tool_calls") or []
    ]
    fin = choice.get("finish_reason")
    msg = AIMessageChunk(
        content=delta.get("content") or "",
        additional_kwargs=kw,
        tool_call_chunks=tcc,
        usage_metadata=_usage(d.get("usage")),
        response_metadata={"finish_reason": fin} if fin else {},
    )
    return ChatGenerationChunk(message=msg)


class CoreFloor(BaseChatModel):
    """Minimal full-fidelity GLM chat model: the langchain-core cost floor."""

    base_url: str
    """API base; requests go to `{base_url}/chat/completions`."""

    @property
    def _llm_type(self) -> str:
        return "core-floor"

    @property
    def _url(self) -> str:
        return self.base_url + "/chat/completions"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        r = _sync().post(self._url, json=_body(messages, False), headers=_HEADERS)
        r.raise_for_status()
        d = json.loads(r.content)
        m = d["choices"][0]["message"]
        kwargs = {"reasoning_content": m["reasoning_content"]} if m.get("reasoning_content") else {}
        calls = [
            {
                "id": t["id"],
                "name": t["function"]["name"],
                "args": json.loads(t["function"]["arguments"]),
            }
            for t in m.get("tool_calls") or []
        ]
        msg = AIMessage(
            content=m.get("content") or "",
            additional_kwargs=kwargs,
            tool_calls=calls,
            usage_metadata=_usage(d.get("usage")),
            response_metadata={"finish_reason": d["choices"][0].get("finish_reason")},
        )
        return ChatResult(generations=[ChatGeneration(message=msg)])

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> Iterator[ChatGenerationChunk]:
        body = _body(messages, True)
        with connect_sse(_sync(), "POST", self._url, json=body, headers=_HEADERS) as es:
            for sse in es.iter_sse():
                if sse.data == "[DONE]":
                    break
                yield _chunk(sse.data)

    async def _astream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        client = _CLIENTS.get("async")
        if client is None:
            client = _CLIENTS["async"] = httpx.AsyncClient(timeout=60, limits=_LIMITS)
        body = _body(messages, True)
        async with aconnect_sse(client, "POST", self._url, json=body, headers=_HEADERS) as es:
            async for sse in es.aiter_sse():
                if sse.data == "[DONE]":
                    break
                yield _chunk(sse.data)
