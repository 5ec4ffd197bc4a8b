"""The chat itself: connection (real API or bundled server), turns with the tool loop, the REPL.

Terminal drawing lives in `langchain_glm.cli._terminal`, the turn's display state in
`langchain_glm.cli._render`; this module only decides what happens.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import sys
import time
import warnings
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
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
from langchain_core.messages.ai import UsageMetadata, add_usage
from langchain_core.runnables import Runnable
from rich.console import Console

from langchain_glm import ChatGLM
from langchain_glm.cli._args import RETRIES, STDIN, Options, color_wanted
from langchain_glm.cli._messages import error_line
from langchain_glm.cli._render import TurnView
from langchain_glm.cli._sanitize import sanitize
from langchain_glm.cli._sessions import (
    SavedSession,
    SessionError,
    check_name,
    latest,
    load,
    new_name,
    save,
    sessions_dir,
)
from langchain_glm.cli._terminal import Display, PlainDisplay, RichDisplay
from langchain_glm.cli._tools import DEMO_TOOLS
from langchain_glm.testing import GLMServer, RecordedRequest, Reply, auto_reply

MAX_TOOL_ROUNDS = 5
"""Model responses per turn at most, when tools keep being called."""

OFFLINE_TRICKLE = 0.03
"""Seconds between the offline server's stream frames, so streaming is visible."""

STOPPED_NOTE = "stopped: this turn is dropped from the history (the partial answer is not kept)"
"""Shown after Ctrl-C interrupts an answer."""

Outcome = Literal["answered", "failed", "stopped"]

EXIT_CODES: dict[Outcome, int] = {"answered": 0, "failed": 1, "stopped": 130}
"""Exit status of a single turn; 2 is bad usage (see ``glm-chat --help``)."""

USAGE_ERROR = 2
"""Exit status of bad usage: empty input, an unreadable session file, a missing extra."""


@dataclasses.dataclass
class Session:
    """The conversation: history, current model, how to reach it, and where it is saved."""

    options: Options
    """Command-line options."""

    base_url: str
    """API base in use."""

    api_key: str | None
    """Key for the offline server; None reads the environment (the key is never printed)."""

    model: str = ""
    """Current model id (``/model`` changes it)."""

    system: str | None = None
    """Current system prompt (``--system``, ``/system``)."""

    history: list[BaseMessage] = dataclasses.field(default_factory=list)
    """Completed turns, with the assistant's reasoning so that it is sent back."""

    last_turn: list[BaseMessage] = dataclasses.field(default_factory=list)
    """The messages of the last turn asked (answered or not), for ``--json``."""

    image: dict[str, Any] | None = None
    """An image part attached with ``/image`` for the next question."""

    store: Path | None = None
    """The sessions folder where every answered turn is saved, or None."""

    name: str | None = None
    """The name the session is saved under."""

    def __post_init__(self) -> None:
        self.model = self.model or self.options.model
        self.system = self.system or self.options.system
        self.reset()

    def reset(self) -> None:
        """Forget the conversation (keep the system prompt)."""
        self.history = [SystemMessage(self.system)] if self.system else []

    def set_system(self, text: str) -> None:
        """Replace the system prompt (an empty text removes it); the turns are kept.

        Args:
            text: The new system prompt.
        """
        self.system = text or None
        turns = [m for m in self.history if not isinstance(m, SystemMessage)]
        self.history = ([SystemMessage(text)] if text else []) + turns

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

    def ask(self, question: str | HumanMessage, display: Display) -> Outcome:
        """Run one turn: stream the answer, run tool calls, repeat until a text answer.

        Args:
            question: The user's message (with an attached ``/image`` when there is one).
            display: Where the turn is shown.

        Returns:
            ``answered`` (history extended and saved), ``failed`` (error shown) or
            ``stopped`` (Ctrl-C).
        """
        message = question if isinstance(question, HumanMessage) else self._human(question)
        turn: list[BaseMessage] = [message]
        self.last_turn = turn
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
        self.image = None
        self._autosave(display)
        return "answered"

    def retry(self, display: Display) -> Outcome | None:
        """Ask the last question again.

        A failed or stopped question is sent again; otherwise the last answered one, in place
        of its answer (which is kept if the new attempt fails or is stopped).

        Args:
            display: Where the turn is shown.

        Returns:
            The outcome, or None when there is no question to retry.
        """
        last = self.last_turn[0] if self.last_turn else None
        if last is not None and not any(m is last for m in self.history):
            return self.ask(HumanMessage(last.content), display)  # it never got an answer
        asked = [i for i, m in enumerate(self.history) if isinstance(m, HumanMessage)]
        if not asked:
            return None
        replaced = self.history[asked[-1] :]
        del self.history[asked[-1] :]
        outcome = self.ask(HumanMessage(replaced[0].content), display)
        if outcome != "answered":
            self.history += replaced  # nothing is lost when the new attempt does not finish
        return outcome

    def saved(self) -> SavedSession:
        """What is written to the session file (messages, model, options; never the key).

        Returns:
            The session record.
        """
        options = {"system": self.system, "thinking": self.options.thinking}
        options |= {"effort": self.options.effort, "tools": self.options.tools}
        return SavedSession(str(self.name), self.model, options, list(self.history))

    def _human(self, question: str) -> HumanMessage:
        if self.image is None:
            return HumanMessage(question)
        return HumanMessage([{"type": "text", "text": question}, self.image])

    def _autosave(self, display: Display) -> None:
        if self.store is None or self.name is None:
            return
        try:
            save(self.store, self.saved(), replace=True)
        except SessionError as exc:
            display.error(f"error: {exc}")

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
        The session (not yet bound to a saved file).
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


