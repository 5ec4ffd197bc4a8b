"""The test server's own copy of GLM's documented rules (`testing/_spec.py`) against the table.

The capability table (`_models.py`) decides what the client sends; `_spec` decides what the
server accepts, written separately from GLM's references. These tests compare the two model by
model, and send bodies the references refuse with plain httpx (not through ChatGLM), so a table
entry that disagrees with the documents fails here.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from langchain_glm._models import MODELS, ModelSpec
from langchain_glm.testing import GLMServer
from langchain_glm.testing._spec import FAMILIES, Family, family_of

_KIND = {"text": "text", "image_url": "image", "video_url": "video", "file_url": "file"}
_KIND["file"] = "file"


def documented(name: str) -> Family:
    family = family_of(name)
    assert family is not None, f"{name} is in the table but in no documented family"
    return family


@pytest.mark.parametrize("name", list(MODELS))
def test_table_entry_matches_the_documented_family(name: str) -> None:
    spec, family = MODELS[name], documented(name)
    assert spec.json_mode == family.json_mode, "response_format"
    assert spec.tool_stream == family.tool_stream, "tool_stream"
    assert spec.tools == family.tools, "tools"
    assert spec.max_stop == family.max_stop, "stop"
    assert spec.max_output == family.max_output, "max_tokens"
    assert spec.inputs == frozenset(_KIND[part] for part in family.parts), "inputs"


@pytest.mark.parametrize("name", [n for n, s in MODELS.items() if s.thinking != "none"])
def test_thinking_rules_match_where_documented(name: str) -> None:
    spec, family = MODELS[name], documented(name)
    if family.can_disable_thinking is not None:
        assert spec.can_disable_thinking == family.can_disable_thinking
    if family.efforts is not None:
        assert set(spec.efforts) == family.efforts


def test_every_documented_model_is_in_the_table() -> None:
    assert {m for family in FAMILIES for m in family.models} == set(MODELS)


def test_families_do_not_overlap() -> None:
    names = [m for family in FAMILIES for m in family.models]
    assert len(names) == len(set(names))


def _post(server: GLMServer, model: str, **fields: Any) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], **fields}
    headers = {"Authorization": "Bearer test"}
    with httpx.Client(timeout=10) as http:
        return http.post(server.base_url + "/chat/completions", json=body, headers=headers)


def _code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, str(response.json()["error"]["code"])


@pytest.mark.parametrize(
    ("model", "fields", "words"),
    [
        ("glm-4.6v", {"response_format": {"type": "json_object"}}, "only text models"),
        ("glm-5.3-flash", {"response_format": {"type": "text"}}, "only text models"),
        ("glm-5.3-flash", {"stream": True, "tool_stream": True}, "tool_stream"),
        ("glm-4.7-flash", {"stream": True, "tool_stream": True}, "tool_stream"),
        ("glm-4.5", {"max_tokens": 100_000}, "[1,98304]"),
        ("glm-4.6v", {"max_tokens": 40_000}, "[1,32768]"),
        ("glm-5.3-flashx-legal", {"thinking": {"type": "disabled"}}, "cannot be disabled"),
        ("glm-5.3", {"reasoning_effort": "medium"}, "low, high, or max"),
    ],
)
def test_server_refuses_what_the_references_refuse(
    glm_server: GLMServer, model: str, fields: dict[str, Any], words: str
) -> None:
    response = _post(glm_server, model, **fields)
    assert _code(response) == (400, "1210")
    assert words in response.json()["error"]["message"]


def test_server_refuses_media_parts_a_family_has_not(glm_server: GLMServer) -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    file = {"type": "file", "file": {"file_url": "https://example.com/a.pdf"}}
    for model, part in (("glm-4.6", image), ("glm-4.6v", file), ("glm-5.3-flashx-legal", file)):
        messages = [{"role": "user", "content": [{"type": "text", "text": "see"}, part]}]
        response = _post(glm_server, model, messages=messages)
        assert _code(response) == (400, "1210"), model
        assert response.json()["error"]["message"].startswith("messages[0]")


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        ("glm-4.6", {"response_format": {"type": "json_object"}}),
        ("glm-5.4", {"response_format": {"type": "json_object"}, "max_tokens": 131_072}),
        ("glm-5.2", {"reasoning_effort": "minimal", "thinking": {"type": "disabled"}}),
    ],
)
def test_server_accepts_what_the_references_allow(
    glm_server: GLMServer, model: str, fields: dict[str, Any]
) -> None:
    assert _post(glm_server, model, **fields).status_code == 200


def _wrong(spec: ModelSpec) -> dict[str, Any]:
    """What a client would send for a model if the table wrongly offered JSON mode."""
    return {"response_format": {"type": "json_object"}} if not spec.json_mode else {}


def test_a_wrong_json_mode_entry_would_be_refused(glm_server: GLMServer) -> None:
    vision = [name for name, spec in MODELS.items() if not spec.json_mode]
    assert vision
    for name in vision:
        assert _code(_post(glm_server, name, **_wrong(MODELS[name]))) == (400, "1210"), name
