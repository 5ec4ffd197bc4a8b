"""Smoke test of a built wheel, run by `make test-packaging` in a fresh venv that holds only it.

Run from outside the checkout, so that `langchain_glm` can only come from the installed wheel:
one offline `invoke` through the in-process `GLMTransport`, one over HTTP against the bundled
`GLMServer` (which needs the declared `h11`), and no pytest plugin registered by the install.
"""

from __future__ import annotations

import sys
from importlib.metadata import distribution
from pathlib import Path

import httpx

import langchain_glm
from langchain_glm import ChatGLM
from langchain_glm.testing import GLMServer, GLMTransport


def _check(ok: bool, what: str) -> None:
    """Stop with a message naming what failed."""
    if not ok:
        sys.exit(f"wheel smoke test failed: {what}")


def main() -> None:
    """Check where the package came from, then answer two offline calls."""
    home = Path(langchain_glm.__file__).resolve()
    _check(home.is_relative_to(Path(sys.prefix).resolve()), f"imported from {home}")
    dist = distribution("langchain-glm")
    _check(not [p for p in dist.entry_points if p.group == "pytest11"], "a pytest11 entry point")
    transport = GLMTransport()
    transport.reply(text="Hello from the wheel.")
    with httpx.Client(transport=transport) as http:
        llm = ChatGLM(
            model="glm-5.3", base_url=transport.base_url, api_key="test", http_client=http
        )
        _check(llm.invoke("hi").content == "Hello from the wheel.", "the transport reply")
    with GLMServer() as server:
        server.reply(text="Hello over HTTP.")
        llm = ChatGLM(model="glm-4.6", base_url=server.base_url, api_key="test")
        _check(llm.invoke("hi").content == "Hello over HTTP.", "the server reply")
    print(f"wheel smoke test passed: langchain-glm {dist.version} from {home.parent}")


if __name__ == "__main__":
    main()
