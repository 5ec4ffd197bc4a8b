"""GLMWebSearch, GLMWebReader, GLMSearchRetriever and GLMLayoutLoader at the HTTP level.

Every request goes through `GLMTransport` (no sockets), or through a plain
`httpx.MockTransport` serving bytes written here, independent of our test server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from langchain_core.load import dumps
from langchain_core.messages import ToolCall, ToolMessage

from langchain_glm import (
    ChatGLM,
    GLMAPIError,
    GLMInvalidRequestError,
    GLMLayoutLoader,
    GLMNotFoundError,
    GLMSearchRetriever,
    GLMWebReader,
    GLMWebSearch,
    web_search_tool,
)
from langchain_glm.testing import GLMTransport, layout_pages, search_corpus, web_pages
from tests.web._pdf import tiny_pdf

ZAI = "https://api.z.ai/api/paas/v4"
BIGMODEL = "https://open.bigmodel.cn/api/paas/v4"
KEY = "sk-web-secret-0123456789"


@pytest.fixture
def glm() -> GLMTransport:
    return GLMTransport()


def on(glm: GLMTransport, base_url: str = GLMTransport.base_url) -> dict[str, Any]:
    """Settings that send every request to `glm`, whatever host `base_url` names."""
    return {
        "base_url": base_url,
        "api_key": KEY,
        "http_client": httpx.Client(transport=glm),
        "http_async_client": httpx.AsyncClient(transport=glm),
    }


def call(tool: Any, args: dict[str, Any]) -> ToolMessage:
    message = tool.invoke(ToolCall(name=tool.name, args=args, id="call-1", type="tool_call"))
    assert isinstance(message, ToolMessage)
    return message


# ------------------------------------------------------------------ region rules


@pytest.mark.parametrize(("base_url", "engine"), [(ZAI, "search-prime"), (BIGMODEL, "search_std")])
def test_default_engine_follows_the_platform(glm: GLMTransport, base_url: str, engine: str) -> None:
    GLMWebSearch(**on(glm, base_url)).invoke({"query": "GLM"})
    assert glm.last_request.headers["host"] == httpx.URL(base_url).host
    assert glm.last_request.json["search_engine"] == engine


@pytest.mark.parametrize("engine", ["search_pro", "search_pro_sogou", "search_pro_quark"])
def test_bigmodel_engines_are_sent(glm: GLMTransport, engine: str) -> None:
    GLMSearchRetriever(search_engine=engine, **on(glm, BIGMODEL)).invoke("GLM")
    assert glm.last_request.json["search_engine"] == engine


@pytest.mark.parametrize(
    ("base_url", "engine", "named"),
    [(ZAI, "search_std", "'search-prime'"), (BIGMODEL, "search-prime", "'search_pro_quark'")],
)
def test_an_engine_of_the_other_platform_is_refused(base_url: str, engine: str, named: str) -> None:
    for cls in (GLMWebSearch, GLMSearchRetriever):
        with pytest.raises(ValueError, match=named):
            cls(base_url=base_url, search_engine=engine)


def test_a_custom_base_is_not_checked(glm: GLMTransport) -> None:
    with pytest.raises(GLMInvalidRequestError, match="my-engine"):  # the server's answer
        GLMWebSearch(search_engine="my-engine", **on(glm)).invoke({"query": "GLM"})
    assert glm.last_request.json["search_engine"] == "my-engine"
    GLMWebSearch(**on(glm)).invoke({"query": "GLM"})
    assert "search_engine" not in glm.last_request.json


def test_a_404_on_a_standard_base_names_the_other_platform(glm: GLMTransport) -> None:
    glm.fail("/reader", 404, "1222", "API does not exist")
    with pytest.raises(GLMNotFoundError, match=r"base_url='https://open\.bigmodel\.cn"):
        GLMWebReader(**on(glm, ZAI)).invoke({"url": "https://docs.z.ai/guides/llm/glm-5.4"})
    glm.fail("/web_search", 404, "1222", "API does not exist")
    with pytest.raises(GLMNotFoundError, match=r"use base_url='https://api\.z\.ai"):
        asyncio.run(GLMWebSearch(**on(glm, BIGMODEL)).ainvoke({"query": "GLM"}))
    glm.fail("/web_search", 404, "1222", "API does not exist")
    with pytest.raises(GLMNotFoundError) as caught:
        GLMWebSearch(**on(glm)).invoke({"query": "GLM"})
    assert "base_url=" not in str(caught.value)


@pytest.mark.parametrize(
    ("base_url", "engine"), [(ZAI, "search_pro_jina"), (BIGMODEL, "search_std")]
)
def test_chat_web_search_tool_sends_the_platform_engine(base_url: str, engine: str) -> None:
    assert web_search_tool(base_url=base_url)["web_search"]["search_engine"] == engine
    assert "search_engine" not in web_search_tool()["web_search"]
    assert "search_engine" not in web_search_tool(base_url=GLMTransport.base_url)["web_search"]
    assert (
        web_search_tool(search_engine="search_pro", base_url=base_url)["web_search"][
            "search_engine"
        ]
        == "search_pro"
    )


@pytest.mark.parametrize(
    ("base_url", "engine"), [(ZAI, "search_pro_jina"), (BIGMODEL, "search_std")]
)
def test_chat_glm_fills_the_engine_of_its_platform(
    glm: GLMTransport, base_url: str, engine: str
) -> None:
    llm = ChatGLM(model="glm-4.6", **on(glm, base_url))
    raw = {"type": "web_search", "web_search": {"enable": True}}
    llm.bind_tools([web_search_tool(count=3), raw]).invoke("news?")
    sent = [tool["web_search"] for tool in glm.last_request.json["tools"]]
    assert sent == [
        {"enable": True, "count": 3, "search_engine": engine},
        {"enable": True, "search_engine": engine},
    ]
    assert raw == {"type": "web_search", "web_search": {"enable": True}}  # not changed in place


# ------------------------------------------------------------------ bad input, nothing sent


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({"query": ""}, "query"),
        ({"query": "   "}, "query"),
        ({"query": "GLM", "count": 0}, "count"),
        ({"query": "GLM", "count": 51}, "count"),
        ({"query": "GLM", "search_recency_filter": "oneCentury"}, "search_recency_filter"),
    ],
)
def test_bad_search_arguments_are_refused_before_sending(
    glm: GLMTransport, args: dict[str, Any], problem: str
) -> None:
    tool = GLMWebSearch(**on(glm))
    with pytest.raises(ValueError, match=problem):
        tool.invoke(args)
    with pytest.raises(ValueError, match=problem):
        tool._run(**args)  # past the args schema: the tool's own check
    if "search_recency_filter" not in args:  # a retriever call chooses query and k only
        with pytest.raises(ValueError, match=problem):
            GLMSearchRetriever(**on(glm)).invoke(args["query"], k=args.get("count", 3))
    assert glm.requests == []


@pytest.mark.parametrize("field", ["max_chars", "fetch_timeout"])
@pytest.mark.parametrize("bad", [0, True, 2.0])
def test_bad_reader_settings_are_refused_at_construction(field: str, bad: Any) -> None:
    settings: dict[str, Any] = {field: bad}
    with pytest.raises(ValueError, match=field):  # True was taken as 1 character / second
        GLMWebReader(**settings)


@pytest.mark.parametrize(
    "settings",
    [
        {"count": 0},
        {"count": 51},
        {"count": True},
        {"search_recency_filter": "yesterday"},
        {"content_size": "huge"},
        {"search_domain_filter": ""},
    ],
)
def test_bad_search_settings_are_refused_at_construction(settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(settings))):
        GLMWebSearch(**settings)


@pytest.mark.parametrize("k", [0, 51])
def test_bad_k_is_refused(glm: GLMTransport, k: int) -> None:
    with pytest.raises(ValueError, match="k"):
        GLMSearchRetriever(k=k)
    with pytest.raises(ValueError, match="count"):
        GLMSearchRetriever(**on(glm)).invoke("GLM", k=k)
    assert glm.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "docs.z.ai/guides",
        "/guides/llm",
        "ftp://docs.z.ai/file",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https://",
        " https://docs.z.ai/",
        "https://docs.z.ai/\r\nHost: evil",
        "",
        "http://[bad/page",  # httpx would send the host percent-encoded
        "https://docs.z.ai/a page",
    ],
)
def test_reader_refuses_anything_but_absolute_http_urls(glm: GLMTransport, url: str) -> None:
    reader = GLMWebReader(**on(glm))
    with pytest.raises(ValueError, match="http"):
        reader.invoke({"url": url})
    with pytest.raises(ValueError, match="http"):
        asyncio.run(reader.ainvoke({"url": url}))
    assert glm.requests == []


def test_no_key_fails_before_sending(glm: GLMTransport, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZAI_API_KEY", raising=False)
    monkeypatch.delenv("ZHIPUAI_API_KEY", raising=False)
    settings = {**on(glm), "api_key": None}
    with pytest.raises(Exception, match="no GLM API key"):
        GLMWebSearch(**settings).invoke({"query": "GLM"})
    assert glm.requests == []


# ------------------------------------------------------------------ search results


def test_search_sends_the_documented_body(glm: GLMTransport) -> None:
    tool = GLMWebSearch(
        count=5,
        search_recency_filter="oneWeek",
        search_domain_filter="docs.z.ai",
        content_size="high",
        **on(glm, BIGMODEL),
    )
    tool.invoke({"query": "GLM-5.4 release"})
    assert glm.last_request.path == "/api/paas/v4/web_search"
    assert glm.last_request.headers["authorization"] == f"Bearer {KEY}"
    assert glm.last_request.json == {
        "search_query": "GLM-5.4 release",
        "search_engine": "search_std",
        "count": 5,
        "search_recency_filter": "oneWeek",
        "search_domain_filter": "docs.z.ai",
        "content_size": "high",
    }
    tool.invoke({"query": "GLM", "count": 2, "search_recency_filter": "oneDay"})
    assert glm.last_request.json["count"] == 2
    assert glm.last_request.json["search_recency_filter"] == "oneDay"


CORPUS = [
    {
        "title": "First",
        "link": "https://a.example/1",
        "content": "alpha",
        "publish_date": "2026-12-01",
    },
    {"title": "Second", "link": "https://b.example/2", "content": "beta"},
    {"title": "Third", "link": "https://c.example/3", "content": "gamma", "media": "C"},
]


def test_tool_call_gives_text_and_the_raw_list(glm: GLMTransport) -> None:
    search_corpus(glm, CORPUS)
    message = call(GLMWebSearch(**on(glm)), {"query": "nothing matches", "count": 3})
    assert [r["title"] for r in message.artifact] == ["First", "Second", "Third"]
    assert message.artifact[0]["link"] == "https://a.example/1"
    assert message.content == (
        "1. First\n   https://a.example/1 (a.example, 2026-12-01)\n   alpha\n\n"
        "2. Second\n   https://b.example/2 (b.example)\n   beta\n\n"
        "3. Third\n   https://c.example/3 (C)\n   gamma"
    )


def raw(body: bytes) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    return answer


ONE = {"title": "Only", "content": "c", "link": "https://x.example/", "media": "X", "refer": "1"}


@pytest.mark.parametrize(
    "search_result",
    [[ONE], ONE],
    ids=["documented list", "sdk single object"],
)
def test_both_search_result_forms_are_read(search_result: Any) -> None:
    body = json.dumps({"id": "1", "created": 1, "search_result": search_result}).encode()
    transport = httpx.MockTransport(raw(body))
    settings: dict[str, Any] = {"api_key": KEY, "http_client": httpx.Client(transport=transport)}
    settings["http_async_client"] = httpx.AsyncClient(transport=transport)
    message = call(GLMWebSearch(**settings), {"query": "x"})
    assert message.artifact == [ONE]
    docs = GLMSearchRetriever(**settings).invoke("x")
    assert [d.metadata["source"] for d in docs] == ["https://x.example/"]
    docs = asyncio.run(GLMSearchRetriever(**settings).ainvoke("x"))
    assert [d.page_content for d in docs] == ["c"]


def test_results_past_the_count_asked_are_not_read() -> None:
    many = [{**ONE, "title": f"r{n}", "link": f"https://x.example/{n}"} for n in range(5000)]
    body = json.dumps({"search_result": many}).encode()
    transport = httpx.MockTransport(raw(body))  # a server ignoring `count`
    settings: dict[str, Any] = {"api_key": KEY, "http_client": httpx.Client(transport=transport)}
    settings["http_async_client"] = httpx.AsyncClient(transport=transport)
    message = call(GLMWebSearch(count=3, **settings), {"query": "x"})
    assert [r["title"] for r in message.artifact] == ["r0", "r1", "r2"]
    assert "4. " not in message.content
    message = call(GLMWebSearch(**settings), {"query": "x", "count": 2})
    assert len(message.artifact) == 2
    text = asyncio.run(GLMWebSearch(**settings).ainvoke({"query": "x", "count": 4}))
    assert "4. r3" in text
    assert "5. " not in text
    assert len(GLMSearchRetriever(k=2, **settings).invoke("x")) == 2
    assert len(asyncio.run(GLMSearchRetriever(**settings).ainvoke("x", k=5))) == 5


def test_an_overlong_result_is_cut_for_the_model_and_kept_whole() -> None:
    huge = {**ONE, "content": "word " * 1_000_000}  # 5 MB of one result's "content"
    body = json.dumps({"search_result": [huge, ONE]}).encode()
    transport = httpx.MockTransport(raw(body))
    message = call(
        GLMWebSearch(api_key=KEY, http_client=httpx.Client(transport=transport)), {"query": "x"}
    )
    assert isinstance(message.content, str)
    assert len(message.content) < 11_000
    assert "[cut: the first 10,000 of 5,000,000 characters;" in message.content
    assert "2. Only" in message.content  # the next result is still there
    assert message.artifact[0]["content"] == huge["content"]  # nothing lost


def counted(body: bytes, sent: list[httpx.Request]) -> httpx.Client:
    """A client whose every request is answered with `body` and appended to `sent`."""

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return raw(body)(request)

    return httpx.Client(transport=httpx.MockTransport(answer))


def run_with(client: httpx.Client, kind: str, tmp_path: Path) -> Any:
    settings: dict[str, Any] = {"api_key": KEY, "http_client": client}
    if kind == "search":
        return GLMWebSearch(**settings).invoke({"query": "x"})
    if kind == "reader":
        return GLMWebReader(**settings).invoke({"url": "https://e.example/"})
    path = tmp_path / "a.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n")
    mode: Literal["single", "page"] = "single" if kind == "layout single" else "page"
    return GLMLayoutLoader(path, mode=mode, **settings).load()


@pytest.mark.parametrize(
    ("kind", "bad", "named"),
    [
        ("search", b'{"search_result": "text"}', "search_result"),
        ("search", b'{"search_result": [1, 2]}', "search_result"),
        ("reader", b'{"id": "1"}', "reader_result"),
        ("reader", b'{"reader_result": [1]}', "reader_result"),
        ("layout", b'{"layout_details": {"0": []}}', "layout_details"),
        ("layout", b'{"layout_details": [[1], "page"]}', "layout_details"),
        ("layout", b'{"md_results": "no pages"}', "layout_details"),
        ("layout single", b'{"md_results": ["a", "b"], "layout_details": []}', "md_results"),
        ("layout single", b'{"layout_details": [[]]}', "md_results"),
    ],
)
def test_a_malformed_reply_is_an_error_and_never_resent(
    kind: str, bad: bytes, named: str, tmp_path: Path
) -> None:
    sent: list[httpx.Request] = []
    with pytest.raises(GLMAPIError, match=named) as caught:
        run_with(counted(bad, sent), kind, tmp_path)
    assert caught.value.is_retryable is False
    assert len(sent) == 1  # GLM may have billed it


def test_no_results_is_said(glm: GLMTransport) -> None:
    search_corpus(glm, [])
    message = call(GLMWebSearch(**on(glm)), {"query": "x"})
    assert (message.content, message.artifact) == ("No results.", [])


def test_server_text_cannot_drive_a_terminal(glm: GLMTransport) -> None:
    search_corpus(
        glm, [{"title": "\x1b[2J\x1b]0;pwned\x07Title", "link": "https://e/", "content": "a\x00b"}]
    )
    message = call(GLMWebSearch(**on(glm)), {"query": "x"})
    assert isinstance(message.content, str)
    assert "\x1b" not in message.content
    assert "\x00" not in message.content
    assert message.content.startswith("1. [2J]0;pwnedTitle")
    assert message.artifact[0]["title"].startswith("\x1b")  # the raw result, as GLM sent it
    for docs in (
        GLMSearchRetriever(**on(glm)).invoke("x"),
        asyncio.run(GLMSearchRetriever(**on(glm)).ainvoke("x")),
    ):
        assert docs[0].metadata["title"] == "[2J]0;pwnedTitle"
        assert docs[0].page_content == "ab"


def test_retriever_documents_and_k(glm: GLMTransport) -> None:
    search_corpus(glm, CORPUS)
    retriever = GLMSearchRetriever(k=2, **on(glm))
    docs = retriever.invoke("gamma")
    assert glm.last_request.json["count"] == 2
    assert [d.page_content for d in docs] == ["gamma", "alpha"]  # the best match first
    assert docs[0].metadata == {
        "title": "Third",
        "source": "https://c.example/3",
        "publish_date": "",
        "media": "C",
        "icon": "",
    }
    assert len(asyncio.run(retriever.ainvoke("x", k=3))) == 3
    assert glm.last_request.json["count"] == 3


def test_the_key_is_in_no_repr() -> None:
    objects: list[Any] = [
        GLMWebSearch(api_key=KEY),
        GLMWebReader(api_key=KEY),
        GLMSearchRetriever(api_key=KEY),
        GLMLayoutLoader("x.pdf", api_key=KEY),
    ]
    for obj in objects:
        assert KEY not in repr(obj)
        assert KEY not in str(obj)
    assert KEY not in repr(objects[3].settings)
    for obj in [*objects[:3], objects[3].settings]:
        assert KEY not in dumps(obj)  # a reference to ZAI_API_KEY at most


# ------------------------------------------------------------------ reader


def test_reader_sends_the_documented_body_and_returns_the_page(glm: GLMTransport) -> None:
    web_pages(glm, {"https://e.example/a": {"title": "A page", "content": "Hello *world*"}})
    reader = GLMWebReader(no_cache=True, fetch_timeout=5, **on(glm))
    message = call(reader, {"url": "https://e.example/a"})
    assert glm.last_request.path == "/api/paas/v4/reader"
    assert glm.last_request.json == {
        "url": "https://e.example/a",
        "return_format": "markdown",
        "retain_images": True,
        "timeout": 5,
        "no_cache": True,
    }
    assert message.content == "# A page\n\nSource: https://e.example/a\n\nHello *world*"
    assert message.artifact["content"] == "Hello *world*"


def test_reader_cuts_long_pages_with_a_note_and_keeps_the_whole_page(glm: GLMTransport) -> None:
    page = "x" * 1000
    web_pages(glm, {"https://e.example/long": page})
    message = call(GLMWebReader(max_chars=100, **on(glm)), {"url": "https://e.example/long"})
    assert isinstance(message.content, str)
    shown, note = message.content.split("\n\n[cut: ")
    assert len(shown) == 100
    assert note.startswith("the first 100 of 1,032 characters")
    assert message.artifact["content"] == page
    message = asyncio.run(GLMWebReader(**on(glm)).ainvoke({"url": "https://e.example/long"}))
    assert "[cut" not in message
    assert message.endswith(page)


def test_reader_unknown_page_is_glms_error(glm: GLMTransport) -> None:
    with pytest.raises(Exception, match="unable to read the page") as caught:
        GLMWebReader(**on(glm)).invoke({"url": "https://nowhere.example/"})
    assert getattr(caught.value, "status_code", None) == 400


# ------------------------------------------------------------------ layout loader


def test_pages_come_in_page_order_with_their_metadata(glm: GLMTransport, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(tiny_pdf(["one", "two", "three"]))
    docs = GLMLayoutLoader(path, **on(glm)).load()
    assert [d.page_content for d in docs] == ["one", "two", "three"]
    assert [d.metadata["page"] for d in docs] == [1, 2, 3]
    assert {d.metadata["num_pages"] for d in docs} == {3}
    assert {d.metadata["source"] for d in docs} == {str(path)}
    assert docs[0].metadata["elements"] == [{"label": "text", "bbox_2d": [60, 60, 535, 90]}]
    sent = glm.last_request.json
    assert sent["model"] == "glm-ocr"
    assert sent["file"].startswith("data:application/pdf;base64,JVBERi0")


def test_elements_are_joined_in_reading_order(glm: GLMTransport, tmp_path: Path) -> None:
    elements: list[dict[str, Any]] = [
        {"index": 2, "label": "text", "content": "third", "bbox_2d": [0, 80, 9, 90]},
        {"index": 0, "label": "doc_title", "content": "# Title", "bbox_2d": [0, 0, 9, 10]},
        {"label": "image", "content": "", "bbox_2d": [0, 95, 9, 99]},
        {"index": 1, "label": "text", "content": "second", "bbox_2d": [0, 40, 9, 50]},
    ]
    layout_pages(glm, [elements, "Page two\n\nmore"])
    path = tmp_path / "scan.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    first, second = GLMLayoutLoader(path, **on(glm)).load()
    assert first.page_content == "# Title\n\nsecond\n\nthird"
    assert [e["label"] for e in first.metadata["elements"]] == [
        "doc_title",
        "text",
        "text",
        "image",
    ]
    assert second.page_content == "Page two\n\nmore"
    assert glm.last_request.json["file"].startswith("data:image/png;base64,")


@pytest.mark.parametrize("num_pages", [0, -5, 1, True, "9", 10**40])
def test_the_servers_page_count_and_layout_are_checked(num_pages: Any, tmp_path: Path) -> None:
    element = {"index": 0, "label": "te\x1b[2Jxt", "content": "c", "bbox_2d": [0, 0, 9, 9]}
    odd = {"index": 1, "label": None, "content": "d", "bbox_2d": "x" * 100}
    reply = {"layout_details": [[element], [element, odd]], "data_info": {"num_pages": num_pages}}
    reply["md_results"] = "c\n\nc\n\nd"
    path = tmp_path / "a.pdf"
    path.write_bytes(b"%PDF-1.4\n")
    client = httpx.Client(transport=httpx.MockTransport(raw(json.dumps(reply).encode())))
    docs = GLMLayoutLoader(path, start_page=3, api_key=KEY, http_client=client).load()
    expected = num_pages if num_pages == 10**40 else 4  # pages 3-4 were parsed
    assert [(d.metadata["page"], d.metadata["num_pages"]) for d in docs] == [
        (3, expected),
        (4, expected),
    ]
    assert docs[1].metadata["elements"] == [
        {"label": "te[2Jxt", "bbox_2d": [0, 0, 9, 9]},  # the escape removed, as in the text
        {"label": "", "bbox_2d": None},
    ]
    single = GLMLayoutLoader(path, mode="single", start_page=3, api_key=KEY, http_client=client)
    assert single.load()[0].metadata["num_pages"] == expected


def test_page_range_and_single_mode(glm: GLMTransport, tmp_path: Path) -> None:
    path = tmp_path / "r.pdf"
    path.write_bytes(tiny_pdf(["a", "b", "c", "d"]))
    docs = GLMLayoutLoader(path, start_page=2, end_page=3, **on(glm)).load()
    assert glm.last_request.json["start_page_id"] == 2
    assert glm.last_request.json["end_page_id"] == 3
    assert [(d.metadata["page"], d.page_content) for d in docs] == [(2, "b"), (3, "c")]
    single = GLMLayoutLoader(path, mode="single", **on(glm)).load()
    assert [(d.page_content, d.metadata) for d in single] == [
        ("a\n\nb\n\nc\n\nd", {"source": str(path), "num_pages": 4})
    ]


def test_async_loading_matches(glm: GLMTransport, tmp_path: Path) -> None:
    path = tmp_path / "r.pdf"
    path.write_bytes(tiny_pdf(["a", "b"]))
    loader = GLMLayoutLoader(path, **on(glm))

    async def collect() -> list[Any]:
        return [doc async for doc in loader.alazy_load()]

    assert asyncio.run(collect()) == loader.load()


def test_a_url_is_sent_for_glm_to_fetch(glm: GLMTransport) -> None:
    layout_pages(glm, ["# Remote"], file="https://e.example/r.pdf")
    docs = GLMLayoutLoader("https://e.example/r.pdf", **on(glm)).load()
    assert glm.last_request.json["file"] == "https://e.example/r.pdf"
    assert docs[0].page_content == "# Remote"


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("notes.txt", b"plain text", "not a PDF, JPG or PNG"),
        ("fake.pdf", b"GIF89a....", "not a PDF, JPG or PNG"),
        ("page.docx", b"PK\x03\x04", "not a PDF, JPG or PNG"),
    ],
)
def test_wrong_file_types_are_refused_without_upload(
    glm: GLMTransport, tmp_path: Path, name: str, data: bytes, problem: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ValueError, match=problem):
        GLMLayoutLoader(path, **on(glm)).load()
    assert glm.requests == []


@pytest.mark.parametrize(
    ("name", "magic", "limit_mb"),
    [
        ("big.png", b"\x89PNG\r\n\x1a\n", 10),
        ("big.jpg", b"\xff\xd8\xff\xe0", 10),
        ("big.pdf", b"%PDF-1.4", 50),
    ],
)
def test_files_over_glms_limit_are_refused_without_upload(
    glm: GLMTransport, tmp_path: Path, name: str, magic: bytes, limit_mb: int
) -> None:
    path = tmp_path / name
    with path.open("wb") as file:  # sparse: the size is there, the bytes are not written
        file.write(magic)
        file.truncate(limit_mb * 1024 * 1024 + 1)
    with pytest.raises(ValueError, match=f"up to {limit_mb} MB"):
        GLMLayoutLoader(path, **on(glm)).load()
    assert glm.requests == []


def test_a_file_at_glms_limit_is_sent(glm: GLMTransport, tmp_path: Path) -> None:
    path = tmp_path / "edge.png"
    with path.open("wb") as file:
        file.write(b"\x89PNG\r\n\x1a\n")
        file.truncate(10 * 1024 * 1024)
    layout_pages(glm, ["ok"])
    assert GLMLayoutLoader(path, **on(glm)).load()[0].page_content == "ok"
    assert len(glm.last_request.json["file"]) > 10 * 1024 * 1024  # the whole file, as base64


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({"mode": "pages"}, "mode"),
        ({"start_page": 0}, "start_page"),
        ({"end_page": -1}, "end_page"),
        ({"start_page": 3, "end_page": 2}, "before"),
        ({"start_page": True}, "start_page"),
    ],
)
def test_bad_loader_options_are_refused(args: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        GLMLayoutLoader("x.pdf", **args)


@pytest.mark.parametrize(
    "url",
    ["https://e.example/page.docx", "https://e.example/a.html", "http:///x.pdf",
     "http://[bad/x.pdf", "https://e.example/my report.pdf", "https://e.example/a.pdf\n"],
)  # fmt: skip
def test_urls_glm_cannot_read_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="PDF, JPG and PNG"):
        GLMLayoutLoader(url)


@pytest.mark.parametrize("url", ["https://arxiv.org/pdf/2401.12345", "https://e.example/scan.JPEG"])
def test_urls_without_another_types_suffix_are_taken(url: str) -> None:
    assert GLMLayoutLoader(url).file_path == url


def test_a_missing_file_is_an_os_error(glm: GLMTransport, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        GLMLayoutLoader(tmp_path / "missing.pdf", **on(glm)).load()
    assert glm.requests == []


def test_reader_says_the_pages_own_title_once(glm: GLMTransport) -> None:
    web_pages(glm, {"https://e.example/t": {"title": "T", "content": "# T\n\nBody\n# T again"}})
    text = GLMWebReader(**on(glm)).invoke({"url": "https://e.example/t"})
    assert text == "# T\n\nSource: https://e.example/t\n\nBody\n# T again"


def test_a_key_echoed_by_the_server_is_redacted(glm: GLMTransport, tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    path.write_bytes(tiny_pdf(["a"]))
    calls: list[Callable[[], Any]] = [
        lambda: GLMWebSearch(**on(glm)).invoke({"query": "x"}),
        lambda: GLMWebReader(**on(glm)).invoke({"url": "https://docs.z.ai/"}),
        lambda: GLMSearchRetriever(**on(glm)).invoke("x"),
        lambda: GLMLayoutLoader(path, **on(glm)).load(),
    ]
    for route, run in zip(("web_search", "reader", "web_search", "layout"), calls, strict=True):
        glm.fail(route, 400, "1210", f"invalid key {KEY} for this API")
        with pytest.raises(GLMInvalidRequestError) as caught:
            run()
        assert KEY not in str(caught.value)
        assert KEY not in repr(caught.value.args)
