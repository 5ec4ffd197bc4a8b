"""A chat session against the local GLM server: history, tool loop, errors as one line."""

from __future__ import annotations

import io
import re
import socket
from typing import Any

import pytest

from langchain_glm import GLMContextOverflowError, GLMQuotaExceededError
from langchain_glm.cli._app import MAX_TOOL_ROUNDS, Session, turn_record
from langchain_glm.cli._args import parse_args
from langchain_glm.cli._messages import error_line
from langchain_glm.cli._terminal import PlainDisplay
from langchain_glm.testing import GLMServer, RecordedRequest, Reply, auto_reply


def _session(
    server: GLMServer, *argv: str, key: str = "test", answer_only: bool = False
) -> tuple[Session, PlainDisplay]:
    options = parse_args([*argv, "--base-url", server.base_url], environ={"ZAI_API_KEY": key})
    display = PlainDisplay(
        hide_thinking=options.hide_thinking,
        out=io.StringIO(),
        err=io.StringIO(),
        answer_only=answer_only,
        show_thinking=options.show_thinking,
    )
    return Session(options, server.base_url, api_key=key), display


def _out(display: PlainDisplay) -> tuple[str, str]:
    return display._out.getvalue(), display._err.getvalue()  # type: ignore[attr-defined]


def test_history_keeps_reasoning_and_reset_forgets_it() -> None:
    with GLMServer() as server:
        server.script(auto_reply)
        session, display = _session(server, "--system", "Be brief.")
        assert session.ask("first question", display) == "answered"
        assert session.ask("second question", display) == "answered"
        sent = server.requests[1].json["messages"]
        assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
        assert sent[2]["reasoning_content"] == "The user said: first question. I will answer."
        assert sent[2]["content"].strip() == "Hi there! Here is my answer to you: first question"
        session.reset()
        session.ask("third", display)
        assert [m["role"] for m in server.requests[2].json["messages"]] == ["system", "user"]
    out, err = _out(display)
    assert out.count("usage: input ") == 3
    assert err == ""


def test_effort_and_thinking_reach_the_request() -> None:
    with GLMServer() as server:
        server.script(auto_reply)
        session, display = _session(server, "--model", "glm-5.3", "--effort", "high")
        assert session.ask("hi", display) == "answered"
        session, display = _session(server, "--no-thinking")
        assert session.ask("hi", display) == "answered"
        first, second = (r.json for r in server.requests)
    assert first["model"] == "glm-5.3"
    assert first["reasoning_effort"] == "high"
    assert second["thinking"] == {"type": "disabled"}
    assert "reasoning_effort" not in second


def test_tool_loop_runs_the_calculator_and_sends_the_result_back() -> None:
    with GLMServer() as server:
        server.script(auto_reply)
        session, display = _session(server, "--tools")
        assert session.ask('Use the calculator on "17 * 23 + 4"', display) == "answered"
        second = server.requests[1].json
    assert second["tool_stream"] is True
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["content"] == "395"
    out, _ = _out(display)
    assert 'tool call: calculator {"expression":"17 * 23 + 4"}\ntool result: 395\n' in out
    assert "answer: The tool says: 395\n" in out
    assert "(2 requests)" in out
    assert [type(m).__name__ for m in session.history] == [
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "AIMessage",
    ]


def test_tool_errors_go_back_to_the_model() -> None:
    with GLMServer() as server:
        server.reply(tool_calls=[{"name": "calculator", "arguments": {"expression": "1/0"}}])
        server.reply(tool_calls=[{"name": "shell", "arguments": {"cmd": "rm -rf /"}}])
        server.reply(text="Sorry.")
        session, display = _session(server, "--tools")
        assert session.ask("go", display) == "answered"
        results = [server.requests[i].json["messages"][-1]["content"] for i in (1, 2)]
    assert results == ["error: division by zero", "error: there is no tool named 'shell'"]


def test_tool_rounds_are_bounded() -> None:
    def always_call(request: RecordedRequest) -> Reply:
        return Reply(tool_calls=[{"name": "clock", "arguments": {"timezone": "UTC"}}])

    with GLMServer() as server:
        server.script(always_call)
        session, display = _session(server, "--tools")
        assert session.ask("what time?", display) == "answered"
        assert len(server.requests) == MAX_TOOL_ROUNDS
    out, _ = _out(display)
    assert out.endswith(
        f"stopped after {MAX_TOOL_ROUNDS} rounds of tool calls without a text answer\n"
    )


