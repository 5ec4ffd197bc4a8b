"""Command-line parsing: options, the offline default, and what reaches ChatGLM."""

from __future__ import annotations

import io
import sys

import pytest

from langchain_glm.cli._app import make_display
from langchain_glm.cli._args import EFFORTS, build_parser, color_wanted, parse_args


def test_defaults_without_a_key_go_offline_and_say_why() -> None:
    opts = parse_args([], environ={})
    assert opts.offline
    assert opts.offline_reason == "ZAI_API_KEY is not set"
    assert opts.once is None
    assert not opts.tools
    assert not opts.hide_thinking
    assert opts.model_kwargs() == {"model": "glm-4.6", "streaming": True, "max_retries": 2}


@pytest.mark.parametrize("variable", ["ZAI_API_KEY", "ZHIPUAI_API_KEY"])
def test_a_key_in_the_environment_goes_online(variable: str) -> None:
    opts = parse_args([], environ={variable: "id.secret"})
    assert not opts.offline
    assert opts.offline_reason is None


def test_explicit_offline_has_no_reason_to_explain() -> None:
    opts = parse_args(["--offline"], environ={"ZAI_API_KEY": "k"})
    assert opts.offline
    assert opts.offline_reason is None


def test_base_url_without_key_stays_online() -> None:
    opts = parse_args(["--base-url", "http://127.0.0.1:8000/v1"], environ={})
    assert not opts.offline
    assert opts.base_url == "http://127.0.0.1:8000/v1"


def test_every_option_reaches_the_model_arguments() -> None:
    argv = [
        "--model",
        "glm-5",
        "--no-thinking",
        "--effort",
        "high",
        "--tools",
        "--system",
        "Be brief.",
    ]
    opts = parse_args([*argv, "--once", "hi", "--hide-thinking"], environ={})
    assert opts.model_kwargs() == {
        "model": "glm-5",
        "streaming": True,
        "max_retries": 2,
        "thinking": False,
        "reasoning_effort": "high",
        "tool_stream": True,
    }
    assert (opts.system, opts.once, opts.hide_thinking) == ("Be brief.", "hi", True)
    assert parse_args(["--thinking"], environ={}).model_kwargs()["thinking"] is True


def test_effort_accepts_exactly_the_documented_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert EFFORTS == ("none", "minimal", "low", "medium", "high", "xhigh", "max")
    for value in EFFORTS:
        assert parse_args(["--effort", value], environ={}).effort == value
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--effort", "extreme"], environ={})
    assert exit_info.value.code == 2
    assert "invalid choice: 'extreme'" in capsys.readouterr().err


def test_help_prints_usage_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--help"], environ={})
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: glm-chat")
    for option in ("--once", "--offline", "--tools", "--hide-thinking", "/reset", "ZAI_API_KEY"):
        assert option in text
    assert "--api-key" not in text  # the key comes only from the environment


def test_parser_has_no_api_key_option() -> None:
    options = {o for action in build_parser()._actions for o in action.option_strings}
    assert not any("key" in o for o in options)


@pytest.mark.parametrize(
    ("environ", "tty", "rich"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": ""}, True, True),  # https://no-color.org: only a non-empty value counts
        ({"TERM": "dumb"}, True, False),
    ],
)
def test_color_only_on_a_terminal_without_no_color(
    environ: dict[str, str], tty: bool, rich: bool
) -> None:
    assert color_wanted(environ, tty) is rich


class _Terminal(io.StringIO):
    """A standard stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("argv", "once", "kind"),
    [
        ([], False, "RichDisplay"),
        (["--plain"], False, "PlainDisplay"),  # no colours, no live view, no markdown
        (["--json"], True, "PlainDisplay"),
        ([], True, "RichDisplay"),  # --once on a terminal: live view on stderr, answer on stdout
    ],
)
def test_the_view_on_a_terminal(
    argv: list[str], once: bool, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdout", _Terminal())
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    display = make_display(parse_args(argv, environ={}), once=once)
    assert type(display).__name__ == kind
