"""GLMRerank through `GLMTransport` (no sockets): split and merge, top_n, checks, errors.

Replies that test the client's reading are written here by hand, not by the test server.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import warnings
from typing import Any

import httpx
import pytest
from langchain_core.documents import Document
from langchain_core.load import dumpd, dumps, load

from langchain_glm import (
    GLMAPIError,
    GLMEmbeddings,
    GLMNotFoundError,
    GLMRerank,
    _platform,
    embeddings,
    rerank,
)
from langchain_glm.testing import GLMTransport

KEY = "sk-rerank-secret-98765"


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _model(glm: GLMTransport, **fields: Any) -> GLMRerank:
    clients = {"http_client": httpx.Client(transport=glm)}
    clients["http_async_client"] = httpx.AsyncClient(transport=glm)  # type: ignore[assignment]
    options = {"base_url": glm.base_url, "api_key": KEY, "max_retries": 0, **clients}
    return GLMRerank(**{**options, **fields})


async def _rerank(model: GLMRerank, docs: Any, query: str, mode: str, **kw: Any) -> Any:
    if mode == "async":
        return await model.arerank(docs, query, **kw)
    return model.rerank(docs, query, **kw)


async def _compress(model: GLMRerank, docs: list[Document], query: str, mode: str) -> Any:
    if mode == "async":
        return await model.acompress_documents(docs, query)
    return model.compress_documents(docs, query)


def _score(text: str) -> float:
    """The hand-written scores: the number in ``d<n>`` over 1000."""
    return int(text.removeprefix("d")) / 1000


def _reply(documents: list[str], top_n: int) -> str:
    """A rerank reply by hand: the best ``top_n`` of ``documents`` by `_score`."""
    ranked = sorted(range(len(documents)), key=lambda i: -_score(documents[i]))[:top_n]
    results = [{"index": i, "relevance_score": _score(documents[i])} for i in ranked]
    return json.dumps({"id": "r", "results": results, "usage": {"total_tokens": 3}})


def _parts(docs: list[str], size: int, top_n: int | None) -> list[str]:
    parts = [docs[i : i + size] for i in range(0, len(docs), size)]
    return [_reply(part, min(top_n or len(part), len(part))) for part in parts]


async def test_300_documents_split_in_three_and_merged_by_score(mode: str) -> None:
    glm = GLMTransport()
    docs = [f"d{(n * 7) % 300}" for n in range(300)]  # the best are spread over the parts
    for body in _parts(docs, 128, 5):
        glm.reply_raw(body)
    results = await _rerank(_model(glm), docs, "q", mode, top_n=5)
    assert [docs[r["index"]] for r in results] == ["d299", "d298", "d297", "d296", "d295"]
    assert [r["relevance_score"] for r in results] == [0.299, 0.298, 0.297, 0.296, 0.295]
    sent = [r.json for r in glm.requests]
    assert [len(b["documents"]) for b in sent] == [128, 128, 44]
    assert [b["documents"] for b in sent] == [docs[:128], docs[128:256], docs[256:]]
    assert [b["top_n"] for b in sent] == [5, 5, 5]


async def test_top_n_none_returns_every_document_best_first(mode: str) -> None:
    glm = GLMTransport()
    docs = [f"d{n}" for n in range(200)]
    for body in _parts(docs, 128, None):
        glm.reply_raw(body)
    results = await _rerank(_model(glm), docs, "q", mode)
    assert [r["index"] for r in results] == list(range(199, -1, -1))
    assert [r.json["top_n"] for r in glm.requests] == [128, 72]


async def test_request_body_is_glms(mode: str) -> None:
    glm = GLMTransport()
    glm.reply_raw(_reply(["d1", "d2"], 2))
    mixed: list[Any] = ["d1", Document(page_content="d2")]
    results = await _rerank(_model(glm), mixed, "which?", mode)
    assert glm.last_request.path.endswith("/rerank")
    expected = {"model": "rerank", "query": "which?", "documents": ["d1", "d2"], "top_n": 2}
    assert glm.last_request.json == expected | {"return_documents": False}
    assert results == [
        {"index": 1, "relevance_score": 0.002},
        {"index": 0, "relevance_score": 0.001},
    ]


async def test_compress_returns_scored_copies_best_first(mode: str) -> None:
    glm = GLMTransport()
    docs = [Document(page_content=f"d{n}", metadata={"n": n}, id=str(n)) for n in range(6)]
    glm.reply_raw(_reply([d.page_content for d in docs], 3))
    kept = await _compress(_model(glm), docs, "q", mode)
    assert [(d.page_content, d.id, d.metadata) for d in kept] == [
        ("d5", "5", {"n": 5, "relevance_score": 0.005}),
        ("d4", "4", {"n": 4, "relevance_score": 0.004}),
        ("d3", "3", {"n": 3, "relevance_score": 0.003}),
    ]
    assert all(d.metadata == {"n": n} for n, d in enumerate(docs))  # inputs untouched


async def test_empty_list_sends_nothing(mode: str) -> None:
    glm = GLMTransport()
    assert await _rerank(_model(glm), [], "q", mode) == []
    assert await _compress(_model(glm), [], "q", mode) == []
    assert glm.requests == []


@pytest.mark.parametrize(
    ("docs", "query", "reason"),
    [
        (["ok", "x" * 4097], "q", "documents[1] has 4097 characters; GLM takes at most 4096"),
        (["ok"], "q" * 5000, "query has 5000 characters"),
        (["ok", " "], "q", "documents[1] must be a non-empty string"),
        (["ok", 7], "q", "documents[1] must be a non-empty string, not 7"),
        (["ok"], "", "query must be a non-empty string"),
        ("one text", "q", "documents is one string, not a sequence"),  # not 8 documents
    ],
)
async def test_bad_text_is_refused_before_sending(
    mode: str, docs: list[Any], query: str, reason: str
) -> None:
    glm = GLMTransport()
    with pytest.raises(ValueError, match=re.escape(reason)):
        await _rerank(_model(glm), docs, query, mode)
    assert glm.requests == []


def test_over_long_document_index_counts_from_the_callers_list() -> None:
    glm = GLMTransport()
    with pytest.raises(ValueError, match=re.escape("documents[201] has 4097")):
        _model(glm).rerank(["fine"] * 201 + ["x" * 4097], "q")


@pytest.mark.parametrize("top_n", [0, -1, 2.0, True])
async def test_bad_top_n_is_refused(mode: str, top_n: Any) -> None:
    glm = GLMTransport()
    with pytest.raises(ValueError, match="top_n must be a positive integer or None"):
        await _rerank(_model(glm), ["a"], "q", mode, top_n=top_n)
    assert glm.requests == []


@pytest.mark.parametrize("field", ["top_n", "max_concurrency"])
@pytest.mark.parametrize("bad", [0, True, 2.0])
def test_bad_settings_are_refused_as_per_call(field: str, bad: Any) -> None:
    with pytest.raises(ValueError, match=field):  # top_n=True per call is refused too
        GLMRerank(api_key=KEY, **{field: bad})


async def test_truncate_cuts_and_warns_once(mode: str) -> None:
    glm = GLMTransport()
    glm.reply_raw(json.dumps({"results": [{"index": i, "relevance_score": 0.5} for i in range(3)]}))
    docs = ["a" * 5000, "short", "b" * 4097]
    with pytest.warns(UserWarning, match="cut 3 texts to 4096 characters") as caught:
        await _rerank(_model(glm, truncate=True), docs, "q" * 4100, mode)
    assert len(caught) == 1
    assert "query, documents[0], documents[2]" in str(caught[0].message)
    sent = glm.last_request.json
    assert [len(d) for d in sent["documents"]] == [4096, 5, 4096]
    assert len(sent["query"]) == 4096


async def test_truncate_does_not_warn_when_nothing_is_cut(mode: str) -> None:
    glm = GLMTransport()
    glm.reply_raw(_reply(["d1"], 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(await _rerank(_model(glm, truncate=True), ["d1"], "q", mode)) == 1


def _results(*items: Any) -> str:
    return json.dumps({"results": list(items)})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_results({"index": 0, "relevance_score": 0.5}), "asked for 2 rerank results, got 1"),
        (_results({"index": 0, "relevance_score": 0.5}, {"index": 0, "relevance_score": 0.4}),
         "rerank index 0 is out of range or repeated"),
        (_results({"index": 0, "relevance_score": 0.5}, {"index": 2, "relevance_score": 0.4}),
         "rerank index 2 is out of range"),
        (_results({"index": 0, "relevance_score": 0.5}, {"index": 1}),
         "rerank result 1 has no finite relevance_score"),
        (_results({"index": 0, "relevance_score": 0.5}, {"index": 1, "relevance_score": "0.4"}),
         "no finite relevance_score"),
        (_results({"index": 0, "relevance_score": True}, {"index": 1, "relevance_score": 0.4}),
         "no finite relevance_score"),
        ('{"results": [{"index": 0, "relevance_score": NaN}, {"index": 1, "relevance_score": 1}]}',
         "no finite relevance_score"),
        ('{"data": []}', "got no list of"),
    ],
)  # fmt: skip
async def test_malformed_reply_is_typed(mode: str, body: str, reason: str) -> None:
    glm = GLMTransport()
    glm.reply_raw(body)
    with pytest.raises(GLMAPIError, match=reason) as caught:
        await _rerank(_model(glm), ["d1", "d2"], "q", mode)
    assert "malformed" in str(caught.value)
    assert caught.value.is_retryable is False


async def test_failing_part_names_its_range(mode: str) -> None:
    glm = GLMTransport()
    docs = [f"d{n}" for n in range(300)]
    glm.reply_raw(_parts(docs, 128, 3)[0])
    glm.reply_error(400, "1210", "documents too long")
    with pytest.raises(Exception, match="rerank documents 128-255 of 300: documents too long"):
        await _rerank(_model(glm, max_concurrency=1), docs, "q", mode, top_n=3)


async def test_region_hint_on_a_zai_base(mode: str) -> None:
    glm = GLMTransport()
    glm.fail("/rerank", 404, "1222", "API does not exist")
    model = _model(glm, base_url="https://api.z.ai/api/paas/v4")
    with pytest.raises(GLMNotFoundError, match=re.escape("/rerank may be served only on https")):
        await _rerank(model, ["a"], "q", mode)


async def test_key_never_shown(mode: str) -> None:
    glm = GLMTransport(api_key=KEY)
    glm.reply_error(400, "1210", f"echo {KEY}")
    model = _model(glm)
    with pytest.raises(Exception, match="echo") as caught:
        await _rerank(model, ["a"], "q", mode)
    for shown in (repr(model), str(caught.value), dumps(model)):
        assert KEY not in shown


def test_serializes_like_chatglm(monkeypatch: pytest.MonkeyPatch) -> None:
    data = dumpd(GLMRerank(api_key=KEY, top_n=7, truncate=True))
    assert data["id"] == ["langchain_glm", "rerank", "GLMRerank"]
    assert data["kwargs"]["api_key"] == {"lc": 1, "type": "secret", "id": ["ZAI_API_KEY"]}
    monkeypatch.setenv("ZAI_API_KEY", KEY)
    again = load(data, allowed_objects=[GLMRerank], valid_namespaces=["langchain_glm"],
                 secrets_from_env=True)  # fmt: skip
    assert isinstance(again, GLMRerank)
    assert (again.top_n, again.truncate) == (7, True)


def test_every_public_field_is_documented_where_declared() -> None:
    for module in (_platform, embeddings, rerank):
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if not isinstance(node, ast.ClassDef):
                continue
            body = node.body
            for field, after in zip(body, [*body[1:], None], strict=True):
                if isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name):
                    name = field.target.id
                    if name.startswith("_") or name == "model_config":
                        continue
                    documented = isinstance(after, ast.Expr) and isinstance(
                        after.value, ast.Constant
                    )
                    assert documented, f"{node.name}.{name} has no docstring"
    assert {"top_n", "truncate"} <= set(GLMRerank.model_fields)
    assert {"dimensions", "chunk_size"} <= set(GLMEmbeddings.model_fields)
