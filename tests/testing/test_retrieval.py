"""The test server's ``/embeddings`` and ``/rerank``, checked with plain httpx (not our client)."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest

from langchain_glm.testing import ErrorReply, GLMServer, GLMTransport, Reply, auto_reply
from tests.testing.helpers import AUTH


def _post(server: GLMServer, path: str, body: Any) -> httpx.Response:
    return httpx.post(f"{server.base_url}/{path}", json=body, headers=AUTH)


def _embed(server: GLMServer, texts: Any, **body: Any) -> httpx.Response:
    return _post(server, "embeddings", {"model": "embedding-3", "input": texts, **body})


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("dimensions", [256, 512, 1024, 2048])
def test_unit_vectors_at_the_asked_dimension(glm_server: GLMServer, dimensions: int) -> None:
    reply = _embed(glm_server, ["red apples", "green apples", "tax law"], dimensions=dimensions)
    assert reply.status_code == 200
    body = reply.json()
    assert (body["object"], body["model"]) == ("list", "embedding-3")
    assert [item["index"] for item in body["data"]] == [0, 1, 2]
    vectors = [item["embedding"] for item in body["data"]]
    assert {len(v) for v in vectors} == {dimensions}
    assert all(math.isclose(math.sqrt(_cosine(v, v)), 1.0) for v in vectors)
    assert _cosine(vectors[0], vectors[1]) > _cosine(vectors[0], vectors[2])  # shared words
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] > 0


def test_vectors_are_deterministic_and_default_to_2048(glm_server: GLMServer) -> None:
    first, again = (_embed(glm_server, "same text").json() for _ in range(2))
    assert first["data"] == again["data"]
    assert len(first["data"][0]["embedding"]) == 2048
    model_2 = _post(glm_server, "embeddings", {"model": "embedding-2", "input": ["x"]}).json()
    assert len(model_2["data"][0]["embedding"]) == 1024


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        ({"model": "embedding-3", "input": ["a"], "dimensions": 300}, 400, "1210",
         "dimensions: embedding-3 takes 256, 512, 1024, 2048, not 300"),
        ({"model": "embedding-2", "input": ["a"], "dimensions": 256}, 400, "1210",
         "embedding-2 takes 1024"),
        ({"model": "embedding-3", "input": ["a"] * 65}, 400, "1210", "input: must be a list of 1"),
        ({"model": "embedding-3", "input": []}, 400, "1210", "input: must be a list"),
        ({"model": "embedding-3", "input": ["a", ""]}, 400, "1210", "non-empty string"),
        ({"model": "embedding-3", "input": ["x" * 40000]}, 400, "1261", "input[0]: longer than"),
        ({"model": "embedding-9", "input": ["a"]}, 400, "1211", "Model does not exist"),
    ],
)  # fmt: skip
def test_embeddings_errors_are_glms(
    glm_server: GLMServer, body: dict[str, Any], status: int, code: str, message: str
) -> None:
    reply = _post(glm_server, "embeddings", body)
    assert reply.status_code == status
    assert reply.json()["error"]["code"] == code
    assert message in reply.json()["error"]["message"]


def test_rerank_scores_shared_words_best_first(glm_server: GLMServer) -> None:
    docs = ["cats sleep", "GLM is a model by Zhipu", "a model of a ship", "what is GLM"]
    body = {"model": "rerank", "query": "what is the GLM model", "documents": docs}
    results = _post(glm_server, "rerank", body).json()["results"]
    assert [r["index"] for r in results] == [1, 3, 2, 0]
    assert [r["relevance_score"] for r in results] == [0.6, 0.6, 0.2, 0.0]
    cut = _post(glm_server, "rerank", body | {"top_n": 2, "return_documents": True}).json()
    assert cut["results"] == [{**r, "document": docs[r["index"]]} for r in results[:2]]
    assert cut["usage"]["total_tokens"] > 0


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"query": "q", "documents": ["d"] * 129}, "1210", "documents: must be a list of 1 to 128"),
        ({"query": "q", "documents": ["d" * 4097]}, "1210", "at most 4096 characters"),
        ({"query": "q" * 4097, "documents": ["d"]}, "1210", "query: must be a non-empty string"),
        ({"query": "q", "documents": ["d"], "top_n": -1}, "1210", "top_n"),
        ({"model": "rerank-9", "query": "q", "documents": ["d"]}, "1211", "Model does not"),
    ],
)
def test_rerank_errors_are_glms(
    glm_server: GLMServer, body: dict[str, Any], code: str, message: str
) -> None:
    reply = _post(glm_server, "rerank", body)
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == code
    assert message in reply.json()["error"]["message"]


def test_queued_replies_and_faults_apply(glm_server: GLMServer) -> None:
    glm_server.reply_error(429, "1302")
    glm_server.reply_raw('{"data": []}')
    glm_server.reply("a chat turn")
    glm_server.fail("/rerank", 503, "1234")
    assert _embed(glm_server, ["a"]).json()["error"]["code"] == "1302"
    assert _embed(glm_server, ["a"]).json() == {"data": []}
    misplaced = _embed(glm_server, ["a"])
    assert misplaced.status_code == 500
    assert "a chat Reply was queued" in misplaced.json()["error"]["message"]
    assert _post(glm_server, "rerank", {"query": "q", "documents": ["d"]}).status_code == 503
    assert _embed(glm_server, ["a"]).status_code == 200  # queue and faults used up


def test_scripts_answer_chat_only(glm_server: GLMServer) -> None:
    glm_server.script(auto_reply)
    assert _embed(glm_server, ["a"]).status_code == 200
    assert not glm_server.script_errors


def test_auth_and_unknown_method(glm_server: GLMServer) -> None:
    url = f"{glm_server.base_url}/embeddings"
    assert httpx.post(url, json={"model": "embedding-3", "input": ["a"]}).status_code == 401
    assert httpx.get(url, headers=AUTH).status_code == 405


def test_transport_serves_them_too() -> None:
    glm = GLMTransport()
    glm.enqueue(ErrorReply(400, "1210", "no"), Reply("unused"))
    with httpx.Client(transport=glm, headers=AUTH) as client:
        url = f"{glm.base_url}/rerank"
        assert client.post(url, json={"query": "q", "documents": ["d"]}).status_code == 400
        assert client.post(url, json={"query": "q", "documents": ["d"]}).status_code == 500
        fine = client.post(url, json={"query": "q", "documents": ["q d"]})
    assert fine.json()["results"] == [{"index": 0, "relevance_score": 1.0}]
