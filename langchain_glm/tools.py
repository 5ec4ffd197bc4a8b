"""Builders for GLM's built-in tools: web search, knowledge-base retrieval and MCP servers.

GLM runs these tools itself, on the server: the `tools` entries of type
`web_search`, `retrieval` and `mcp` in https://docs.z.ai/api-reference/llm/chat-completion
(web search in chat: https://docs.bigmodel.cn/cn/guide/tools/web-search; MCP:
https://docs.z.ai/guides/capabilities/mcp-call). Pass what these helpers
return to `ChatGLM.bind_tools` next to ordinary function tools; they are sent
unchanged. Web-search results come back in `response_metadata["web_search"]` and
as `server_tool_call` / `server_tool_result` blocks in `message.content_blocks`
(`web_search_results` reads them from any message).

Example:
    ```python
    from langchain_glm import ChatGLM, web_search_tool

    llm = ChatGLM(model="glm-4.6").bind_tools(
        [web_search_tool(search_engine="search_pro", count=5, search_recency_filter="oneWeek")]
    )
    msg = llm.invoke("What happened in AI this week?")
    for block in msg.content_blocks:
        if block["type"] == "server_tool_result":
            print(block["output"])  # title, link, content, ... of each result
    ```
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from langchain_core.messages import BaseMessage

from langchain_glm._region import CHAT_SEARCH_ENGINES, region_of

__all__ = ["mcp_tool", "retrieval_tool", "web_search_results", "web_search_tool"]

SearchEngine = Literal[
    "search_std", "search_pro", "search_pro_sogou", "search_pro_quark", "search_pro_jina"
]
"""Search engines GLM documents: `search_std`, `search_pro`, `search_pro_sogou`,
`search_pro_quark` (open.bigmodel.cn) and `search_pro_jina` (api.z.ai)."""

RecencyFilter = Literal["oneDay", "oneWeek", "oneMonth", "oneYear", "noLimit"]
"""How recent results must be."""


def web_search_tool(
    *,
    search_engine: SearchEngine | str | None = None,
    search_query: str | None = None,
    count: int | None = None,
    search_domain_filter: str | None = None,
    search_recency_filter: RecencyFilter | None = None,
    content_size: Literal["medium", "high"] | None = None,
    result_sequence: Literal["before", "after"] | None = None,
    search_result: bool | None = None,
    require_search: bool | None = None,
    search_intent: bool | None = None,
    search_prompt: str | None = None,
    enable: bool = True,
    base_url: str | None = None,
) -> dict[str, Any]:
    """Build GLM's built-in `web_search` tool (https://docs.bigmodel.cn/cn/guide/tools/web-search).

    Only the options you pass are sent; the others keep GLM's defaults, except the engine,
    which Z.ai's schema requires (https://docs.z.ai/api-reference/llm/chat-completion): without
    `search_engine`, the engine of the platform of `base_url` is sent, `search_pro_jina` on
    api.z.ai and `search_std` on open.bigmodel.cn. Without `base_url` either, `ChatGLM.bind_tools`
    fills in the engine of the model's own `base_url`. On other hosts none is filled in.

    Args:
        search_engine: Engine id, e.g. `"search_std"`, `"search_pro"` (BigModel) or
            `"search_pro_jina"` (api.z.ai). Other strings are sent as given.
        search_query: Search for this query instead of one the model writes.
        count: Number of results, 1 to 50.
        search_domain_filter: Only return results from this domain, e.g. `"www.example.com"`.
        search_recency_filter: `"oneDay"`, `"oneWeek"`, `"oneMonth"`, `"oneYear"` or `"noLimit"`.
        content_size: How much page text each result carries: `"medium"` or `"high"`.
        result_sequence: Return results `"before"` or `"after"` the model's answer.
        search_result: Return the search results in the response (`web_search`).
        require_search: Make the model answer only from search results.
        search_intent: Return the detected search intent (BigModel).
        search_prompt: Custom prompt telling the model how to use the results.
        enable: Turn the tool on (`False` sends it disabled).
        base_url: The API base the tool is sent to, to pick the default engine.

    Returns:
        `{"type": "web_search", "web_search": {...}}`, ready for `bind_tools`.

    Raises:
        ValueError: `count` outside 1-50, or an empty `search_query`/`search_engine`.
    """
    if count is not None and not 1 <= count <= 50:
        msg = f"count={count!r}: GLM returns 1 to 50 web-search results."
        raise ValueError(msg)
    for name, text in (("search_engine", search_engine), ("search_query", search_query)):
        if text is not None and not text.strip():
            msg = f"{name} must not be empty; leave it out to use GLM's default."
            raise ValueError(msg)
    options = {
        "search_engine": search_engine,
        "search_query": search_query,
        "count": count,
        "search_domain_filter": search_domain_filter,
        "search_recency_filter": search_recency_filter,
        "content_size": content_size,
        "result_sequence": result_sequence,
        "search_result": search_result,
        "require_search": require_search,
        "search_intent": search_intent,
        "search_prompt": search_prompt,
    }
    body: dict[str, Any] = {"enable": enable}
    body.update({key: value for key, value in options.items() if value is not None})
    tool = {"type": "web_search", "web_search": body}
    return tool if base_url is None else with_search_engine(tool, base_url)


def with_search_engine(tool: dict[str, Any], base_url: str) -> dict[str, Any]:
    """A chat `web_search` tool with the engine of the platform of `base_url` filled in.

    Args:
        tool: Any GLM tool object; only a `web_search` one without a `search_engine` changes.
        base_url: The API base the tool is sent to.

    Returns:
        `tool` itself, or a copy with `search_engine` set (`search_pro_jina` on api.z.ai,
        `search_std` on open.bigmodel.cn; other hosts get none).
    """
    options = tool.get("web_search")
    region = region_of(base_url)
    if tool.get("type") != "web_search" or not isinstance(options, Mapping) or region is None:
        return tool
    if options.get("search_engine") is not None:
        return tool
    return {**tool, "web_search": {**options, "search_engine": CHAT_SEARCH_ENGINES[region]}}


def retrieval_tool(knowledge_id: str, *, prompt_template: str | None = None) -> dict[str, Any]:
    """Build GLM's built-in `retrieval` tool: answer from a BigModel knowledge base.

    Args:
        knowledge_id: Id of the knowledge base (created in the BigModel console).
        prompt_template: Prompt with `{{knowledge}}` and `{{question}}` placeholders;
            None uses GLM's default.

    Returns:
        `{"type": "retrieval", "retrieval": {...}}`, ready for `bind_tools`.

    Raises:
        ValueError: Empty `knowledge_id`.
    """
    if not knowledge_id.strip():
        msg = "knowledge_id must not be empty."
        raise ValueError(msg)
    body: dict[str, Any] = {"knowledge_id": knowledge_id}
    if prompt_template is not None:
        body["prompt_template"] = prompt_template
    return {"type": "retrieval", "retrieval": body}


def mcp_tool(
    server_label: str,
    *,
    server_url: str | None = None,
    transport_type: Literal["sse", "streamable-http"] | None = None,
    allowed_tools: Sequence[str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Build GLM's built-in `mcp` tool: let GLM call a remote MCP server's tools.

    Args:
        server_label: Label of the MCP server (a BigModel-hosted one, or your name for
            `server_url`).
        server_url: URL of your own MCP server.
        transport_type: `"sse"` or `"streamable-http"`.
        allowed_tools: Only these tools of the server may be called.
        headers: HTTP headers GLM sends to the server (e.g. its authorization).

    Returns:
        `{"type": "mcp", "mcp": {...}}`, ready for `bind_tools`.

    Raises:
        ValueError: Empty `server_label`.
    """
    if not server_label.strip():
        msg = "server_label must not be empty."
        raise ValueError(msg)
    body: dict[str, Any] = {"server_label": server_label}
    if server_url is not None:
        body["server_url"] = server_url
    if transport_type is not None:
        body["transport_type"] = transport_type
    if allowed_tools is not None:
        body["allowed_tools"] = list(allowed_tools)
    if headers is not None:
        body["headers"] = dict(headers)
    return {"type": "mcp", "mcp": body}


def web_search_results(message: BaseMessage) -> list[dict[str, Any]]:
    """The web-search results GLM returned with a reply (empty when it did not search).

    Works on invoked messages and on aggregated stream chunks.

    Args:
        message: A message produced by `ChatGLM`.

    Returns:
        GLM's result objects (`title`, `content`, `link`, `media`, `icon`, `refer`,
        `publish_date`), in GLM's order.
    """
    results = message.response_metadata.get("web_search")
    if not isinstance(results, list):
        return []
    return [dict(item) for item in results if isinstance(item, Mapping)]
