"""The pure turn state (`TurnView`), the plain writer, and the rich drawing of a turn."""

from __future__ import annotations

import io

from langchain_core.messages import AIMessageChunk
from langchain_core.messages.tool import tool_call_chunk
from rich.console import Console
from rich.spinner import Spinner

from langchain_glm import ChatGLM
from langchain_glm.cli._render import Event, PlainWriter, TurnView, thought_line, usage_line
from langchain_glm.cli._terminal import PlainDisplay, RichDisplay, Tail, render_turn
from langchain_glm.cli._tools import calculator
from langchain_glm.testing import GLMServer
from tests.cli._helpers import strip_ansi

USAGE = {
    "input_tokens": 24,
    "output_tokens": 17,
    "total_tokens": 41,
    "input_token_details": {"cache_read": 2},
    "output_token_details": {"reasoning": 9},
}


def _reasoning(text: str) -> AIMessageChunk:
    return AIMessageChunk(content="", additional_kwargs={"reasoning_content": text})


def _call(name: str | None, args: str, index: int = 0) -> AIMessageChunk:
    part = tool_call_chunk(name=name, args=args, id="call_1" if name else None, index=index)
    return AIMessageChunk(content="", tool_call_chunks=[part])


def _tool_turn() -> TurnView:
    """Reasoning, a streamed tool call with its result, then a second round with the answer."""
    view = TurnView(started=10.0)
    view.start_round()
    view.feed(AIMessageChunk(content="\n"), 10.1)  # GLM's whitespace before the reasoning
    view.feed(_reasoning("Need the "), 10.5)
    view.feed(_reasoning("calculator."), 11.0)
    view.feed(_call("calculator", '{"expression": '), 12.0)
    view.feed(_call(None, '"17 * 23 + 4"}'), 12.2)
    view.feed(AIMessageChunk(content="", usage_metadata=USAGE), 12.3)
    view.add_result(0, "395")
    view.start_round()
    view.feed(AIMessageChunk(content="It is 395."), 13.0)
    view.feed(AIMessageChunk(content="", usage_metadata=USAGE), 13.1)
    return view


def test_feed_reports_what_appeared_in_order() -> None:
    view = TurnView(started=0.0)
    view.start_round()
    assert view.waiting
    assert view.feed(AIMessageChunk(content="  \n"), 0.2) == []  # leading whitespace dropped
    assert view.waiting
    assert view.first_token_at is None
    assert view.feed(_reasoning("Hm"), 0.5) == [Event("thinking", "Hm")]
    assert view.feed(_call("clock", '{"timezone"'), 1.0) == [
        Event("tool_call", "clock"),
        Event("tool_args", '{"timezone"'),
    ]
    assert view.feed(_call(None, ': "UTC"}'), 1.1) == [Event("tool_args", ': "UTC"}')]
    assert view.rounds[0].calls[0].args == '{"timezone": "UTC"}'
    assert view.first_token_at == 0.5
    assert view.thinking_seconds == 0.5  # from the first reasoning to the tool call
    assert not view.waiting


def test_usage_is_summed_over_the_rounds_of_a_turn() -> None:
    view = _tool_turn()
    assert view.requests == 2
    assert view.usage is not None
    assert view.usage["input_tokens"] == 48
    assert view.reasoning_tokens == 18
    assert usage_line(view.usage, view.requests) == (
        "usage: input 48, cached 4, reasoning 18, output 34 tokens (2 requests)"
    )
    assert view.rounds[0].calls[0].result == "395"
    assert view.rounds[1].answer == "It is 395."
    assert thought_line(view) == "thought for 1.5 s / 18 tokens"


def test_usage_line_without_details_or_usage() -> None:
    bare = {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}
    assert usage_line(bare) == "usage: input 3, cached 0, reasoning 0, output 4 tokens"  # type: ignore[arg-type]
    assert usage_line(None) == "usage: not reported by the server"


def test_thought_line_before_usage_arrives() -> None:
    view = TurnView(started=0.0)
    view.start_round()
    view.feed(_reasoning("x"), 1.0)
    view.feed(AIMessageChunk(content="y"), 3.25)
    assert thought_line(view) == "thought for 2.2 s"


def test_plain_writer_labels_each_section() -> None:
    out = PlainWriter(hide_thinking=False)
    events = [
        Event("thinking", "Need "),
        Event("thinking", "it."),
        Event("tool_call", "calculator"),
        Event("tool_args", '{"expression":'),
        Event("tool_args", ' "1+1"}'),
        Event("tool_result", "2"),
        Event("answer", "Two"),
        Event("answer", "."),
    ]
    text = "".join(out.write(e) for e in events) + out.end()
    assert text == (
        "thinking: Need it.\n"
        'tool call: calculator {"expression": "1+1"}\n'
        "tool result: 2\n"
        "answer: Two.\n"
    )
    assert out.end() == ""  # nothing open any more


def test_plain_writer_hides_thinking() -> None:
    out = PlainWriter(hide_thinking=True)
    text = out.write(Event("thinking", "secret plan")) + out.write(Event("answer", "Hi"))
    assert text + out.end() == "answer: Hi\n"


