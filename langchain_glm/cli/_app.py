"""The chat itself: connection (real API or bundled server), turns with the tool loop, the REPL.

Terminal drawing lives in `langchain_glm.cli._terminal`, the turn's display state in
`langchain_glm.cli._render`; this module only decides what happens.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time
import warnings
from contextlib import ExitStack
from typing import Any, Literal

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    message_chunk_to_message,
)
from langchain_core.runnables import Runnable
from rich.console import Console

from langchain_glm import ChatGLM
from langchain_glm.cli._args import RETRIES, Options, color_wanted
from langchain_glm.cli._messages import error_line
from langchain_glm.cli._render import TurnView
from langchain_glm.cli._terminal import Display, PlainDisplay, RichDisplay
from langchain_glm.cli._tools import DEMO_TOOLS
from langchain_glm.testing import GLMServer, RecordedRequest, Reply, auto_reply

MAX_TOOL_ROUNDS = 5
"""Model responses per turn at most, when tools keep being called."""

OFFLINE_TRICKLE = 0.03
"""Seconds between the offline server's stream frames, so streaming is visible."""

DOUBLE_PRESS = 1.0
"""Two Ctrl-C within this many seconds exit."""

STOPPED_NOTE = "stopped: this turn is dropped from the history (the partial answer is not kept)"
"""Shown after Ctrl-C interrupts an answer."""

HELP = (
    "/reset  start a new conversation   /model NAME  switch model   "
    "/help  this help   /exit  quit (also Ctrl-D, or Ctrl-C twice)"
)

Outcome = Literal["answered", "failed", "stopped"]


@dataclasses.dataclass
class Session:
    """The conversation: history, current model and how to reach it."""

    options: Options
    """Command-line options."""

    base_url: str
    """API base in use."""

    api_key: str | None
    """Key for the offline server; None reads the environment (the key is never printed)."""

    model: str = ""
    """Current model id (``/model`` changes it)."""

    history: list[BaseMessage] = dataclasses.field(default_factory=list)
    """Completed turns, with the assistant's reasoning so that it is sent back."""

    def __post_init__(self) -> None:
        self.model = self.model or self.options.model
        self.reset()

    def reset(self) -> None:
        """Forget the conversation (keep the system prompt)."""
        system = self.options.system
        self.history = [SystemMessage(system)] if system else []

    def llm(self) -> Runnable[LanguageModelInput, Any]:
        """The model for the next turn.

        Returns:
            `ChatGLM`, with the demo tools bound when ``--tools`` is on.
        """
        kwargs = {**self.options.model_kwargs(), "model": self.model, "base_url": self.base_url}
        if self.api_key is not None:
            kwargs["api_key"] = self.api_key
        llm = ChatGLM(**kwargs)
        return llm.bind_tools(list(DEMO_TOOLS)) if self.options.tools else llm

    def ask(self, question: str, display: Display) -> Outcome:
        """Run one turn: stream the answer, run tool calls, repeat until a text answer.

        Args:
            question: The user's message.
            display: Where the turn is shown.

        Returns:
            ``answered`` (history extended), ``failed`` (error shown) or ``stopped`` (Ctrl-C).
        """
        turn: list[BaseMessage] = [HumanMessage(question)]
        display.begin(TurnView(started=time.monotonic()), self.model)
        try:
            note = self._rounds(turn, display)
        except KeyboardInterrupt:
            display.end(STOPPED_NOTE)
            return "stopped"
        except Exception as exc:  # every failure becomes one line, never a traceback
            display.end(usage=False)
            line = error_line(
                exc, base_url=self.base_url, retries=RETRIES, interactive=self.options.once is None
            )
            display.error(line)
            return "failed"
        display.end(note)
        self.history += turn
        return "answered"

    def _rounds(self, turn: list[BaseMessage], display: Display) -> str | None:
        """Model responses and tool runs; returns a note when the round limit was hit."""
        llm = self.llm()
        for _ in range(MAX_TOOL_ROUNDS):
            message = _stream(llm, self.history + turn, display)
            turn.append(message)
            if not (message.tool_calls or message.invalid_tool_calls):
                return None
            turn += _run_tools(message, display)
        return f"stopped after {MAX_TOOL_ROUNDS} rounds of tool calls without a text answer"


def _stream(
    llm: Runnable[LanguageModelInput, Any], messages: list[BaseMessage], display: Display
) -> AIMessage:
    """Stream one model response into the display; return it as one message."""
    display.next_round()
    full: AIMessageChunk | None = None
    stream = llm.stream(messages)
    try:
        for chunk in stream:
            display.chunk(chunk)
            full = chunk if full is None else full + chunk
    finally:
        stream.close()  # type: ignore[attr-defined]  # a generator: closes the HTTP stream
    if full is None:
        return AIMessage("")
    message = message_chunk_to_message(full)
    return message if isinstance(message, AIMessage) else AIMessage(message.content)