def resume(session: Session, options: Options, folder: Path, display: Display) -> None:
    """Bind the session to its file: the last one (``-c``), a named one, or a new one.

    Args:
        session: The new session.
        options: Command-line options.
        folder: The sessions folder.
        display: Where a resumed session is announced.

    Raises:
        SessionError: If the file to resume cannot be read (it is left as it is).
    """
    session.store = folder
    name = latest(folder) if options.resume else options.session
    if name is None or not (folder / f"{check_name(name)}.json").exists():
        session.name = name or new_name(folder, datetime.now())
        return
    saved = load(folder, name)
    session.name, session.history = name, list(saved.messages)
    session.model = options.model if options.model_given else saved.model
    system = next((m for m in saved.messages if isinstance(m, SystemMessage)), None)
    session.system = system.text if system is not None else None
    if options.system is not None:
        session.set_system(options.system)
    turns = sum(isinstance(m, HumanMessage) for m in saved.messages)
    display.info(f"session {name}: {turns} earlier turns, model {session.model}")


def make_display(options: Options, *, once: bool) -> Display:
    """Rich view on a colour terminal, plain text otherwise; answers only on a pipe.

    Args:
        options: Command-line options.
        once: A single turn (``--once`` or piped input): stdout carries only the answer.

    Returns:
        The display.
    """
    tty_out = sys.stdout.isatty()
    if not options.plain and not options.json and color_wanted(os.environ, tty_out):
        err = Console(stderr=True)
        if once:
            return RichDisplay(
                hide_thinking=options.hide_thinking, console=err, err=err, answer_console=Console()
            )
        return RichDisplay(hide_thinking=options.hide_thinking, console=Console(), err=err)
    return PlainDisplay(
        hide_thinking=options.hide_thinking,
        out=io.StringIO() if options.json else sys.stdout,
        err=sys.stderr,
        answer_only=once or not tty_out,
        show_thinking=options.show_thinking,
        tty_input=sys.stdin.isatty(),
    )


def _warning_line(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    line: str | None = None,
) -> str:
    """Library warnings (e.g. a setting a model ignores) as one safe line, without source code."""
    return f"warning: {sanitize(str(message))}\n"


def question_of(options: Options) -> str | None:
    """The question of a single turn: ``--once``, read from stdin for ``-`` or a pipe.

    Args:
        options: Command-line options.

    Returns:
        The question, or None for the interactive chat.
    """
    if options.once is not None and options.once != STDIN:
        return options.once
    if options.once == STDIN or not sys.stdin.isatty():
        return sys.stdin.read().strip()
    return None


def run(options: Options) -> int:
    """Run the chat (or the single ``--once`` turn).

    Args:
        options: Command-line options.

    Returns:
        The exit status: 0; 1 when the single turn failed; 2 on empty input or an
        unreadable session file; 130 when the turn was stopped.
    """
    warnings.formatwarning = _warning_line
    question = question_of(options)
    display = make_display(options, once=question is not None)
    if question == "" or (question is None and options.json):
        why = "standard input was empty" if question == "" else "--json needs --once or a pipe"
        display.error(f"error: no question: {why}")
        return USAGE_ERROR
    if question is not None:
        options = dataclasses.replace(options, once=question)  # one turn: no chat commands
    with ExitStack() as stack:
        session = connect(options, stack, display)
        try:
            resume(session, options, sessions_dir(os.environ), display)
        except SessionError as exc:
            display.error(f"error: {exc}")
            return USAGE_ERROR
        session.store = session.store if options.save else None
        if question is None:
            if sys.stdin.isatty():
                import readline  # noqa: F401  (line editing, history, bracketed paste)
            from langchain_glm.cli._repl import repl

            return repl(session, display)
        outcome = session.ask(question, display)
        if options.json and outcome == "answered":
            print(json.dumps(turn_record(session)))
    return EXIT_CODES[outcome]


REASONING = "reasoning_content"
"""Where `ChatGLM` puts a reply's reasoning (``additional_kwargs``)."""


def turn_record(session: Session) -> dict[str, Any]:
    """The ``--json`` object of the last turn (printed as ASCII JSON: no raw control character).

    Args:
        session: The session after the turn.

    Returns:
        ``model``, ``answer``, ``reasoning``, ``tool_calls`` (name, args, result) and ``usage``.
    """
    replies = [m for m in session.last_turn if isinstance(m, AIMessage)]
    results = {m.tool_call_id: m.text for m in session.last_turn if isinstance(m, ToolMessage)}
    usage: UsageMetadata | None = None
    for reply in replies:
        usage = add_usage(usage, reply.usage_metadata) if reply.usage_metadata else usage
    return {
        "model": session.model,
        "answer": "".join(m.text for m in replies).strip(),
        "reasoning": "".join(
            str(m.additional_kwargs.get("reasoning_content", "")) for m in replies
        ),
        "tool_calls": [
            {"name": c["name"], "args": c["args"], "result": results.get(c["id"] or "")}
            for m in replies
            for c in m.tool_calls
        ],
        "usage": usage,
    }
