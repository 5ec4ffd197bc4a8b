r"""Testing your app offline: the GLM service behaviour, over HTTP or in-process.

It speaks GLM's protocol as the real service does: the same JSON keys and SSE frames per model
generation (GLM-4.6 and GLM-4.7/5.x shapes), tool-call ids, the Batch API, authentication and
validation errors from the capability table (unknown model, ``tool_choice`` other than
``"auto"``, ``max_tokens``, stop words, ``thinking``/``reasoning_effort``, context overflow).
No API key or network; a test tool, never for production. `GLMTransport` is an in-process httpx
transport (no sockets, the fastest); `GLMServer` is real HTTP on 127.0.0.1, and the
``glm_server`` pytest fixture gives each test a fresh one (configure it with
``@pytest.mark.glm_server(api_key=..., models=[...], validate=False)``). Both script the same:

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

Script with ``reply(text, **fields)`` (a `Reply`: reasoning, tool calls, usage, and faults such
as ``trickle``, ``cut_after``, ``disconnect``, ``stream_error``; ``times=N`` repeats),
``reply_error(429, "1302", retry_after=2)``, ``reply_raw(capture_bytes)``, ``fail(path_part,
503, "1234")`` (any route), ``script(fn)`` (e.g. `auto_reply`: calls bound tools, answers tool
results, does JSON mode, from the request JSON alone). ``requests`` / ``last_request`` record
what your code sent (`RecordedRequest`). Batch jobs move one status per ``GET /batches/{id}``;
with ``batch_state["auto_advance"] = False``, drive them with
``advance_batches(glm.batch_state, steps=2)`` and ``expire_batches(glm.batch_state)``.
Standalone, for notebooks and demos: ``python -m langchain_glm.testing --auto --port 8000``
prints ``GLM test server listening on http://127.0.0.1:8000/api/paas/v4``.

Migration from 0.x: names are unchanged. `GLMServer.reply` forwards its keywords to `Reply`,
`GLMServer` no longer reads the client's structured-output prompt, and `DEFAULT_MODELS` is every
model of ``langchain_glm._models.MODELS``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_glm.testing._auto import auto_reply
    from langchain_glm.testing._batch import advance_batches, expire_batches
    from langchain_glm.testing._server import GLMServer, GLMTransport
    from langchain_glm.testing._service import (
        DEFAULT_MODELS,
        ErrorReply,
        GLMService,
        Plan,
        RawReply,
        RecordedRequest,
        Reply,
        Script,
    )

_HOME = {
    "_auto": "auto_reply",
    "_batch": "advance_batches expire_batches",
    "_server": "GLMServer GLMTransport",
    "_service": "DEFAULT_MODELS ErrorReply GLMService Plan RawReply RecordedRequest Reply Script",
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
    home = next((m for m, names in _HOME.items() if name in names.split()), None)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


def __dir__() -> list[str]:
    """List the public names."""
    return list(__all__)