def _run_tools(message: AIMessage, display: Display) -> list[ToolMessage]:
    """Run each tool call of a response; errors go back to the model as error results."""
    tools = {tool.name: tool for tool in DEMO_TOOLS}
    calls: list[tuple[str | None, dict[str, Any], str | None, str | None]]
    calls = [(c["name"], c["args"], c["id"], None) for c in message.tool_calls]
    calls += [
        (c["name"], {}, c["id"], c["error"] or "bad call") for c in message.invalid_tool_calls
    ]
    results = []
    for position, (name, args, call_id, invalid) in enumerate(calls):
        status: Literal["success", "error"] = "success"
        try:
            if invalid is not None or name not in tools:
                raise ValueError(invalid or f"there is no tool named {name!r}")
            text = str(tools[str(name)].invoke(args))
        except Exception as exc:  # the model sees the error and can correct itself
            text, status = f"error: {exc}", "error"
        display.result(position, text, failed=status == "error")
        results.append(ToolMessage(text, tool_call_id=call_id or "", name=name, status=status))
    return results


def repl(session: Session, display: Display) -> int:
    """The interactive loop.

    Args:
        session: The conversation.
        display: The screen.

    Returns:
        The exit status (0).
    """
    display.info("Type a message and press Enter; /help lists the commands.")
    with contextlib.suppress(KeyboardInterrupt):  # a Ctrl-C landing mid-notice also exits
        _loop(session, display)
    display.info("bye")
    return 0


def _loop(session: Session, display: Display) -> None:
    """Read and answer lines until /exit, end of input, or Ctrl-C twice."""
    last_stop, armed = -DOUBLE_PRESS, False
    while True:
        try:
            line = display.prompt().strip()
        except EOFError:
            return
        except KeyboardInterrupt:
            if armed or time.monotonic() - last_stop < DOUBLE_PRESS:
                return
            display.info("\n(Ctrl-C again to exit, or /exit)")
            armed = True
            continue
        armed, last_stop = False, -DOUBLE_PRESS  # a typed line ends any Ctrl-C sequence
        if line.startswith("/"):
            if not _command(line, session, display):
                return
        elif line and session.ask(line, display) == "stopped":
            last_stop = time.monotonic()


def _command(line: str, session: Session, display: Display) -> bool:
    """Run a slash command; False means exit."""
    name, _, arg = line.partition(" ")
    if name in ("/exit", "/quit"):
        return False
    if name == "/reset":
        session.reset()
        display.info("history cleared: new conversation")
    elif name == "/model" and arg.strip():
        session.model = arg.strip()
        display.info(f"model: {session.model} (history kept)")
    elif name == "/model":
        display.info(f"model: {session.model}; switch with /model NAME")
    elif name == "/help":
        display.info(HELP)
    else:
        display.info(f"unknown command {name}; {HELP}")
    return True


def _offline_reply(request: RecordedRequest) -> Reply:
    """The bundled server's cooperative answer, streamed at a visible pace."""
    return dataclasses.replace(auto_reply(request), trickle=OFFLINE_TRICKLE)


def connect(options: Options, stack: ExitStack, display: Display) -> Session:
    """Start the offline server if asked (or implied), say where the chat goes.

    Args:
        options: Command-line options.
        stack: Owns the offline server for the life of the chat.
        display: Where the one-line notice goes.

    Returns:
        The session.
    """
    if options.offline:
        server = stack.enter_context(GLMServer())
        server.script(_offline_reply)
        why = f"{options.offline_reason}, so " if options.offline_reason else ""
        display.info(
            f"offline: {why}answers come from the bundled local GLM server at "
            f"{server.base_url} (scripted, not a real model; set ZAI_API_KEY for the real API)"
        )
        return Session(options, server.base_url, api_key="offline")
    base_url = options.base_url or ChatGLM.model_fields["base_url"].get_default(
        call_default_factory=True
    )
    display.info(f"online: GLM API at {base_url}, model {options.model}")
    return Session(options, str(base_url), api_key=None)


def make_display(options: Options) -> Display:
    """Rich view on a colour terminal, plain text otherwise.

    Args:
        options: Command-line options.

    Returns:
        The display.
    """
    if color_wanted(os.environ, sys.stdout.isatty()):
        return RichDisplay(
            hide_thinking=options.hide_thinking, console=Console(), err=Console(stderr=True)
        )
    return PlainDisplay(hide_thinking=options.hide_thinking, out=sys.stdout, err=sys.stderr)


def _warning_line(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    line: str | None = None,
) -> str:
    """Library warnings (e.g. a setting a model ignores) as one line, without source code."""
    return f"warning: {message}\n"


def run(options: Options) -> int:
    """Run the chat (or the single ``--once`` turn).

    Args:
        options: Command-line options.

    Returns:
        The exit status: 0, or 1 when the ``--once`` turn failed, 130 when it was stopped.
    """
    warnings.formatwarning = _warning_line
    display = make_display(options)
    with ExitStack() as stack:
        session = connect(options, stack, display)
        if options.once is None:
            if sys.stdin.isatty():
                import readline  # noqa: F401  (line editing and history for input())
            return repl(session, display)
        outcome = session.ask(options.once, display)
    return {"answered": 0, "failed": 1, "stopped": 130}[outcome]
