"""Terminal I/O of `glm-chat`: a rich live view for terminals, plain labelled text otherwise.

Both displays feed the same pure `TurnView` (`langchain_glm.cli._render`); they differ only
in how they show it. `RichDisplay` redraws the whole turn several times a second (spinner
with elapsed time, a dim "thinking" panel, tool calls as they grow, the answer);
`PlainDisplay` appends labelled text and never writes an ANSI escape.
"""

from __future__ import annotations

import sys
import threading
import time
from abc import ABC, abstractmethod
from typing import TextIO

from langchain_core.messages import AIMessageChunk
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.spinner import Spinner
from rich.text import Text

from langchain_glm.cli._render import (
    Event,
    PlainWriter,
    RoundView,
    TurnView,
    thought_line,
    usage_line,
)

PROMPT = "you> "
"""The input prompt."""


class Display(ABC):
    """What the chat loop needs from a screen; subclasses draw (`_open`, `_show`, `_close`)."""

    def __init__(self, *, hide_thinking: bool) -> None:
        """Create the display.

        Args:
            hide_thinking: Collapse reasoning into one line.
        """
        self.hide_thinking = hide_thinking
        self._lock = threading.Lock()
        self._view: TurnView | None = None

    def begin(self, view: TurnView, label: str) -> None:
        """Start showing a turn.

        Args:
            view: The turn's state (this display feeds it).
            label: What is being waited for, e.g. the model id.
        """
        self._view = view
        self._open(label)

    def next_round(self) -> None:
        """A new model response begins (the first, or one after tool results)."""
        with self._lock:
            self._turn().start_round()

    def chunk(self, chunk: AIMessageChunk) -> None:
        """Show one stream chunk.

        Args:
            chunk: The chunk.
        """
        with self._lock:
            events = self._turn().feed(chunk, time.monotonic())
        self._show(events)

    def result(self, position: int, text: str, *, failed: bool) -> None:
        """Show the result of the current round's tool call number ``position``.

        Args:
            position: The call's position in the round.
            text: Its result or error.
            failed: Whether the tool raised.
        """
        with self._lock:
            view = self._turn()
            index = sorted(view.rounds[-1].calls)[position]
            event = view.add_result(index, text, failed=failed)
        self._show([event])

    def end(self, note: str | None = None, *, usage: bool = True) -> None:
        """Finish the turn: final drawing, then a note or the usage line.

        Args:
            note: A line to add (e.g. why the turn stopped) instead of the usage line.
            usage: Print the usage line (off for a failed turn, whose error says enough).
        """
        view = self._turn()
        self._close(view)
        if note or usage:
            self.info(note or usage_line(view.usage, view.requests))
        self._view = None

    def _turn(self) -> TurnView:
        if self._view is None:
            raise RuntimeError("no turn in progress")
        return self._view

    @abstractmethod
    def _open(self, label: str) -> None:
        """Start drawing the current turn."""

    @abstractmethod
    def _show(self, events: list[Event]) -> None:
        """Draw what newly appeared."""

    @abstractmethod
    def _close(self, view: TurnView) -> None:
        """Stop drawing the current turn."""

    @abstractmethod
    def info(self, line: str) -> None:
        """Print a status line.

        Args:
            line: The line.
        """

    @abstractmethod
    def error(self, line: str) -> None:
        """Print an error line (to standard error).

        Args:
            line: The line.
        """

    @abstractmethod
    def prompt(self) -> str:
        """Read one line from the user.

        Returns:
            The line.
        """


class PlainDisplay(Display):
    """Plain labelled text: ``thinking:``, ``answer:``, ``tool call:``, ``usage:`` lines."""

    def __init__(self, *, hide_thinking: bool, out: TextIO, err: TextIO) -> None:
        """Create the display.

        Args:
            hide_thinking: Collapse reasoning into one line.
            out: Where the turn goes.
            err: Where errors go.
        """
        super().__init__(hide_thinking=hide_thinking)
        self._out, self._err = out, err
        self._writer = PlainWriter(hide_thinking=hide_thinking)

    def _open(self, label: str) -> None:
        pass  # plain text starts with the first event

    def _show(self, events: list[Event]) -> None:
        self._out.write("".join(self._writer.write(e) for e in events))
        self._out.flush()

    def _close(self, view: TurnView) -> None:
        self._out.write(self._writer.end())
        if self.hide_thinking and view.thinking_from is not None:
            self._out.write(thought_line(view) + "\n")

    def info(self, line: str) -> None:
        """Print a status line.

        Args:
            line: The line.
        """
        print(line, file=self._out, flush=True)

    def error(self, line: str) -> None:
        """Print an error line.

        Args:
            line: The line.
        """
        print(line, file=self._err, flush=True)

    def prompt(self) -> str:
        """Read one line.

        Returns:
            The line.
        """
        self._out.write(PROMPT)
        self._out.flush()
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")


