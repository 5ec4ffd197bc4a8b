"""Every capability flag of the table changes what is sent: JSON mode, tools, GLM-5.4, fallback."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from langchain_glm import ChatGLM, GLMCompatibilityWarning, GLMNotFoundError
from langchain_glm._models import MODELS
from langchain_glm.testing import DEFAULT_MODELS, GLMTransport

IMAGE = {"type": "image", "url": "https://example.com/cat.png"}
JSON_MODE = {"type": "json_object"}
WEATHER = {
    "title": "weather",
    "description": "Get the weather.",
    "type": "object",
    "properties": {"city": {"type": "string"}},
}


def model(glm: GLMTransport, name: str, **kwargs: Any) -> ChatGLM:
    http = httpx.Client(transport=glm)
    return ChatGLM(model=name, base_url=glm.base_url, api_key="t", http_client=http, **kwargs)


def sent(glm: GLMTransport) -> dict[str, Any]:
    body = glm.last_request.json
    assert isinstance(body, dict)
    return body


@pytest.mark.parametrize("name", [n for n, s in MODELS.items() if not s.json_mode])
def test_json_mode_is_dropped_with_a_warning_where_the_table_says_so(name: str) -> None:
    glm = GLMTransport()
    with pytest.warns(GLMCompatibilityWarning, match="takes no response_format"):
        model(glm, name).invoke("JSON please", response_format=JSON_MODE)
    assert "response_format" not in sent(glm)


@pytest.mark.parametrize("name", [n for n, s in MODELS.items() if s.json_mode])
def test_json_mode_is_sent_where_the_table_allows_it(name: str) -> None:
    glm = GLMTransport()
    model(glm, name).invoke("JSON please", response_format=JSON_MODE)
    assert sent(glm)["response_format"] == JSON_MODE


def test_a_text_response_format_is_dropped_silently_on_vision_models() -> None:
    glm = GLMTransport()
    model(glm, "glm-4.6v").invoke("hi", response_format={"type": "text"})
    assert "response_format" not in sent(glm)


class Answer(BaseModel):
    """An answer."""

    text: str


def test_structured_json_mode_on_a_vision_model_still_asks_for_json_in_the_prompt() -> None:
    glm = GLMTransport()
    glm.reply(text='{"text": "ok"}')
    chain = model(glm, "glm-5.3-flash").with_structured_output(Answer, method="json_mode")
    with pytest.warns(GLMCompatibilityWarning, match="takes no response_format"):
        assert chain.invoke("Answer in JSON.") == Answer(text="ok")
    body = sent(glm)
    assert "response_format" not in body
    assert "JSON" in body["messages"][0]["content"]


@pytest.mark.parametrize("name", [n for n, s in MODELS.items() if not s.tools])
def test_tools_to_a_model_without_tools_are_refused_before_sending(name: str) -> None:
    glm = GLMTransport()
    with pytest.raises(ValueError, match=f"{name} takes no tools.*glm-4.6v"):
        model(glm, name).bind_tools([WEATHER]).invoke("weather?")
    assert glm.requests == []


def test_glm54_takes_media_and_its_profile_says_so() -> None:
    glm = GLMTransport()
    llm = model(glm, "glm-5.4")
    llm.invoke([{"role": "user", "content": [{"type": "text", "text": "What is it?"}, IMAGE]}])
    assert sent(glm)["messages"][0]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": IMAGE["url"]},
    }
    profile = llm.profile
    assert profile is not None
    assert [profile["image_inputs"], profile["video_inputs"], profile["pdf_inputs"]] == [True] * 3
    assert (profile["max_input_tokens"], profile["max_output_tokens"]) == (1_048_576, 131_072)


def test_glm54_1211_from_the_model_api_says_coding_plan() -> None:
    glm = GLMTransport(models=[m for m in DEFAULT_MODELS if m != "glm-5.4"])
    with pytest.raises(GLMNotFoundError, match=r"Coding Plan only.*api/coding/paas/v4") as info:
        model(glm, "glm-5.4").invoke("hi")
    assert info.value.code == "1211"
    with pytest.raises(GLMNotFoundError) as other:
        model(glm, "glm-5.9").invoke("hi")
    assert "Coding Plan" not in str(other.value)


def test_glm54_coding_plan_note_also_on_streams() -> None:
    glm = GLMTransport(models=["glm-4.6"])
    with pytest.raises(GLMNotFoundError, match="Coding Plan only"):
        list(model(glm, "glm-5.4").stream("hi"))


def test_legal_flashx_takes_images_not_files() -> None:
    glm = GLMTransport()
    llm = model(glm, "glm-5.3-flashx-legal")
    llm.invoke([{"role": "user", "content": [IMAGE]}])
    file = {"type": "file", "url": "https://example.com/a.pdf"}
    with pytest.raises(ValueError, match="cannot take file input"):
        llm.invoke([{"role": "user", "content": [file]}])


@pytest.mark.parametrize("name", ["glm-5.5", "glm-5.7-flash"])
def test_unknown_glm5_sends_media_as_given(name: str) -> None:
    glm = GLMTransport(models=[name])
    model(glm, name).invoke([{"role": "user", "content": [IMAGE]}], response_format=JSON_MODE)
    body = sent(glm)
    assert body["messages"][0]["content"][0]["type"] == "image_url"
    assert body["response_format"] == JSON_MODE  # GLM decides
