"""GLMEmbeddings through `GLMTransport` (no sockets): order, chunking, checks, errors, secrets.

Replies that test the client's reading are written here by hand (raw JSON), not by the test
server, so a bug the two could share cannot hide.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

import httpx
import pytest
from langchain_core.load import dumpd, dumps, load

from langchain_glm import GLMAPIError, GLMEmbeddings, GLMNotFoundError, GLMRateLimitError
from langchain_glm.testing import GLMTransport
from tests.unit_tests.test_standard_embeddings import STANDARD

KEY = "sk-embeddings-secret-4321"


def _model(glm: GLMTransport, **fields: Any) -> GLMEmbeddings:
    """A model on the transport, for sync and async calls alike."""
    clients = {"http_client": httpx.Client(transport=glm)}
    clients["http_async_client"] = httpx.AsyncClient(transport=glm)  # type: ignore[assignment]
    options = {"base_url": glm.base_url, "api_key": KEY, "max_retries": 0, **clients}
    return GLMEmbeddings(**{**options, **fields})


def _mark(text: str, dimensions: int) -> list[float]:
    """A vector that says which text it belongs to: its number, then zeros."""
    return [float(text.removeprefix("t"))] + [0.0] * (dimensions - 1)


def _body(texts: list[str], dimensions: int, order: list[int] | None = None) -> bytes:
    """An embeddings reply, by hand, its items in ``order`` (each with its true index)."""
    order = list(range(len(texts))) if order is None else order
    data = [{"index": i, "object": "embedding", "embedding": _mark(texts[i], dimensions)}
            for i in order]  # fmt: skip
    return json.dumps({"model": "embedding-3", "object": "list", "data": data}).encode()


async def _embed(model: GLMEmbeddings, texts: list[str], mode: str) -> list[list[float]]:
    return await model.aembed_documents(texts) if mode == "async" else model.embed_documents(texts)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_order_follows_index_not_arrival(mode: str) -> None:
    glm, texts = GLMTransport(), [f"t{n}" for n in range(10)]
    shuffled = random.Random(18).sample(range(5), 5)  # noqa: S311 - an order, not a secret
    for start in (0, 5):
        glm.reply_raw(_body(texts[start : start + 5], 256, shuffled))
    vectors = await _embed(_model(glm, dimensions=256, chunk_size=5), texts, mode)
    assert [v[0] for v in vectors] == [float(n) for n in range(10)]
    assert [r.json["input"] for r in glm.requests] == [texts[:5], texts[5:]]


async def test_chunks_of_chunk_size_in_order(mode: str) -> None:
    glm, texts = GLMTransport(), [f"text number {n}" for n in range(130)]
    vectors = await _embed(_model(glm), texts, mode)
    assert [len(r.json["input"]) for r in glm.requests] == [64, 64, 2]
    assert [t for r in glm.requests for t in r.json["input"]] == texts
    assert all("dimensions" not in r.json for r in glm.requests)  # the model's default
    assert len(vectors) == 130
    assert {len(v) for v in vectors} == {2048}


async def test_empty_list_sends_nothing(mode: str) -> None:
    glm = GLMTransport()
    assert await _embed(_model(glm), [], mode) == []
    assert glm.requests == []


@pytest.mark.parametrize(
    ("texts", "where"),
    [(["ok", ""], "texts[201] is empty"), (["ok", "ok", " \n\t"], "texts[202] is empty"),
     (["ok", 3], "texts[201] is a int"), ([None], "texts[200] is a NoneType")],
)  # fmt: skip
async def test_bad_text_is_refused_before_sending(mode: str, texts: list[Any], where: str) -> None:
    glm = GLMTransport()
    with pytest.raises(ValueError, match=re.escape(where)):
        await _embed(_model(glm, chunk_size=1), [f"t{n}" for n in range(200)] + texts, mode)
    assert glm.requests == []  # not even the good chunks before it: nothing billed


@pytest.mark.parametrize(
    ("model", "dimensions", "takes"),
    [("embedding-3", 300, "256, 512, 1024, 2048"), ("embedding-2", 256, "1024"),
     ("embedding-3", 0, "256, 512, 1024, 2048")],
)  # fmt: skip
def test_dimensions_are_checked_per_model(model: str, dimensions: int, takes: str) -> None:
    with pytest.raises(ValueError, match=f"{model} takes dimensions {takes}"):
        GLMEmbeddings(model=model, dimensions=dimensions, api_key=KEY)


async def test_one_string_is_refused_not_embedded_per_character(mode: str) -> None:
    glm = GLMTransport()
    with pytest.raises(ValueError, match="texts is one string, not a list of strings"):
        await _embed(_model(glm), "hello", mode)  # type: ignore[arg-type]
    assert glm.requests == []  # not five billed one-character embeddings


@pytest.mark.parametrize("dimensions", [0, -3, True, 2.5])
async def test_another_models_dimensions_must_be_a_positive_integer(
    mode: str, dimensions: Any
) -> None:
    glm = GLMTransport(validate=False)
    with pytest.raises(ValueError, match="dimensions"):  # 2.5: pydantic's own message
        GLMEmbeddings(model="my-embedder", dimensions=dimensions, api_key=KEY)
    model = _model(glm, model="my-embedder")
    model.dimensions = dimensions  # changed after construction: checked before sending
    with pytest.raises(ValueError, match="dimensions must be a positive integer or None"):
        await _embed(model, ["t1"], mode)
    assert glm.requests == []


async def test_dimensions_changed_later_are_checked_before_sending(mode: str) -> None:
    glm = GLMTransport()
    model = _model(glm)
    model.dimensions = 100
    with pytest.raises(ValueError, match="not 100"):
        await _embed(model, ["a"], mode)
    assert glm.requests == []


async def test_unknown_model_is_sent_as_given(mode: str) -> None:
    glm = GLMTransport(validate=False)  # the server knows only GLM's models
    glm.reply_raw(_body(["t1", "t2"], 7))
    vectors = await _embed(_model(glm, model="my-embedder", dimensions=7), ["t1", "t2"], mode)
    assert glm.last_request.json == {"model": "my-embedder", "input": ["t1", "t2"], "dimensions": 7}
    assert [v[0] for v in vectors] == [1.0, 2.0]


def _data(*items: Any) -> str:
    return json.dumps({"object": "list", "data": list(items)})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_data({"index": 0, "embedding": [0.5] * 4}), "asked for 2 embeddings, got 1"),
        (_data(*[{"index": i, "embedding": [0.5] * 4} for i in range(3)]), "got 3"),
        (_data({"index": 0, "embedding": [1.0] * 4}, {"index": 0, "embedding": [1.0] * 4}),
         "index 0 is out of range or repeated"),
        (_data({"index": 0, "embedding": [1.0] * 4}, {"index": 2, "embedding": [1.0] * 4}),
         "index 2 is out of range"),
        (_data({"index": 0, "embedding": [1.0] * 4}, {"index": "1", "embedding": [1.0] * 4}),
         "index '1' is out of range"),
        (_data({"index": 0, "embedding": [1.0] * 4}, {"index": 1, "embedding": [1.0] * 3}),
         "embedding 1 has 3 values, not 4"),
        (_data({"index": 0, "embedding": [1.0] * 4}, {"index": 1, "embedding": "1,2,3,4"}),
         "embedding 1 has 0 values"),
        (_data({"index": 0, "embedding": [1.0] * 4}, {"index": 1, "embedding": [1, "x", 2, 3]}),
         "not a finite number"),
        ('{"data": [{"index": 0, "embedding": [1, 2, 3, NaN]}, '
         '{"index": 1, "embedding": [1, 2, 3, 4]}]}', "not a finite number"),
        ('{"object": "list"}', "got no list of"),
        ("[1, 2]", "response body is not a JSON object"),
    ],
)  # fmt: skip
async def test_malformed_reply_is_typed(mode: str, body: str, reason: str) -> None:
    glm = GLMTransport(validate=False)  # the server knows only GLM's models
    glm.reply_raw(body)
    with pytest.raises(GLMAPIError, match=reason) as caught:
        await _embed(_model(glm, model="my-embedder", dimensions=4), ["t1", "t2"], mode)
    assert "malformed" in str(caught.value)
    assert caught.value.is_retryable is False  # GLM may have billed it
    assert len(glm.requests) == 1


async def test_unknown_model_vectors_must_agree(mode: str) -> None:
    glm = GLMTransport(validate=False)  # the server knows only GLM's models
    glm.reply_raw(_data({"index": 0, "embedding": [1.0] * 4}, {"index": 1, "embedding": [1.0]}))
    with pytest.raises(GLMAPIError, match="embedding 1 has 1 values, not 4"):
        await _embed(_model(glm, model="my-embedder"), ["t1", "t2"], mode)


async def test_failing_chunk_names_its_range_and_nothing_is_returned(mode: str) -> None:
    glm = GLMTransport()
    texts = [f"t{n}" for n in range(10)]
    glm.reply_raw(_body(texts[:4], 256))
    glm.reply_error(429, "1302")
    model = _model(glm, dimensions=256, chunk_size=4, max_concurrency=1)
    with pytest.raises(GLMRateLimitError, match="embedding inputs 4-7 of 10") as caught:
        await _embed(model, texts, mode)
    assert caught.value.code == "1302"
    assert caught.value.status_code == 429


async def test_errors_are_chatglms_and_retried(mode: str) -> None:
    glm = GLMTransport()
    glm.reply_error(503, "1234")
    glm.reply_raw(_body(["t5"], 256))
    model = _model(glm, dimensions=256, max_retries=1)
    vectors = await _embed(model, ["t5"], mode)
    assert vectors[0][0] == 5.0
    assert len(glm.requests) == 2


async def test_region_hint_on_a_zai_base(mode: str) -> None:
    glm = GLMTransport()
    glm.fail("/embeddings", 404, "1222", "API does not exist")
    model = _model(glm, base_url="https://api.z.ai/api/paas/v4")
    with pytest.raises(GLMNotFoundError) as caught:
        await _embed(model, ["a"], mode)
    message = str(caught.value)
    assert "https://open.bigmodel.cn/api/paas/v4" in message
    assert "base_url=" in message
    assert "API does not exist" in message


async def test_no_region_hint_elsewhere(mode: str) -> None:
    glm = GLMTransport()
    glm.fail("/embeddings", 404, "1222", "API does not exist")
    with pytest.raises(GLMNotFoundError) as caught:
        await _embed(_model(glm), ["a"], mode)
    assert "bigmodel" not in str(caught.value)


async def test_key_is_sent_and_never_shown(mode: str) -> None:
    glm = GLMTransport(api_key=KEY)
    glm.reply_error(400, "1210", f"bad key {KEY} echoed")
    model = _model(glm)
    with pytest.raises(Exception, match="echoed") as caught:
        await _embed(model, ["a"], mode)
    assert glm.last_request.headers["authorization"] == f"Bearer {KEY}"
    for shown in (repr(model), str(model), str(caught.value), dumps(model)):
        assert KEY not in shown


def test_serializes_like_chatglm(monkeypatch: pytest.MonkeyPatch) -> None:
    model = GLMEmbeddings(api_key=KEY, dimensions=512, chunk_size=16)
    data = dumpd(model)
    assert data["id"] == ["langchain_glm", "embeddings", "GLMEmbeddings"]
    assert data["kwargs"]["api_key"] == {"lc": 1, "type": "secret", "id": ["ZAI_API_KEY"]}
    monkeypatch.setenv("ZAI_API_KEY", KEY)
    again = load(
        data,
        allowed_objects=[GLMEmbeddings],
        valid_namespaces=["langchain_glm"],
        secrets_from_env=True,
    )
    assert isinstance(again, GLMEmbeddings)
    assert (again.dimensions, again.chunk_size) == (512, 16)
    assert again.api_key is not None
    assert again.api_key.get_secret_value() == KEY


def test_settings_are_checked() -> None:
    for name in ("chunk_size", "max_concurrency"):
        for bad in (0, True, 2.0):  # a bool or float is no count
            settings: dict[str, Any] = {name: bad}
            with pytest.raises(ValueError, match=name):
                GLMEmbeddings(**settings)
    standard: dict[str, Any] = dict(STANDARD)
    assert GLMEmbeddings(**standard).model == "embedding-3"


async def test_a_hostile_index_is_shown_escaped_and_short(mode: str) -> None:
    glm = GLMTransport(validate=False)
    index = "\x1b[2J" + "A" * 10_000
    glm.reply_raw(_data({"index": index, "embedding": [1.0]}))
    with pytest.raises(GLMAPIError) as caught:
        await _embed(_model(glm, model="my-embedder"), ["t1"], mode)
    message = str(caught.value)
    assert "\x1b" not in message
    assert "'\\x1b[2JAAA" in message
    assert len(message) < 200
