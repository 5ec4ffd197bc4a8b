r"""Testing your app offline: GLM's service behaviour (chat, tools, Batch, retrieval, web).

A test tool, never for production: `GLMTransport` is an in-process httpx transport (no sockets),
`GLMServer` real HTTP on 127.0.0.1; the ``glm_server`` pytest fixture gives each test a fresh one
(``@pytest.mark.glm_server(api_key=..., models=[...], validate=False)``; opt in with
``pytest_plugins = ["langchain_glm.testing.pytest_plugin"]`` in your conftest). Both script alike:

```python
import httpx
from langchain_glm import ChatGLM
from langchain_glm.testing import GLMTransport

glm = GLMTransport()
glm.reply(text="Hello!", reasoning="Greet back.")
client = httpx.Client(transport=glm)
llm = ChatGLM(model="glm-5.3", base_url=glm.base_url, api_key="test", http_client=client)
assert llm.invoke("hi").content == "Hello!"
assert glm.last_request.json["messages"][-1] == {"role": "user", "content": "hi"}
assert "You said: again" in llm.invoke("again").content  # nothing queued: the default reply
```

Script with ``reply(text, **fields)`` (a `Reply`; ``times=N`` repeats), ``reply_error(429,
"1302")``, ``reply_raw(capture)``, ``fail(path_part, 503, "1234")`` or ``script(auto_reply)``; read
``requests`` / ``last_request`` (`RecordedRequest`); drive Batch API jobs with `advance_batches` /
`expire_batches`. ``/embeddings`` and ``/rerank`` answer computed vectors and scores; queued
replies and faults apply to them, scripts to chat only. ``/web_search``, ``/reader`` and
``/layout_parsing`` answer from `search_corpus`, `web_pages` and `layout_pages` (defaults: a small
corpus about GLM, its pages, a PDF's own text); faults apply, queued replies do not.
Standalone: ``python -m langchain_glm.testing --auto --port 8000``. Migration: ``RawReply(...)``
became ``WireReply.of(status, body)`` (briefly named ``Plan``, a name the client's retry plan uses
too); ``GLMServer(host=...)`` is gone (127.0.0.1 only). More: the README section "Testing your app
offline".
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_glm.testing._auto import auto_reply
    from langchain_glm.testing._base import ErrorReply, RecordedRequest, Reply, Script, WireReply
    from langchain_glm.testing._batch import advance_batches, expire_batches
    from langchain_glm.testing._server import GLMServer, GLMTransport
    from langchain_glm.testing._service import DEFAULT_MODELS, GLMService
    from langchain_glm.testing._web import layout_pages, search_corpus, web_pages

__all__ = ["DEFAULT_MODELS", "ErrorReply", "GLMService", "RecordedRequest", "WireReply"]
__all__ += ["GLMServer", "GLMTransport", "Reply", "Script", "advance_batches", "auto_reply"]
__all__ += ["expire_batches", "layout_pages", "search_corpus", "web_pages"]


def __getattr__(name: str) -> Any:
    """Import public names on first use: `import langchain_glm.testing` stays cheap."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    homes = [
        importlib.import_module(f"{__name__}.{m}")
        for m in ("_base", "_service", "_batch", "_server", "_web")
    ]
    return next(getattr(m, name) for m in homes if hasattr(m, name))
