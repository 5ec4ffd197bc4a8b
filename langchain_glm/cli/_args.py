"""Command-line options of `glm-chat` (argparse), and the `ChatGLM` arguments they make."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
"""Values of GLM's ``reasoning_effort`` (GLM-5 family)."""

KEY_VARIABLES = ("ZAI_API_KEY", "ZHIPUAI_API_KEY")
"""Where the API key comes from; it is never an option, so it stays out of shell history."""

DEFAULT_MODEL = "glm-4.6"
"""Model used without ``--model``."""

RETRIES = 2
"""Retries of rate limits and transient failures per request."""

_EPILOG = """\
commands inside the chat: /reset, /model NAME, /models, /system TEXT, /retry, /image PATH,
/save NAME, /sessions, /help, /exit. A paste arrives as one message; \"\"\" opens and closes a
multi-line message. Ctrl-C stops an answer (the interrupted turn is dropped from the history);
Ctrl-C twice exits.

pipes: with --once, or when standard output is not a terminal, standard output carries only
the answer; the banner, reasoning, tool calls and usage go to standard error. A question of
"-", or piped standard input without --once, is read from standard input.

exit status: 0 answered, 1 the turn failed (one "error:" line on standard error), 2 bad
usage (a bad option, empty input, an unreadable session file, the cli extra missing),
130 stopped by Ctrl-C.

The API key is read from ZAI_API_KEY (or ZHIPUAI_API_KEY). Without one, and without
--base-url, glm-chat runs offline against the bundled local GLM server. Sessions are saved
as JSON (never with the key) under $XDG_DATA_HOME/langchain-glm/sessions.
"""

STDIN = "-"
"""The question that means "read it from standard input"."""


@dataclass(frozen=True)
class Options:
    """Parsed command line."""

    model: str
    """GLM model id."""

    base_url: str | None
    """API base, or None for ChatGLM's default (``ZAI_BASE_URL`` or BigModel)."""

    thinking: bool | None
    """``--thinking`` / ``--no-thinking``; None leaves the server default."""

    effort: str | None
    """``reasoning_effort``, or None."""

    system: str | None
    """System prompt, or None."""

    once: str | None
    """The question of a single non-interactive turn, or None for the interactive chat."""

    offline: bool
    """Talk to the bundled local GLM server instead of the real API."""

    offline_reason: str | None
    """Why offline was chosen without ``--offline`` (no key), else None."""

    tools: bool
    """Bind the demo tools (clock, calculator)."""

    hide_thinking: bool
    """Collapse reasoning into one line."""

    model_given: bool = False
    """Whether ``--model`` was given (a resumed session otherwise keeps its own model)."""

    show_thinking: bool = False
    """With answers only on standard output, put the reasoning there too, before the answer."""

    json: bool = False
    """Print the single turn as one JSON object (answer, reasoning, tool calls, usage, model)."""

    plain: bool = False
    """Plain text even on a colour terminal: no live view, no markdown rendering."""

    resume: bool = False
    """``-c/--continue``: resume the most recently saved session."""

    session: str | None = None
    """``--session NAME``: resume or start the named session."""

    save: bool = True
    """Save the conversation after each answer (``--no-save`` turns it off)."""

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `ChatGLM` other than the connection (url and key).

        Returns:
            ``model``, ``streaming`` and ``max_retries``, plus ``thinking``,
            ``reasoning_effort`` and ``tool_stream`` when chosen.
        """
        kwargs: dict[str, Any] = {"model": self.model, "streaming": True, "max_retries": RETRIES}
        if self.thinking is not None:
            kwargs["thinking"] = self.thinking
        if self.effort is not None:
            kwargs["reasoning_effort"] = self.effort
        if self.tools:
            kwargs["tool_stream"] = True
        return kwargs


def build_parser() -> argparse.ArgumentParser:
    """The argument parser.

    Returns:
        The parser (``--help`` prints usage and exits 0).
    """
    parser = argparse.ArgumentParser(
        prog="glm-chat",
        description="Chat with a Zhipu / Z.ai GLM model in the terminal (langchain-glm).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--model", help=f"GLM model id (default {DEFAULT_MODEL}, or the resumed session's)")
    add("--base-url", help="API base URL (default: ZAI_BASE_URL, else the BigModel endpoint)")
    add("--thinking", action=argparse.BooleanOptionalAction, help="turn reasoning on or off")
    add("--effort", choices=EFFORTS, help="reasoning_effort for the GLM-5 family")
    add("--system", help="system prompt")
    add("--once", metavar="QUESTION", help='ask one question ("-": read it from stdin), exit')
    add("--json", action="store_true", help="with --once or piped input: print one JSON object")
    add("--offline", action="store_true", help="use the bundled local GLM server (no key)")
    add("--tools", action="store_true", help="enable the demo tools: a clock and a calculator")
    add("--hide-thinking", action="store_true", help="show reasoning as one summary line")
    add("--show-thinking", action="store_true", help="with --once: reasoning on stdout too")
    add("--plain", action="store_true", help="plain text: no colours, no markdown rendering")
    add("-c", "--continue", dest="resume", action="store_true", help="resume the last session")
    add("--session", metavar="NAME", help="resume (or start) the session saved as NAME")
    add("--no-save", dest="save", action="store_false", help="do not save this conversation")
    return parser


def parse_args(argv: Sequence[str] | None, environ: Mapping[str, str]) -> Options:
    """Parse the command line and decide online or offline.

    Args:
        argv: Arguments without the program name (None: ``sys.argv[1:]``).
        environ: The environment, read for the API key variables.

    Returns:
        The options.

    Example:
        ```python
        from langchain_glm.cli._args import parse_args

        opts = parse_args(["--once", "hi", "--effort", "high"], environ={})
        assert opts.offline and opts.offline_reason
        assert opts.model_kwargs()["reasoning_effort"] == "high"
        ```
    """
    ns = build_parser().parse_args(argv)
    has_key = any(environ.get(name) for name in KEY_VARIABLES)
    implied = not ns.offline and not has_key and ns.base_url is None
    reason = "ZAI_API_KEY is not set" if implied else None
    return Options(
        model=ns.model or DEFAULT_MODEL,
        model_given=ns.model is not None,
        base_url=ns.base_url,
        thinking=ns.thinking,
        effort=ns.effort,
        system=ns.system,
        once=ns.once,
        offline=ns.offline or implied,
        offline_reason=reason,
        tools=ns.tools,
        hide_thinking=ns.hide_thinking,
        show_thinking=ns.show_thinking,
        json=ns.json,
        plain=ns.plain,
        resume=ns.resume,
        session=ns.session,
        save=ns.save,
    )


def color_wanted(environ: Mapping[str, str], is_tty: bool) -> bool:
    """Whether to draw the rich terminal view (else plain text).

    Args:
        environ: The environment (``NO_COLOR`` set to anything non-empty means plain,
            see https://no-color.org; ``TERM=dumb`` too).
        is_tty: Whether standard output is a terminal.

    Returns:
        True for the rich view.
    """
    return is_tty and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"
