"""GLMEmbeddings and GLMRerank over HTTP against the local GLM server.

Concurrency is counted on the server's request log: a pool opens a new keep-alive connection
only while all its others are busy, so the connections used are the requests in flight.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.documents import Document
from langchain_core.vectorstores import InMemoryVectorStore

from langchain_glm import GLMEmbeddings, GLMRerank, GLMTimeoutError
from langchain_glm.testing import GLMServer, WireReply
from tests.bench import embeddings as embeddings_bench


def _vectors(count: int, dimensions: int) -> bytes:
    data = [{"index": i, "embedding": [1.0] + [0.0] * (dimensions - 1)} for i in range(count)]
    return json.dumps({"object": "list", "data": data}).encode()


@pytest.mark.parametrize("limit", [1, 3])
async def test_async_chunks_run_at_most_max_concurrency_at_once(
    glm_server: GLMServer, limit: int
) -> None:
    for _ in range(12):  # every chunk answers after a pause, so chunks overlap if allowed
        glm_server.enqueue(WireReply.of(200, _vectors(4, 256), delay=0.2))
    async with httpx.AsyncClient() as pool:
        emb = GLMEmbeddings(
            dimensions=256, chunk_size=4, max_concurrency=limit, base_url=glm_server.base_url,
            api_key="k", http_async_client=pool,
        )  # fmt: skip
        vectors = await emb.aembed_documents([f"text {n}" for n in range(48)])
    assert len(vectors) == 48
    requests = glm_server.requests
    assert [len(r.json["input"]) for r in requests] == [4] * 12
    assert len({r.connection_id for r in requests}) == limit


def test_sync_chunks_go_one_at_a_time_on_one_connection(glm_server: GLMServer) -> None:
    with httpx.Client() as pool:
        emb = GLMEmbeddings(chunk_size=10, base_url=glm_server.base_url, api_key="k",
                            http_client=pool)  # fmt: skip
        vectors = emb.embed_documents([f"text {n}" for n in range(35)])
    assert [len(r.json["input"]) for r in glm_server.requests] == [10, 10, 10, 5]
    assert len({r.connection_id for r in glm_server.requests}) == 1
    assert len(vectors) == 35


async def test_failure_cancels_the_other_chunks_and_returns_nothing(glm_server: GLMServer) -> None:
    glm_server.reply_error(400, "1210", "chunk refused")
    for _ in range(7):
        glm_server.enqueue(WireReply.of(200, _vectors(2, 256), delay=0.1))
    emb = GLMEmbeddings(dimensions=256, chunk_size=2, max_concurrency=2, max_retries=0,
                        base_url=glm_server.base_url, api_key="k")  # fmt: skip
    # the two first requests race on two new connections: either may meet the error
    with pytest.raises(Exception, match=r"embedding inputs [02]-[13] of 16: chunk refused"):
        await emb.aembed_documents([f"t{n}" for n in range(16)])
    assert len(glm_server.requests) < 8  # the rest were never sent


async def test_timeouts_are_chatglms(glm_server: GLMServer) -> None:
    glm_server.enqueue(WireReply.of(200, _vectors(1, 256), delay=2.0))
    emb = GLMEmbeddings(dimensions=256, timeout=0.2, base_url=glm_server.base_url, api_key="k")
    with pytest.raises(GLMTimeoutError):
        await emb.aembed_query("slow")


def test_rerank_300_documents_in_three_requests(glm_server: GLMServer) -> None:
    docs = [Document(page_content="a note about the weather") for _ in range(300)]
    for n, words in ((17, "GLM-5.3 reasoning model"), (150, "GLM reasoning"), (290, "GLM")):
        docs[n] = Document(page_content=f"a note on {words}", metadata={"n": n})
    rerank = GLMRerank(top_n=3, base_url=glm_server.base_url, api_key="k")
    best = rerank.compress_documents(docs, "GLM-5.3 reasoning model")
    assert [d.metadata["n"] for d in best] == [17, 150, 290]
    scores = [d.metadata["relevance_score"] for d in best]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > scores[1] > scores[2] > 0
    assert [len(r.json["documents"]) for r in glm_server.requests] == [128, 128, 44]
    assert all(r.json["top_n"] == 3 for r in glm_server.requests)


async def test_arerank_merges_like_rerank(glm_server: GLMServer) -> None:
    texts = [f"doc {n} " + ("rain" if n % 50 == 0 else "sun") for n in range(300)]
    rerank = GLMRerank(base_url=glm_server.base_url, api_key="k")
    together = await asyncio.gather(rerank.arerank(texts, "rain"), asyncio.to_thread(
        rerank.rerank, texts, "rain"))  # fmt: skip
    assert together[0] == together[1]
    assert [r["index"] for r in together[0][:6]] == [0, 50, 100, 150, 200, 250]
    assert len(together[0]) == 300


def test_truncate_over_http(glm_server: GLMServer) -> None:
    rerank = GLMRerank(truncate=True, base_url=glm_server.base_url, api_key="k")
    with pytest.warns(UserWarning, match="cut 1 texts"):
        results = rerank.rerank(["rain " * 1000, "sun"], "rain")
    assert results[0] == {"index": 0, "relevance_score": 1.0}
    assert len(glm_server.last_request.json["documents"][0]) == 4096


def test_retrieve_then_rerank(glm_server: GLMServer) -> None:
    texts = ["GLM-5.3 always thinks.", "Rome is the capital of Italy.", "GLM-4.6 is text only."]
    emb = GLMEmbeddings(dimensions=512, base_url=glm_server.base_url, api_key="k")
    store = InMemoryVectorStore.from_texts(texts, emb)
    found = store.as_retriever(search_kwargs={"k": 2}).invoke("Does GLM-5.3 think?")
    assert {d.page_content for d in found} == {texts[0], texts[2]}
    best = GLMRerank(top_n=1, base_url=glm_server.base_url, api_key="k").compress_documents(
        found, "Does GLM-5.3 think?"
    )
    assert [d.page_content for d in best] == [texts[0]]


_NOTES = [
    Document(page_content="GLM-5.3 always thinks.", metadata={"source": "glm-5.3.md"}),
    Document(page_content="GLM-4.6 can answer unthinking.", metadata={"source": "glm-4.6.md"}),
    Document(page_content="Rome is the capital of Italy.", metadata={"source": "rome.md"}),
]


def _compression_retriever(server: GLMServer) -> ContextualCompressionRetriever:
    emb = GLMEmbeddings(dimensions=512, base_url=server.base_url, api_key="k")
    store = InMemoryVectorStore.from_documents(_NOTES, emb)
    rerank = GLMRerank(top_n=2, base_url=server.base_url, api_key="k")
    base = store.as_retriever(search_kwargs={"k": 3})
    return ContextualCompressionRetriever(base_compressor=rerank, base_retriever=base)


def _check_reranked(server: GLMServer, found: list[Document], question: str) -> None:
    """Two of the three candidates, in the order and with the scores /rerank gave.

    The reply is read again with plain httpx, so our client's index-to-Document mapping is
    checked against the wire, not against itself.
    """
    rerank_request = server.requests[-1]
    assert rerank_request.path.endswith("/rerank")
    body = rerank_request.json
    assert sorted(body["documents"]) == sorted(d.page_content for d in _NOTES)  # all 3 went
    assert body["query"] == question
    raw = httpx.post(f"{server.base_url}/rerank", json=body, headers={"Authorization": "Bearer k"})
    results = sorted(raw.json()["results"], key=lambda r: -r["relevance_score"])
    expected = [(body["documents"][r["index"]], r["relevance_score"]) for r in results[:2]]
    assert [(d.page_content, d.metadata["relevance_score"]) for d in found] == expected
    assert found[0].metadata["source"] == "glm-5.3.md"
    assert expected[0][1] > expected[1][1]
    assert all("relevance_score" not in d.metadata for d in _NOTES)  # inputs untouched


def test_contextual_compression_retriever_reranks(glm_server: GLMServer) -> None:
    question = "Does GLM-5.3 always think?"
    found = _compression_retriever(glm_server).invoke(question)
    _check_reranked(glm_server, found, question)


async def test_contextual_compression_retriever_reranks_async(glm_server: GLMServer) -> None:
    question = "Does GLM-5.3 always think?"
    found = await _compression_retriever(glm_server).ainvoke(question)
    _check_reranked(glm_server, found, question)


def test_the_embeddings_bench_runs_against_its_raw_server(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The bench's stdlib server is independent of ours: both clients read it alike."""
    assert embeddings_bench.main(["--rounds", "1", "--texts", "700"]) == 0
    printed = capsys.readouterr().out
    assert "700 texts, 64 per request, 4 in flight, 256 dims" in printed
    assert "wall ours/floor: median" in printed
    assert "peak memory / vectors' own size:" in printed
