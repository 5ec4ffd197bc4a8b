"""A pickled ChatGLM answers in another process, as multiprocessing, Celery and Ray use it."""

from __future__ import annotations

import multiprocessing
import pickle

import pytest

from langchain_glm import ChatGLM
from langchain_glm.testing import GLMServer


def invoke_pickled(data: bytes) -> str:
    """Run in the worker: unpickle the model and call it."""
    llm = pickle.loads(data)  # noqa: S301 - the test's own bytes
    return str(llm.invoke("from the worker").content)


@pytest.mark.glm_server(api_key="worker-key")
def test_pickled_model_invokes_in_a_spawned_process(
    glm_server: GLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZAI_API_KEY", "worker-key")  # inherited by the spawned worker
    llm = ChatGLM(model="glm-4.6", base_url=glm_server.base_url, max_tokens=32)
    assert llm.invoke("warm the pool and lock here").content  # state the pickle must not carry
    glm_server.reply(text="Answered in the worker.")
    data = pickle.dumps(llm)
    assert b"worker-key" not in data
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        answer = pool.apply_async(invoke_pickled, (data,)).get(timeout=60)
    assert answer == "Answered in the worker."
    assert glm_server.last_request.json["max_tokens"] == 32
    assert glm_server.last_request.headers["authorization"] == "Bearer worker-key"


def _platform_objects(base_url: str) -> list[object]:
    """One of each class beside chat, all on the settings `GLMAPISettings` defines."""
    from langchain_glm import (
        GLMEmbeddings,
        GLMLayoutLoader,
        GLMRerank,
        GLMSearchRetriever,
        GLMWebReader,
        GLMWebSearch,
    )

    return [
        GLMEmbeddings(base_url=base_url),
        GLMRerank(base_url=base_url),
        GLMWebSearch(base_url=base_url),
        GLMWebReader(base_url=base_url),
        GLMSearchRetriever(base_url=base_url),
        GLMLayoutLoader("report.pdf", base_url=base_url),
    ]


@pytest.mark.parametrize("env", ["ZAI_API_KEY", "ZHIPUAI_API_KEY"])
def test_no_pickle_beside_chat_carries_a_key_read_from_the_environment(
    glm_server: GLMServer, monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    monkeypatch.delenv("ZAI_API_KEY", raising=False)
    monkeypatch.delenv("ZHIPUAI_API_KEY", raising=False)
    monkeypatch.setenv(env, "sk-pickle-canary")
    for obj in _platform_objects(glm_server.base_url):
        data = pickle.dumps(obj)
        assert b"sk-pickle-canary" not in data, type(obj).__name__
        again = pickle.loads(data)  # noqa: S301 - the test's own bytes
        assert type(again) is type(obj)
    embeddings = pickle.loads(pickle.dumps(_platform_objects(glm_server.base_url)[0]))  # noqa: S301
    assert len(embeddings.embed_query("after a round trip")) == 2048
    assert glm_server.last_request.headers["authorization"] == "Bearer sk-pickle-canary"


def test_a_pickled_settings_object_with_its_own_http_client_is_refused() -> None:
    import httpx

    from langchain_glm import GLMEmbeddings

    with httpx.Client() as client:
        embeddings = GLMEmbeddings(api_key="sk-x", http_client=client)
        with pytest.raises(TypeError, match="GLMEmbeddings with its own http_client"):
            pickle.dumps(embeddings)
