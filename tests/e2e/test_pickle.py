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
