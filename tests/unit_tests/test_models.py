"""The capability table: every model the issue names, and the rules for unknown ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from langchain_glm import ChatGLM
from langchain_glm._models import ALL_EFFORTS, MODELS, markdown_table, spec_for

NAMED = [
    "glm-4.5",
    "glm-4.5-air",
    "glm-4.5-x",
    "glm-4.5-airx",
    "glm-4.5-flash",
    "glm-4.6",
    "glm-4.6v",
    "glm-4.6v-flash",
    "glm-4.6v-flashx",
    "glm-4.7",
    "glm-4.7-flash",
    "glm-4.7-flashx",
    "glm-5",
    "glm-5.1",
    "glm-5.2",
    "glm-5.3",
    "glm-5.3-flash",
    "glm-5.3-flashx",
    "glm-4.5v",
    "glm-4-32b-0414-128k",
]


def profile(name: str) -> dict[str, Any]:
    """The `ModelProfile` a user sees on `ChatGLM(model=name).profile`."""
    found = ChatGLM(model=name, api_key="test-key-123").profile
    assert found is not None
    return dict(found)


@pytest.mark.parametrize("name", NAMED)
def test_every_named_model_is_in_the_table_and_has_a_profile(name: str) -> None:
    spec = spec_for(name.upper())
    assert spec is not None
    assert spec.name == name
    assert profile(name)["max_output_tokens"] == spec.max_output
    assert set(spec.efforts) <= set(ALL_EFFORTS)


def test_generation_53_always_thinks_with_three_efforts() -> None:
    for name in ("glm-5.3", "glm-5.3-flash", "glm-5.3-flashx"):
        spec = MODELS[name]
        assert not spec.can_disable_thinking
        assert spec.efforts == ("low", "high", "max")
        assert spec.lowest_effort == "low"
        assert spec.context_window == 1_048_576
    assert MODELS["glm-5.2"].efforts == ALL_EFFORTS
    assert MODELS["glm-5.2"].can_disable_thinking
    assert MODELS["glm-5.1"].efforts == ()


def test_only_the_documented_models_have_a_tokenizer() -> None:
    assert sorted(n for n, s in MODELS.items() if s.tokenizer) == ["glm-4.5", "glm-4.6", "glm-4.6v"]


def test_flash_53_takes_files_and_the_text_models_do_not() -> None:
    assert MODELS["glm-5.3-flash"].inputs == frozenset({"text", "image", "video", "file"})
    assert MODELS["glm-5.3"].inputs == frozenset({"text"})
    assert profile("glm-5.3-flash")["pdf_inputs"] is True
    assert profile("glm-5.3")["image_inputs"] is False


def test_every_current_text_model_caps_output_at_131072() -> None:
    for name in ("glm-4.6", "glm-4.7", "glm-5", "glm-5.1", "glm-5.2", "glm-5.3"):
        assert MODELS[name].max_output == 131_072


@pytest.mark.parametrize("name", ["glm-5.5", "GLM-5.10", "glm-5.7-flash"])
def test_a_later_glm5_is_always_thinking_without_other_limits(name: str) -> None:
    spec = spec_for(name)
    assert spec is not None
    assert spec.name == name.lower()
    assert spec.thinking == "always"
    assert spec.efforts == ("low", "high", "max")
    assert (spec.max_output, spec.inputs, spec.max_stop, spec.context_window) == (None,) * 4


@pytest.mark.parametrize("name", ["glm-5.2x", "my-finetune", "glm-6", "gpt-4o", ""])
def test_unknown_models_have_no_spec(name: str) -> None:
    assert spec_for(name) is None


def test_the_readme_model_table_is_generated_from_the_table() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    begin, end = "<!-- models:begin -->\n", "\n<!-- models:end -->"
    section = readme[readme.index(begin) + len(begin) : readme.index(end)]
    assert section == markdown_table(), "README model table drifted: paste markdown_table()"


def test_the_rendered_table_has_one_row_per_model() -> None:
    rows = markdown_table().splitlines()[2:]
    assert [row.split(" | ")[0] for row in rows] == [f"| `{name}`" for name in MODELS]
    assert (
        "| `glm-5.3` | 1M | 128K | always on | effort `low` (warns) | `low`, `high`, `max` |"
        in (markdown_table())
    )
