"""Which Z.ai platform a `base_url` points at, and what each platform takes (pure, no I/O).

Z.ai serves two platforms with the same API shapes but different web-search engines:

- international, `api.z.ai`: the Web Search API takes only `search-prime`
  (https://docs.z.ai/api-reference/tools/web-search); the chat `web_search` tool takes
  `search_pro_jina` (https://docs.z.ai/api-reference/llm/chat-completion).
- China mainland (BigModel), `open.bigmodel.cn`: `search_std`, `search_pro`,
  `search_pro_sogou`, `search_pro_quark`, in both the Web Search API
  (https://docs.bigmodel.cn/api-reference/工具-api/网络搜索) and the chat tool
  (https://docs.bigmodel.cn/cn/guide/tools/web-search).

Any other host (a proxy, a self-hosted server, the local test server) is "custom": nothing
is checked there and nothing is filled in.
"""

from __future__ import annotations

import os
from typing import Literal

import httpx

Region = Literal["zai", "bigmodel"]
"""`"zai"` (api.z.ai, international) or `"bigmodel"` (open.bigmodel.cn, China mainland)."""

HOSTS: dict[str, Region] = {"api.z.ai": "zai", "open.bigmodel.cn": "bigmodel"}
"""Host of each platform's API."""
STANDARD_BASES: dict[Region, str] = {
    "zai": "https://api.z.ai/api/paas/v4",
    "bigmodel": "https://open.bigmodel.cn/api/paas/v4",
}
"""Each platform's pay-as-you-go API base."""
SEARCH_ENGINES: dict[Region, tuple[str, ...]] = {
    "zai": ("search-prime",),
    "bigmodel": ("search_std", "search_pro", "search_pro_sogou", "search_pro_quark"),
}
"""Engines each platform's Web Search API (`POST /web_search`) takes; the first is the default."""
CHAT_SEARCH_ENGINES: dict[Region, str] = {"zai": "search_pro_jina", "bigmodel": "search_std"}
"""The engine sent in a chat `web_search` tool that names none (Z.ai's schema requires one)."""
NAMES: dict[Region, str] = {"zai": "api.z.ai (international)", "bigmodel": "open.bigmodel.cn"}


def region_of(base_url: str) -> Region | None:
    """The platform of an API base, or None for any other host (not checked).

    Args:
        base_url: An absolute http(s) URL.

    Returns:
        `"zai"`, `"bigmodel"` or None.
    """
    return HOSTS.get(httpx.URL(base_url).host.lower())


def env_base_url(default: str) -> str:
    """The API base from the environment, exactly as `ChatGLM` reads it.

    Args:
        default: Used when neither `ZAI_BASE_URL` nor `ZHIPUAI_BASE_URL` is set.

    Returns:
        `ZAI_BASE_URL`, else `ZHIPUAI_BASE_URL`, else `default`.
    """
    return os.environ.get("ZAI_BASE_URL") or os.environ.get("ZHIPUAI_BASE_URL") or default


def check_search_engine(engine: str | None, base_url: str) -> str | None:
    """The Web Search API engine to send: `engine`, or the platform's default.

    Args:
        engine: The engine asked for, or None for the platform's default.
        base_url: The API base the request goes to.

    Returns:
        The engine, or None on a custom base with no engine asked for (none is sent).

    Raises:
        ValueError: If the platform of `base_url` does not take `engine`.
    """
    region = region_of(base_url)
    if region is None:
        return engine
    taken = SEARCH_ENGINES[region]
    if engine is None:
        return taken[0]
    if engine not in taken:
        others = [r for r, engines in SEARCH_ENGINES.items() if engine in engines]
        where = f" ({engine!r} is for {NAMES[others[0]]})" if others else ""
        msg = (
            f"search_engine={engine!r} is not served on {NAMES[region]}{where}; "
            f"it takes {', '.join(map(repr, taken))}"
        )
        raise ValueError(msg)
    return engine


def other_region_hint(base_url: str) -> str | None:
    """What to say when an endpoint is missing (404) on a platform's standard base.

    Args:
        base_url: The API base that answered 404.

    Returns:
        A sentence naming the other platform's base, or None when `base_url` is not a
        standard base.
    """
    region = next((r for r, base in STANDARD_BASES.items() if base == base_url.rstrip("/")), None)
    if region is None:
        return None
    other: Region = "bigmodel" if region == "zai" else "zai"
    return (
        f"not found on {NAMES[region]}; if your key belongs to {NAMES[other]}, "
        f"use base_url={STANDARD_BASES[other]!r}"
    )
