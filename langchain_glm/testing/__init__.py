r"""Testing your app offline: the GLM service behaviour, over HTTP or in-process.

It speaks GLM's chat-completions protocol as the real service does: the same JSON keys and
SSE frames per model generation (GLM-4.6 and GLM-4.7/5.x shapes), tool-call ids, validation
errors from the capability table (unknown model, ``tool_choice`` other than ``"auto"``,
``max_tokens``, stop words, ``thinking`` and ``reasoning_effort`` per model, context overflow)
and authentication. No API key or network; a test tool, never for production.

- `GLMTransport`: in-process, no sockets; the fastest way to test code that calls `ChatGLM`.
- `GLMServer`: real HTTP on 127.0.0.1 (the ``glm_server`` pytest fixture gives each test a
  fresh one; ``@pytest.mark.glm_server(api_key=..., models=[...], validate=False)``
  configures it); ``with GLMServer() as server:`` or ``async with`` elsewhere.

Both script the same way:

```python
import httpx

from langchain_glm import ChatGLM
from langchain_glm.testing import GLMTransport

glm = GLMTransport()
glm.reply(text="Hello!", reasoning="Greet back.")
llm = ChatGLM(
    model="glm-5.3",
    base_url=glm.base_url,
    api_key="test",
    http_client=httpx.Client(transport=glm),
    http_async_client=httpx.AsyncClient(transport=glm),
)
assert llm.invoke("hi").content == "Hello!"
assert glm.last_request.json["messages"][-1] == {"role": "user", "content": "hi"}
assert "You said: again" in llm.invoke("again").content  # nothing queued: the default reply
```

Script with ``reply(text, **fields)`` (a `Reply`: reasoning, tool calls, usage, and faults
such as ``trickle``, ``cut_after``, ``disconnect``, ``stream_error``; ``times=N`` repeats),
``reply_error(429, "1302", retry_after=2)``, ``reply_raw(capture_bytes)``, ``script(fn)``
(e.g. `auto_reply`: calls bound tools, answers tool results, does JSON mode, from the request
JSON alone). ``requests`` / ``last_request`` record what your code sent (`RecordedRequest`).

Standalone, for notebooks and demos: ``python -m langchain_glm.testing --auto --port 8000``
prints ``GLM test server listening on http://127.0.0.1:8000/api/paas/v4``.

Migration from 0.x: names are unchanged. `GLMServer.reply` now forwards its keywords to `Reply`
(same names; ``times=`` as before), `GLMServer` no longer reads the client's structured-output
prompt, and `DEFAULT_MODELS` is every model of ``langchain_glm._models.MODELS``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_glm.testing._auto import auto_reply
    from langchain_glm.testing._batch import advance_batches, expire_batches
    from langchain_glm.testing._replies import (
        ErrorReply,
        Plan,
        RawReply,
        RecordedRequest,
        Reply,
        Script,
    )
    from langchain_glm.testing._server import GLMServer
    from langchain_glm.testing._service import DEFAULT_MODELS, GLMService
    from langchain_glm.testing._transport import GLMTransport

_HOMES = {
    "DEFAULT_MODELS": "_service",
    "GLMService": "_service",
    "Plan": "_replies",
    "GLMServer": "_server",
    "GLMTransport": "_transport",
    "ErrorReply": "_replies",
    "RawReply": "_replies",
    "RecordedRequest": "_replies",
    "Reply": "_replies",
    "Script": "_replies",
    "auto_reply": "_auto",
    "advance_batches": "_batch",
    "expire_batches": "_batch",
}
__all__ = [
    "DEFAULT_MODELS",
    "ErrorReply",
    "GLMServer",
    "GLMService",
    "GLMTransport",
    "Plan",
    "RawReply",
    "RecordedRequest",
    "Reply",
    "Script",
    "advance_batches",
    "auto_reply",
    "expire_batches",
]


def __getattr__(name: str) -> Any:
    """Import public names on first use, so the auto-loaded pytest plugin stays cheap."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)


def __dir__() -> list[str]:
    """List the public names."""
    return list(__all__)