@pytest.mark.parametrize(
    ("queue", "expected"),
    [
        (
            {"status": 429, "code": "1113"},
            "error: GLM 1113 (HTTP 429): insufficient balance: top up your balance or use the "
            "matching endpoint (Coding Plan keys need the coding base URL)",
        ),
        (
            {"status": 429, "code": "1302", "retry_after": 0.01, "times": 3},
            "error: GLM 1302 (HTTP 429): rate limited / overloaded, retried 2 times; "
            "try again later",
        ),
        (
            {"status": 429, "code": "1305", "retry_after": 0.01, "times": 3},
            "error: GLM 1305 (HTTP 429): rate limited / overloaded, retried 2 times; "
            "try again later",
        ),
        (
            {"status": 400, "code": "1261"},
            "error: GLM 1261 (HTTP 400): context too long: /reset to start a new conversation",
        ),
    ],
    ids=["1113", "1302", "1305", "1261"],
)
def test_errors_are_one_line_with_code_and_advice(queue: dict[str, Any], expected: str) -> None:
    with GLMServer() as server:
        server.reply_error(**queue)
        session, display = _session(server)
        assert session.ask("hello", display) == "failed"
        assert len(server.requests) == queue.get("times", 1)  # retries really happened
    out, err = _out(display)
    assert err == expected + "\n"
    assert "usage" not in out
    assert session.history == []  # a failed turn leaves no trace


def test_a_refused_key_is_one_line_without_the_key() -> None:
    with GLMServer(api_key="the-right-key") as server:
        session, display = _session(server, key="sk-wrong-key-123")
        assert session.ask("hello", display) == "failed"
    _, err = _out(display)
    assert re.match(
        r"error: GLM 100[0-4] \(HTTP 401\): the API key was refused: check ZAI_API_KEY", err
    )
    assert err.count("\n") == 1
    assert "sk-wrong-key-123" not in err


def test_an_unreachable_server_names_the_url() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and is now closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/paas/v4"
    options = parse_args(["--base-url", url], environ={"ZAI_API_KEY": "k"})
    display = PlainDisplay(hide_thinking=False, out=io.StringIO(), err=io.StringIO())
    assert Session(options, url, api_key="k").ask("hi", display) == "failed"
    _, err = _out(display)
    assert err.startswith(f"error: GLM: cannot reach {url} (")
    assert err.endswith("check the network or --base-url\n")
    assert err.count("\n") == 1


def test_unknown_model_points_at_the_model_option() -> None:
    with GLMServer() as server:
        session, display = _session(server)
        session.model = "glm-nonexistent"
        assert session.ask("hi", display) == "failed"
    _, err = _out(display)
    assert err.startswith("error: GLM 1211 (HTTP 400): ")
    assert err.endswith("choose another model with /model NAME\n")


def test_once_mode_suggests_options_not_chat_commands() -> None:
    overflow = GLMContextOverflowError("too long", status_code=400, code="1261")
    line = error_line(overflow, base_url="u", retries=2, interactive=False)
    assert line == "error: GLM 1261 (HTTP 400): context too long: ask a shorter question"


def test_other_quota_codes_and_foreign_errors() -> None:
    quota = GLMQuotaExceededError("daily limit reached", code="1308")
    line = error_line(quota, base_url="u", retries=2, interactive=True)
    assert (
        line == "error: GLM 1308: quota used up (daily limit reached): "
        "wait for it to renew or raise your plan"
    )
    foreign = error_line(ValueError("bad\n input"), base_url="u", retries=2, interactive=True)
    assert foreign == "error: ValueError: bad input"


def _answer_only(*argv: str) -> tuple[str, str]:
    """Standard output and standard error of one "hello" turn with answers only on stdout."""
    with GLMServer() as server:
        server.script(auto_reply)
        session, display = _session(server, *argv, answer_only=True)
        assert session.ask("hello", display) == "answered"
    return _out(display)


def test_show_thinking_puts_the_reasoning_first_on_stdout() -> None:
    out, err = _answer_only("--show-thinking")
    assert (
        out == "The user said: hello. I will answer.\n\nHi there! Here is my answer to you: hello\n"
    )
    assert err == "usage: input 10, cached 2, reasoning 9, output 20 tokens\n"


def test_hide_thinking_is_one_summary_line_on_stderr() -> None:
    out, err = _answer_only("--hide-thinking")
    assert out == "Hi there! Here is my answer to you: hello\n"
    assert re.fullmatch(r"thought for \d+\.\d s / 9 tokens\nusage: .*\n", err)


def test_json_record_and_no_reasoning_tokens_without_thinking() -> None:
    with GLMServer() as server:
        server.script(auto_reply)
        session, display = _session(server, "--no-thinking", "--tools", answer_only=True)
        assert session.ask("What is 6 * 7?", display) == "answered"
    record = turn_record(session)
    assert record["reasoning"] == ""
    assert record["usage"]["output_token_details"].get("reasoning", 0) == 0
    assert record["tool_calls"] == [
        {"name": "calculator", "args": {"expression": "6 * 7"}, "result": "42"}
    ]
    assert (record["answer"], record["model"]) == ("The tool says: 42", "glm-4.6")