class RichDisplay(Display):
    """The live terminal view."""

    def __init__(self, *, hide_thinking: bool, console: Console, err: Console) -> None:
        """Create the display.

        Args:
            hide_thinking: Collapse reasoning into one line.
            console: The terminal.
            err: The terminal's standard-error side.
        """
        super().__init__(hide_thinking=hide_thinking)
        self._console, self._err = console, err
        self._spinner = Spinner("dots", style="cyan")
        self._live: Live | None = None
        self._label = ""

    def _show(self, events: list[Event]) -> None:
        pass  # the live view redraws from the TurnView by itself

    def _open(self, label: str) -> None:
        self._label = label
        self._live = Live(
            console=self._console,
            get_renderable=self._renderable,
            refresh_per_second=12,
            vertical_overflow="visible",
        )
        self._live.start()

    def _renderable(self) -> RenderableType:
        with self._lock:
            view = self._view
            if view is None:
                return Text("")
            return render_turn(
                view, time.monotonic(), self.hide_thinking, spinner=self._spinner, label=self._label
            )

    def _close(self, view: TurnView) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def info(self, line: str) -> None:
        """Print a status line, dim.

        Args:
            line: The line.
        """
        self._console.print(Text(line, style="dim"), soft_wrap=True)

    def error(self, line: str) -> None:
        """Print an error line, red.

        Args:
            line: The line.
        """
        self._err.print(Text(line, style="bold red"), soft_wrap=True)

    def prompt(self) -> str:
        """Read one line after a coloured prompt.

        Returns:
            The line.
        """
        return self._console.input(Text(PROMPT.rstrip(), style="bold cyan") + " ")


def render_turn(
    view: TurnView, now: float, hide_thinking: bool, *, spinner: Spinner, label: str
) -> RenderableType:
    """Draw a turn as it stands (pure: no I/O; the spinner only keeps its animation).

    Args:
        view: The turn.
        now: Monotonic time, for the elapsed-time counters.
        hide_thinking: Show reasoning as one line instead of a panel.
        spinner: The spinner shown while waiting.
        label: What is being waited for.

    Returns:
        A rich renderable.
    """
    parts: list[RenderableType] = []
    for round_ in view.rounds:
        parts += _render_round(view, round_, now, hide_thinking)
    if view.waiting:
        spinner.update(text=Text(f"waiting for {label}  {now - view.started:.1f} s", "dim"))
        parts.append(spinner)
    return Group(*parts)


def _render_round(
    view: TurnView, round_: RoundView, now: float, hide_thinking: bool
) -> list[RenderableType]:
    """The thinking panel (or line), the tool calls and the answer of one round."""
    parts: list[RenderableType] = []
    if round_.reasoning and hide_thinking:
        thinking = view.thinking_until is None and view.thinking_from is not None
        seconds = now - (view.thinking_from or now)
        parts.append(Text(f"thinking… {seconds:.1f} s" if thinking else thought_line(view), "dim"))
    elif round_.reasoning:
        body = Text(round_.reasoning, style="dim italic")
        parts.append(Panel(body, title="thinking", title_align="left", border_style="dim"))
    for call in (round_.calls[i] for i in sorted(round_.calls)):
        parts.append(
            Text.assemble(
                ("tool call ", "bold magenta"), (call.name, "magenta"), (f" {call.args}", "magenta")
            )
        )
        if call.result is not None:
            style = "red" if call.failed else "green"
            parts.append(Text.assemble(("  → ", style), (call.result, style)))
    if round_.answer:
        parts.append(Text(round_.answer))
    return parts
