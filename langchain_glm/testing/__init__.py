r"""Testing your app offline: a local, scripted GLM server and a pytest fixture.

`langchain_glm.testing` ships a real HTTP server that speaks GLM's chat-completions protocol
the way the real service does: the same JSON keys, the same SSE frames (reasoning first, a
whitespace ``"\n"`` content frame, ``finish_reason`` and ``usage`` only on the last frame,
``data: [DONE]``), the same tool-call id formats, the same validation errors (401/1001-1002,
400/1211 unknown model, 400/1214 empty messages, 400/1210 for ``tool_choice`` other than
``"auto"``). It listens on 127.0.0.1 only and needs no API key or network, so your CI can test
the code that calls `ChatGLM`. It is a test tool: never use it in production.

With pytest, the ``glm_server`` fixture (installed with the package) gives each test a fresh
server. Queue replies, run your code, then assert on what your code sent:

```python
from langchain_core.messages import HumanMessage
from langchain_core.tools import tool

from langchain_glm import ChatGLM


@tool(description="Return the current weather in a city.")
def get_weather(city: str) -> str:
    return f"Sunny in {city}"


def test_weather_turn(glm_server):
    glm_server.reply(
        reasoning="The user wants the weather, so I call the tool.",
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Florence"}}],
    )
    glm_server.reply(text="It is sunny in Florence.")

    llm = ChatGLM(model="glm-4.6", base_url=glm_server.base_url, api_key="test")
    llm = llm.bind_tools([get_weather])
    question = HumanMessage("What's the weather in Florence?")

    first = llm.invoke([question])
    call = first.tool_calls[0]
    assert call["name"] == "get_weather"
    assert call["args"] == {"city": "Florence"}

    answer = llm.invoke([question, first, get_weather.invoke(call)])
    assert answer.content == "It is sunny in Florence."

    sent = glm_server.requests[0].json
    assert sent["model"] == "glm-4.6"
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    tool_message = glm_server.requests[1].json["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["tool_call_id"] == call["id"]
    assert tool_message["content"] == "Sunny in Florence"
```

Each queued reply answers one request, as JSON or as SSE, whichever the request asked for.
With nothing queued the server answers deterministically, quoting the last user message
(reasoning ``"The user said: <msg>. I will answer."``, text ``"You said: <msg>"``).

- ``glm_server.reply(text=..., reasoning=..., tool_calls=[...], usage={...},
  finish_reason=..., web_search=[...])`` queues an answer.
- ``glm_server.reply_error(429, "1302", retry_after=2)`` queues a GLM error (JSON body
  ``{"error": {"code": "1302", "message": ...}}``, ``Retry-After: 2``); ``html=True`` sends a
  gateway HTML page instead.
- Faults, per reply: ``delay_before_headers=``, ``trickle=`` (seconds between frames),
  ``cut_after=N`` (drop the connection after N frames), ``disconnect=True``,
  ``stream_error={"code": "1305", "message": ...}`` (an in-stream error frame),
  ``malformed_after=N`` (a broken JSON frame).
- ``glm_server.reply_raw(body)`` serves a body byte for byte, e.g. a capture of the real
  service (SSE frames or a JSON document).
- ``glm_server.script(auto_reply)`` answers like a cooperative model without per-turn
  scripting: it calls bound tools with arguments built from their schema, answers tool
  results, honours JSON mode and stop words (``from langchain_glm.testing import auto_reply``).
- ``glm_server.script(fn)`` answers every request with ``fn(request)`` (a `Reply` or
  `ErrorReply`) while the queue is empty.
- ``glm_server.requests`` lists every request (``.method``, ``.path``, ``.headers`` with
  lower-case names, ``.json``); ``glm_server.last_request`` is the latest.
- ``@pytest.mark.glm_server(api_key="secret", models=["glm-4.6"])`` configures the fixture's
  server for one test; without pytest use ``with GLMServer() as server:`` or
  ``async with GLMServer() as server:``.

For notebooks and demos, run it standalone: ``python -m langchain_glm.testing --port 8000``
prints ``GLM test server listening on http://127.0.0.1:8000/api/paas/v4``; pass that URL as
``base_url`` and any API key.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_glm.testing._auto import auto_reply
    from langchain_glm.testing._replies import ErrorReply, RawReply, RecordedRequest, Reply, Script
    from langchain_glm.testing._server import DEFAULT_MODELS, GLMServer

__all__ = [
    "DEFAULT_MODELS",
    "ErrorReply",
    "GLMServer",
    "RawReply",
    "RecordedRequest",
    "Reply",
    "Script",
    "auto_reply",
]

_HOMES = {
    "DEFAULT_MODELS": "langchain_glm.testing._server",
    "GLMServer": "langchain_glm.testing._server",
    "ErrorReply": "langchain_glm.testing._replies",
    "RawReply": "langchain_glm.testing._replies",
    "RecordedRequest": "langchain_glm.testing._replies",
    "Reply": "langchain_glm.testing._replies",
    "Script": "langchain_glm.testing._replies",
    "auto_reply": "langchain_glm.testing._auto",
}


def __getattr__(name: str) -> Any:
    """Import public names on first use, so the auto-loaded pytest plugin stays cheap.

    Args:
        name: The attribute asked for.

    Returns:
        The public object.

    Raises:
        AttributeError: If ``name`` is not public here.
    """
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    """List the public names.

    Returns:
        ``__all__``.
    """
    return list(__all__)
