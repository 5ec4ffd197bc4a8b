"""The local GLM server's web search, reader and layout-parsing emulation, read with plain httpx.

Independent of our client: requests are written by hand and sent over loopback.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from langchain_glm.testing import GLMServer, layout_pages, search_corpus, web_pages
from tests.web._pdf import tiny_pdf


@pytest.fixture(scope="module")
def server() -> Iterator[GLMServer]:
    with GLMServer(api_key="right-key-0123") as running:
        yield running


@pytest.fixture
def post(server: GLMServer) -> Iterator[Any]:
    server.reset()
    server.web_state.clear()
    with httpx.Client(base_url=server.base_url, timeout=10) as client:

        def send(path: str, body: Any, **headers: str) -> httpx.Response:
            headers = {"Authorization": "Bearer right-key-0123", **headers}
            return client.post(path, json=body, headers=headers)

        yield send


def error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"]


def test_default_corpus_answers_in_glms_shape(post: Any) -> None:
    response = post("/web_search", {"search_query": "GLM-OCR layout", "count": 2})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "created", "request_id", "search_intent", "search_result"}
    assert [r["title"] for r in body["search_result"]] == ["GLM-OCR", "GLM-5.4"]
    first = body["search_result"][0]
    assert set(first) == {"title", "content", "link", "media", "icon", "refer", "publish_date"}
    assert first["refer"] == "ref_1"
    assert first["media"] == "docs.z.ai"


@pytest.mark.parametrize(
    ("host", "engine", "ok"),
    [
        ("api.z.ai", "search-prime", True),
        ("api.z.ai", "search_std", False),
        ("api.z.ai", None, False),
        ("open.bigmodel.cn", "search_pro_quark", True),
        ("open.bigmodel.cn", "search-prime", False),
        ("127.0.0.1", None, True),
        ("127.0.0.1", "search_pro", True),
        ("127.0.0.1", "bing", False),
    ],
)
def test_engines_follow_the_host(post: Any, host: str, engine: str | None, ok: bool) -> None:
    body = {"search_query": "GLM"} | ({"search_engine": engine} if engine else {})
    response = post("/web_search", body, Host=host)
    if ok:
        assert response.status_code == 200
    else:
        assert error(response)[:2] == (400, "1210")
        assert "search_engine" in error(response)[2]


@pytest.mark.parametrize(
    "body",
    [
        {"search_query": ""},
        {"search_query": "GLM", "count": 0},
        {"search_query": "GLM", "count": 51},
        {"search_query": "GLM", "count": "5"},
        {"search_query": "GLM", "search_recency_filter": "oneCentury"},
        {"search_query": "GLM", "content_size": "max"},
    ],
)
def test_bad_search_bodies_are_400(post: Any, body: dict[str, Any]) -> None:
    assert error(post("/web_search", body))[:2] == (400, "1210")


def test_a_scripted_corpus_is_ranked_by_the_query(post: Any, server: GLMServer) -> None:
    search_corpus(server, [{"title": "a", "content": "x"}, {"title": "b", "content": "rust"}])
    results = post("/web_search", {"search_query": "rust"}).json()["search_result"]
    assert [r["title"] for r in results] == ["b", "a"]


def test_reader_serves_pages_and_refuses_unknown_urls(post: Any, server: GLMServer) -> None:
    page = post("/reader", {"url": "https://docs.z.ai/guides/llm/glm-5.4"}).json()
    assert page["reader_result"]["title"] == "GLM-5.4"
    web_pages(server, {"https://e.example/": "# T\n\n![img](https://e.example/i.png) text"})
    body = {"url": "https://e.example/", "retain_images": False, "return_format": "text"}
    assert post("/reader", body).json()["reader_result"]["content"] == "T\n\n text"
    code = error(post("/reader", {"url": "https://docs.z.ai/guides/llm/glm-5.4"}))
    assert code[:2] == (400, "1210")
    assert "unable to read" in code[2]


def test_layout_parses_a_pdf_and_checks_the_request(post: Any, server: GLMServer) -> None:
    data = "data:application/pdf;base64," + base64.b64encode(tiny_pdf(["p1", "p2"])).decode()
    body = post("/layout_parsing", {"model": "glm-ocr", "file": data}).json()
    assert body["data_info"]["num_pages"] == 2
    assert [[e["content"] for e in page] for page in body["layout_details"]] == [["p1"], ["p2"]]
    assert body["md_results"] == "p1\n\np2"
    assert error(post("/layout_parsing", {"model": "glm-4.6", "file": data}))[1] == "1211"
    bad = {"model": "glm-ocr", "file": base64.b64encode(b"GIF89a").decode()}
    assert "only PDF, JPG and PNG" in error(post("/layout_parsing", bad))[2]
    late = {"model": "glm-ocr", "file": data, "start_page_id": 3}
    assert "has 2 pages" in error(post("/layout_parsing", late))[2]
    layout_pages(server, ["scripted"])
    body = post("/layout_parsing", {"model": "glm-ocr", "file": data}).json()
    assert body["md_results"] == "scripted"


def test_web_routes_need_the_key_and_post(post: Any, server: GLMServer) -> None:
    wrong = post("/web_search", {"search_query": "GLM"}, Authorization="Bearer wrong-key-0000")
    assert error(wrong)[:2] == (401, "1002")
    with httpx.Client(base_url=server.base_url) as client:
        assert client.get("/reader").status_code in (404, 405)
