"""The sanitizer, and that every string of a turn passes it before either view draws it."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessageChunk
from langchain_core.messages.tool import tool_call_chunk
from rich.console import Console

from langchain_glm.cli._render import TurnView
from langchain_glm.cli._sanitize import BIDI_CONTROLS, sanitize
from langchain_glm.cli._terminal import PlainDisplay, RichDisplay, render_turn
from tests.cli._helpers import foreign_controls

HOSTILE = {
    "CSI clear screen": "\x1b[2J\x1b[H",
    "OSC 52 clipboard": "\x1b]52;c;ZXZpbA==\x07",
    "OSC 8 link": "\x1b]8;;http://evil.test/\x1b\\text\x1b]8;;\x1b\\",
    "DCS": "\x1bP1$r\x1b\\",
    "C1 CSI": "\x9b2J",
    "C1 OSC": "\x9d0;title\x9c",
    "bidi override": "\u202eevil\u202c",
    "isolates": "\u2066x\u2069",
    "BEL BS CR DEL": "\x07\x08\r\x7f",
    "line separator": "\u2028",
}


def _unsafe(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0]


@pytest.mark.parametrize("sequence", HOSTILE.values(), ids=HOSTILE.keys())
def test_every_class_of_sequence_becomes_visible_text(sequence: str) -> None:
    safe = sanitize(f"a{sequence}b")
    assert _unsafe(safe) == []
    assert not set(safe) & set(BIDI_CONTROLS + "\u2028\u2029")
    assert safe.startswith("a\\")
    assert safe.endswith("b")


def test_newline_tab_markup_and_unicode_are_kept() -> None:
    text = "line\n\tindented [bold red]markup[/] 你好 é ─"
    assert sanitize(text) == text
    assert sanitize("crlf\r\nend") == "crlf\nend"


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x2070)))
def test_no_unsafe_character_survives_any_text(text: str) -> None:
    safe = sanitize(text)
    assert _unsafe(safe) == []
    assert not set(safe) & set(BIDI_CONTROLS)


def _hostile_turn() -> TurnView:
    """A turn whose reasoning, answer, tool name, arguments and result are all hostile."""
    evil = "".join(HOSTILE.values())
    view = TurnView(started=0.0)
    view.start_round()
    view.feed(AIMessageChunk(content="", additional_kwargs={"reasoning_content": evil}), 1.0)
    call = tool_call_chunk(name="calc" + evil, args='{"e": "' + evil, id="c1", index=0)
    answer = "A [a link](http://evil.test/) " + evil  # markdown links must not become OSC 8
    view.feed(AIMessageChunk(content=answer, tool_call_chunks=[call]), 2.0)
    view.add_result(0, "R" + evil, failed=True)
    return view


def test_the_turn_state_holds_only_sanitized_text() -> None:
    view = _hostile_turn()
    round_ = view.rounds[0]
    call = round_.calls[0]
    for text in (round_.reasoning, round_.answer, call.name, call.args, call.result or ""):
        assert _unsafe(text) == [], text
        assert "\\x1b]52;" in text


@pytest.mark.parametrize("answers", ["text", "markdown"])
def test_the_rich_drawing_writes_no_foreign_sequence(answers: str) -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=120, color_system="truecolor")
    console.print(render_turn(_hostile_turn(), 3.0, False, label="m", answers=answers))  # type: ignore[arg-type]
    assert foreign_controls(console.file.getvalue()) == []  # type: ignore[attr-defined]


def test_status_and_error_lines_are_sanitized_in_both_views() -> None:
    evil = "".join(HOSTILE.values())
    out, err = io.StringIO(), io.StringIO()
    plain = PlainDisplay(hide_thinking=False, out=out, err=err)
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    rich = RichDisplay(hide_thinking=False, console=console, err=console)
    for display in (plain, rich):
        display.info("info " + evil)
        display.error("error " + evil)
    assert _unsafe(out.getvalue() + err.getvalue()) == []
    assert foreign_controls(console.file.getvalue()) == []  # type: ignore[attr-defined]
    assert "\\x1b]52;" in err.getvalue()