def _draw(view: TurnView, now: float, *, hide: bool) -> str:
    console = Console(file=io.StringIO(), width=60, record=True, color_system=None)
    spinner = Spinner("dots")
    console.print(render_turn(view, now, hide, spinner=spinner, label="glm-4.6"))
    return console.export_text()


def test_rich_view_shows_spinner_with_elapsed_time_while_waiting() -> None:
    view = TurnView(started=100.0)
    view.start_round()
    assert "waiting for glm-4.6  2.5 s" in _draw(view, 102.5, hide=False)


def test_rich_view_draws_thinking_panel_tool_call_result_and_answer() -> None:
    screen = _draw(_tool_turn(), 14.0, hide=False)
    lines = [line.strip() for line in screen.splitlines()]
    assert lines[0].startswith("╭─ thinking ─")
    assert "│ Need the calculator." in screen
    assert 'tool call calculator {"expression": "17 * 23 + 4"}' in lines
    assert "→ 395" in lines
    assert lines[-1] == "It is 395."
    assert "waiting" not in screen


def test_rich_view_collapses_thinking_when_hidden() -> None:
    view = TurnView(started=0.0)
    view.start_round()
    view.feed(_reasoning("a long chain of thought"), 1.0)
    assert "thinking… 1.5 s" in _draw(view, 2.5, hide=True)
    view.feed(AIMessageChunk(content="Done."), 3.0)
    screen = _draw(view, 9.0, hide=True)
    assert "thought for 2.0 s" in screen
    assert "chain of thought" not in screen
    assert "Done." in screen


def test_plain_display_streams_a_real_turn_without_escapes() -> None:
    """A real stream from the local server, drawn by the plain display: labelled, no ANSI."""
    out, err = io.StringIO(), io.StringIO()
    display = PlainDisplay(hide_thinking=False, out=out, err=err)
    with GLMServer() as server:
        server.reply(
            reasoning="The user wants arithmetic.",
            tool_calls=[{"name": "calculator", "arguments": {"expression": "6*7"}}],
            usage={"prompt_tokens": 30, "completion_tokens": 12, "reasoning_tokens": 5},
        )
        llm = ChatGLM(base_url=server.base_url, api_key="t", streaming=True, tool_stream=True)
        display.begin(TurnView(started=0.0), "glm-4.6")
        display.next_round()
        for chunk in llm.bind_tools([calculator]).stream("6*7?"):
            display.chunk(chunk)  # type: ignore[arg-type]
        display.result(0, "42", failed=False)
        display.end()
    assert out.getvalue() == (
        "thinking: The user wants arithmetic.\n"
        'tool call: calculator {"expression":"6*7"}\n'
        "tool result: 42\n"
        "usage: input 30, cached 0, reasoning 5, output 12 tokens\n"
    )
    assert err.getvalue() == ""


def test_answer_only_output_keeps_stdout_for_the_answer() -> None:
    """--once / a pipe: the answer alone on stdout, byte-exact; the labelled rest on stderr."""
    out, err = io.StringIO(), io.StringIO()
    display = PlainDisplay(hide_thinking=False, out=out, err=err, answer_only=True)
    display.begin(TurnView(started=0.0), "glm-4.6")
    display.next_round()
    display.chunk(_reasoning("Need the calculator."))
    display.chunk(_call("calculator", '{"expression": "6*7"}'))
    display.result(0, "42", failed=False)
    display.next_round()
    display.chunk(_reasoning("Got it."))
    display.chunk(AIMessageChunk(content="It is 42."))
    display.chunk(AIMessageChunk(content="", usage_metadata=USAGE))
    display.end()
    assert out.getvalue() == "It is 42.\n"
    assert err.getvalue() == (
        "thinking: Need the calculator.\n"
        'tool call: calculator {"expression": "6*7"}\n'
        "tool result: 42\n"
        "thinking: Got it.\n"
        "usage: input 24, cached 2, reasoning 9, output 17 tokens\n"
    )


def test_rich_view_renders_the_finished_answer_as_markdown() -> None:
    console = Console(file=io.StringIO(), width=60, force_terminal=True, color_system=None)
    display = RichDisplay(hide_thinking=False, console=console, err=console)
    display.begin(TurnView(started=0.0), "glm-4.6")
    display.next_round()
    display.chunk(
        AIMessageChunk(content="# Plan\n\n- **first** step\n- second\n\n```\ncode()\n```")
    )
    display.end(usage=False)
    screen = strip_ansi(console.file.getvalue())  # type: ignore[attr-defined]
    final = screen[screen.rindex("Plan") :]  # after the live region, the finished turn
    assert "• first step" in final
    assert "**" not in final
    assert "code()" in final
    assert "```" not in final


def test_rich_view_streams_the_tail_of_a_long_turn() -> None:
    """The live region is cut to its last screenful, so it can always be erased."""
    console = Console(file=io.StringIO(), width=40, height=10, force_terminal=True)
    view = TurnView(started=0.0)
    view.start_round()
    view.feed(AIMessageChunk(content="\n".join(f"line {i}" for i in range(30))), 1.0)
    console.print(Tail(render_turn(view, 2.0, False, label="m")))
    lines = strip_ansi(console.file.getvalue()).splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 9
    assert lines[-1].strip() == "line 29"
