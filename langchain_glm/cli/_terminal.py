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
from typing import Literal, TextIO

from langchain_core.messages import AIMessageChunk
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.markdown import Markdown
from rich.panel import Panel
from rich.segment import Segment
from rich.spinner import Spinner
from rich.text import Text

from langchain_glm.cli._render import (
    Event,
    PlainWriter,
    RawWriter,
    RoundView,
    TurnView,
    thought_line,
    usage_line,
)
from langchain_glm.cli._sanitize import sanitize

PROMPT = "you> "
"""The input prompt."""

CONTINUATION = "...> "
"""The prompt inside a ``\"\"\"`` multi-line message."""


class Display(ABC):
    """What the chat loop needs from a screen; subclasses draw (`_open`, `_show`, `_close`).

    Every status and error line is sanitized here (`sanitize`); the turn's own text was
    sanitized by `TurnView` as it arrived, so nothing untrusted reaches the terminal raw.
    """

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
        self._open(sanitize(label))

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

    def info(self, line: str) -> None:
        """Print a status line (on standard error when standard output carries only answers).

        Args:
            line: The line (sanitized here).
        """
        self._info(sanitize(line))

    def error(self, line: str) -> None:
        """Print an error line to standard error.

        Args:
            line: The line (sanitized here).
        """
        self._error(sanitize(line))

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
    def _info(self, line: str) -> None:
        """Print a safe status line."""

    @abstractmethod
    def _error(self, line: str) -> None:
        """Print a safe error line."""

    @abstractmethod
    def prompt(self, continuation: bool = False) -> str:
        """Read one line from the user.

        Args:
            continuation: Inside a multi-line message (a shorter prompt).

        Returns:
            The line (a bracketed paste may hold several).
        """


def read_line(prompt: str, *, tty: bool, stream: TextIO) -> str:
    """Read one line after ``prompt``: with line editing on a terminal, else from stdin.

    Args:
        prompt: The prompt, written to ``stream``.
        tty: Whether standard input is a terminal (then `input` and readline are used, and
            a bracketed paste arrives as one line holding its newlines).
        stream: Where the prompt goes (standard error when standard output is not a terminal).

    Returns:
        The line without its final newline.

    Raises:
        EOFError: At the end of input.
    """
    stream.write(prompt)
    stream.flush()
    if tty:
        return input()
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")


class PlainDisplay(Display):
    """Plain text, never an ANSI escape.

    Interactive on a terminal, one stream carries labelled lines (``thinking:``, ``answer:``,
    ``tool call:``, ``usage:``). With ``answer_only`` (``--once``, or standard output not a
    terminal) standard output carries only the answer text, and the labelled rest goes to
    standard error; ``show_thinking`` then puts the reasoning on standard output first.
    """

    def __init__(
        self,
        *,
        hide_thinking: bool,
        out: TextIO,
        err: TextIO,
        answer_only: bool = False,
        show_thinking: bool = False,
        tty_input: bool = False,
    ) -> None:
        """Create the display.

        Args:
            hide_thinking: Collapse reasoning into one line.
            out: Standard output.
            err: Standard error.
            answer_only: Standard output carries only the answer.
            show_thinking: With ``answer_only``, reasoning goes on standard output too.
            tty_input: Standard input is a terminal (line editing, bracketed paste).
        """
        super().__init__(hide_thinking=hide_thinking)
        self._out, self._err, self._tty = out, err, tty_input
        self._answer_only, self._show_thinking = answer_only, show_thinking and not hide_thinking
        self._status = err if answer_only else out
        self._labelled = PlainWriter(hide_thinking=hide_thinking)
        self._raw = RawWriter()

    def _open(self, label: str) -> None:
        pass  # plain text starts with the first event

    def next_round(self) -> None:
        """A new model response begins: answer text of the previous one ends its line."""
        super().next_round()
        self._out.write(self._raw.end())

    def _raw_kind(self, event: Event) -> bool:
        """Whether the event goes unlabelled to standard output."""
        if not self._answer_only:
            return False
        return event.kind == "answer" or (event.kind == "thinking" and self._show_thinking)

    def _show(self, events: list[Event]) -> None:
        for event in events:
            if self._raw_kind(event):
                self._status.write(self._labelled.end())
                self._out.write(self._raw.write(event))
            else:
                self._out.write(self._raw.end())
                self._status.write(self._labelled.write(event))
        self._out.flush()
        self._status.flush()

    def _close(self, view: TurnView) -> None:
        self._out.write(self._raw.end())
        self._out.flush()
        self._status.write(self._labelled.end())
        if self.hide_thinking and view.thinking_from is not None:
            self._status.write(thought_line(view) + "\n")

    def _info(self, line: str) -> None:
        print(line, file=self._status, flush=True)

    def _error(self, line: str) -> None:
        print(line, file=self._err, flush=True)

    def prompt(self, continuation: bool = False) -> str:
        """Read one line.

        Args:
            continuation: Inside a multi-line message.

        Returns:
            The line.
        """
        text = CONTINUATION if continuation else PROMPT
        return read_line(text, tty=self._tty, stream=self._status)


