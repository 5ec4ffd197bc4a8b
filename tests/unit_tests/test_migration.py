"""A ChatOpenAI app moved to ChatGLM: its keywords are mapped or refused, never sent blindly.

pytest's `filterwarnings = error` makes any unexpected warning here a failure.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.load import dumpd, load
from pydantic import BaseModel

import langchain_glm
from langchain_glm import ChatGLM, GLMCompatibilityWarning
from langchain_glm._request import OPENAI_KWARGS
from langchain_glm.testing import GLMTransport

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


@pytest.fixture
def glm() -> GLMTransport:
    return GLMTransport()


def model(glm: GLMTransport, **kwargs: Any) -> ChatGLM:
    http = httpx.Client(transport=glm)
    return ChatGLM(base_url=glm.base_url, api_key="test", http_client=http, **kwargs)


def sent(glm: GLMTransport) -> dict[str, Any]:
    body = glm.last_request.json
    assert isinstance(body, dict)
    return body


def test_extra_body_is_merged_into_the_body(glm: GLMTransport) -> None:
    llm = model(glm, model="glm-4.6", extra_body={"thinking": {"type": "disabled"}, "seed": 7})
    llm.invoke("hi")
    body = sent(glm)
    assert body["thinking"] == {"type": "disabled"}
    assert body["seed"] == 7
    assert "extra_body" not in body


def test_extra_body_per_call_and_its_fields_are_checked(glm: GLMTransport) -> None:
    llm = model(glm, model="glm-5.3")
    with pytest.warns(GLMCompatibilityWarning, match="always thinks"):
        llm.invoke("hi", extra_body={"thinking": {"type": "disabled"}, "request_id": "req-123"})
    body = sent(glm)
    assert body["thinking"] == {"type": "enabled"}
    assert body["reasoning_effort"] == "low"
    assert body["request_id"] == "req-123"
    with pytest.raises(ValueError, match="max_tokens"):
        llm.invoke("hi", extra_body={"max_tokens": 10**9})
    with pytest.raises(ValueError, match="expected a mapping"):
        llm.invoke("hi", extra_body=["thinking"])
    assert len(glm.requests) == 1


@pytest.mark.parametrize("value", [True, False])
def test_stream_usage_is_accepted_and_never_sent(glm: GLMTransport, value: bool) -> None:
    llm = model(glm, model="glm-4.6", stream_usage=value)
    chunks = list(llm.stream("hi"))
    assert "stream_usage" not in sent(glm)
    assert "stream_usage" not in model(glm, model="glm-4.6").invoke("x", stream_usage=value).text
    assert "stream_usage" not in sent(glm)
    assert sum(c.usage_metadata is not None for c in chunks) == 1  # always on


def test_n_above_one_is_refused_before_sending(glm: GLMTransport) -> None:
    with pytest.raises(ValueError, match=r"n=2: GLM returns one choice.*batch"):
        model(glm, model="glm-4.6", n=2)
    llm = model(glm, model="glm-4.6", n=1)
    with pytest.raises(ValueError, match="n=3"):
        llm.invoke("hi", n=3)
    assert glm.requests == []
    llm.invoke("hi")
    assert "n" not in sent(glm)


@pytest.mark.parametrize(
    ("key", "value"),
    [("logprobs", True), ("top_logprobs", 3), ("frequency_penalty", 0.5), ("presence_penalty", 1)],
)
def test_keywords_glm_has_not_are_refused(glm: GLMTransport, key: str, value: Any) -> None:
    with pytest.raises(ValueError, match=f"{key}: GLM"):
        model(glm, model="glm-4.6", **{key: value})
    with pytest.raises(ValueError, match="Nothing was sent"):
        model(glm, model="glm-4.6").invoke("hi", **{key: value})
    assert glm.requests == []


def test_neutral_values_ask_for_nothing_and_are_dropped(glm: GLMTransport) -> None:
    llm = model(glm, model="glm-4.6", logprobs=False, frequency_penalty=0, presence_penalty=0.0)
    llm.invoke("hi")
    assert not {"logprobs", "frequency_penalty", "presence_penalty"} & set(sent(glm))


def test_max_completion_tokens_is_sent_as_max_tokens(glm: GLMTransport) -> None:
    model(glm, model="glm-4.6", max_completion_tokens=64).invoke("hi")
    assert sent(glm)["max_tokens"] == 64
    assert "max_completion_tokens" not in sent(glm)
    with pytest.raises(ValueError, match="set one"):
        model(glm, model="glm-4.6", max_tokens=10).invoke("hi", max_completion_tokens=20)


def test_every_mapped_keyword_has_its_readme_row() -> None:
    rows = [f"| `{key}` | {what} |" for key, what in OPENAI_KWARGS.items()]
    assert [row for row in rows if row not in README] == []


class Person(BaseModel):
    """A person."""

    name: str


def test_structured_output_warns_about_nothing_it_chose_itself(glm: GLMTransport) -> None:
    glm.reply(tool_calls=[{"name": "Person", "arguments": {"name": "Ada"}}])
    person = model(glm, model="glm-4.6").with_structured_output(Person).invoke("Who?")
    assert person == Person(name="Ada")
    body = sent(glm)
    assert body["tool_choice"] == "auto"
    assert "calling the tool `Person`" in body["messages"][0]["content"]


def test_compatibility_warning_is_public() -> None:
    assert "GLMCompatibilityWarning" in langchain_glm.__all__
    assert issubclass(GLMCompatibilityWarning, UserWarning)
    with pytest.warns(GLMCompatibilityWarning):
        ChatGLM(model="glm-4.6", api_key="k").bind_tools([Person], tool_choice="Person")


@pytest.mark.parametrize("stop", ["", [], [""]])
def test_empty_stop_sends_no_stop(glm: GLMTransport, stop: Any) -> None:
    model(glm, model="glm-4.6", stop=stop).invoke("hi")
    assert "stop" not in sent(glm)
    model(glm, model="glm-4.6").invoke("hi", stop=stop)
    assert "stop" not in sent(glm)


# --------------------------------------------------------------------------- pickle, lc_secrets


def test_pickle_round_trips_and_rebuilds_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZHIPUAI_API_KEY", raising=False)
    monkeypatch.setenv("ZAI_API_KEY", "env-key-1234")
    llm = ChatGLM(model="glm-5.3", temperature=0.2, reasoning_effort="low", max_retries=5)
    with pytest.warns(GLMCompatibilityWarning, match="approximated"):
        llm.get_num_tokens("warm the token cache and its lock")  # no request
    data = pickle.dumps(llm)
    assert b"env-key-1234" not in data
    restored = pickle.loads(data)  # noqa: S301 - our own bytes
    assert restored.model_dump() == llm.model_dump()
    assert restored.api_key is not None
    assert restored.api_key.get_secret_value() == "env-key-1234"
    assert restored._token_lock is not llm._token_lock
    assert restored.get_num_tokens("warm the token cache and its lock") > 0


def test_pickle_keeps_a_key_passed_in_code() -> None:
    llm = ChatGLM(model="glm-4.6", api_key="code-key-5678")
    restored = pickle.loads(pickle.dumps(llm))  # noqa: S301 - our own bytes
    assert restored.api_key is not None
    assert restored.api_key.get_secret_value() == "code-key-5678"


def test_pickle_refuses_an_own_http_client(glm: GLMTransport) -> None:
    with pytest.raises(TypeError, match="own http_client"):
        pickle.dumps(model(glm, model="glm-4.6"))


@pytest.mark.parametrize("env", ["ZAI_API_KEY", "ZHIPUAI_API_KEY"])
def test_dumpd_load_keeps_the_key_from_either_env(
    monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    for name in ("ZAI_API_KEY", "ZHIPUAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(env, "only-this-key")
    data = dumpd(ChatGLM(model="glm-4.6"))
    assert data["kwargs"]["api_key"] == {"lc": 1, "type": "secret", "id": [env]}
    restored = load(
        data, allowed_objects=[ChatGLM], valid_namespaces=["langchain_glm"], secrets_from_env=True
    )
    assert restored.api_key.get_secret_value() == "only-this-key"