class RichDisplay(Display):
    """The live terminal view.

    While a turn streams, a transient live region shows it (at most a screen high, its tail),
    the answer as plain text; once the turn ends the region is erased and the finished turn
    printed for good, the answer rendered as markdown. With a separate ``answer_console``
    (``--once``) the answer alone goes there and the rest to ``console``.
    """

    def __init__(
        self,
        *,
        hide_thinking: bool,
        console: Console,
        err: Console,
        answer_console: Console | None = None,
    ) -> None:
        """Create the display.

        Args:
            hide_thinking: Collapse reasoning into one line.
            console: The terminal: the live view and status lines.
            err: The terminal's standard-error side.
            answer_console: Where the finished answer goes, if not ``console``.
        """
        super().__init__(hide_thinking=hide_thinking)
        self._console, self._err = console, err
        self._answers = answer_console
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
            transient=True,
        )
        self._live.start()

    def _renderable(self) -> RenderableType:
        with self._lock:
            view = self._view
            if view is None:
                return Text("")
            turn = render_turn(
                view, time.monotonic(), self.hide_thinking, spinner=self._spinner, label=self._label
            )
            return Tail(turn)

    def _close(self, view: TurnView) -> None:
        if self._live is not None:
            self._live.stop()  # transient: erases the live region, no stray borders
            self._live = None
        now = time.monotonic()
        answers: AnswerStyle = "markdown" if self._answers is None else "none"
        final = render_turn(view, now, self.hide_thinking, label=self._label, answers=answers)
        self._console.print(final)
        if self._answers is not None:
            text = "\n\n".join(r.answer for r in view.rounds if r.answer)
            self._answers.print(_markdown(text) if text else Text(""), end="\n" if text else "")

    def _info(self, line: str) -> None:
        self._console.print(Text(line, style="dim"))  # wrapped at words

    def _error(self, line: str) -> None:
        self._err.print(Text(line, style="bold red"), soft_wrap=True)

    def prompt(self, continuation: bool = False) -> str:
        """Read one line after a coloured prompt (line editing; a paste arrives whole).

        Args:
            continuation: Inside a multi-line message.

        Returns:
            The line.
        """
        text = CONTINUATION if continuation else PROMPT
        return self._console.input(Text(text.rstrip(), style="bold cyan") + " ")


class Tail:
    """A renderable cut to its last screenful of lines, so a live region never scrolls away."""

    def __init__(self, renderable: RenderableType) -> None:
        """Wrap a renderable.

        Args:
            renderable: What to draw.
        """
        self.renderable = renderable
        """What is drawn (its tail)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """The last ``height - 1`` lines of the renderable.

        Args:
            console: The console.
            options: Its options.

        Yields:
            Segments of the kept lines.
        """
        lines = console.render_lines(self.renderable, options.update(height=None), pad=False)
        for line in lines[-max(1, console.size.height - 1) :]:
            yield from line
            yield Segment.line()


def _markdown(text: str) -> Markdown:
    """A finished answer as markdown; links stay text (no OSC 8 hyperlinks are written)."""
    return Markdown(text, hyperlinks=False)


AnswerStyle = Literal["text", "markdown", "none"]
"""How `render_turn` draws answers: as they stream, rendered once complete, or left out."""


def render_turn(
    view: TurnView,
    now: float,
    hide_thinking: bool,
    *,
    label: str,
    spinner: Spinner | None = None,
    answers: AnswerStyle = "text",
) -> RenderableType:
    """Draw a turn as it stands (pure: no I/O; the spinner only keeps its animation).

    Args:
        view: The turn.
        now: Monotonic time, for the elapsed-time counters.
        hide_thinking: Show reasoning as one line instead of a panel.
        label: What is being waited for.
        spinner: The spinner shown while waiting (None: a finished turn, no spinner).
        answers: Answer text as is, as markdown, or not at all.

    Returns:
        A rich renderable.
    """
    parts: list[RenderableType] = []
    for round_ in view.rounds:
        parts += _render_round(view, round_, now, hide_thinking, answers)
    if view.waiting and spinner is not None:
        spinner.update(text=Text(f"waiting for {label}  {now - view.started:.1f} s", "dim"))
        parts.append(spinner)
    return Group(*parts)


def _render_round(
    view: TurnView, round_: RoundView, now: float, hide_thinking: bool, answers: AnswerStyle
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
    if round_.answer and answers != "none":
        parts.append(_markdown(round_.answer) if answers == "markdown" else Text(round_.answer))
    return parts
