"""Pure rendering state of one chat turn: stream chunks in, display events and text out.

Nothing here touches the terminal. `TurnView` consumes `AIMessageChunk`s (and the results
of tool calls) and keeps what a screen shows, every string passed through
`langchain_glm.cli._sanitize.sanitize` as it arrives: per model round the reasoning, the tool calls
with their arguments as they grow, and the answer; plus timings and summed usage.
`PlainWriter` turns the events `TurnView.feed` returns into plain text for a non-TTY or
``NO_COLOR`` output. The rich terminal view (`langchain_glm.cli._terminal`) draws a `TurnView`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from langchain_core.messages import AIMessageChunk
from langchain_core.messages.ai import UsageMetadata, add_usage

from langchain_glm.cli._sanitize import sanitize

EventKind = Literal["thinking", "answer", "tool_call", "tool_args", "tool_result"]


@dataclass(frozen=True)
class Event:
    """One thing that newly appeared in the turn."""

    kind: EventKind
    """``thinking``/``answer``: a text delta; ``tool_call``: a call's name became known;
    ``tool_args``: more argument text; ``tool_result``: a call's result."""

    text: str
    """The delta, tool name, argument fragment or result text."""


@dataclass
class ToolCallView:
    """A tool call as it streams, and later its result."""

    name: str = ""
    """Tool name (empty until its first chunk names it)."""

    args: str = ""
    """Argument JSON as received so far."""

    result: str | None = None
    """Result text once the tool ran."""

    failed: bool = False
    """Whether the tool raised (then `result` is the error)."""


@dataclass
class RoundView:
    """One model response inside the turn (a turn with tools has several)."""

    reasoning: str = ""
    """Reasoning text so far."""

    answer: str = ""
    """Answer text so far."""

    calls: dict[int, ToolCallView] = field(default_factory=dict)
    """Tool calls by their stream index."""


@dataclass
class TurnView:
    """Everything one turn shows, built from its stream.

    Example:
        ```python
        from langchain_core.messages import AIMessageChunk

        from langchain_glm.cli._render import TurnView

        view = TurnView(started=0.0)
        view.start_round()
        view.feed(AIMessageChunk(content="", additional_kwargs={"reasoning_content": "Hm."}), 0.5)
        events = view.feed(AIMessageChunk(content="Hi!"), 1.5)
        assert [e.kind for e in events] == ["answer"]
        assert view.thinking_seconds == 1.0
        ```
    """

    started: float
    """Monotonic time the turn started."""

    rounds: list[RoundView] = field(default_factory=list)
    """Model responses so far."""

    first_token_at: float | None = None
    """When the first output (reasoning, text or tool call) arrived."""

    thinking_from: float | None = None
    """When the first reasoning arrived."""

    thinking_until: float | None = None
    """When the first non-reasoning output after reasoning arrived."""

    usage: UsageMetadata | None = None
    """Usage summed over every round."""

    requests: int = 0
    """How many model responses carried usage."""

    @property
    def waiting(self) -> bool:
        """Whether nothing has arrived yet in the current round (show a spinner)."""
        current = self.rounds[-1] if self.rounds else None
        return current is None or not (current.reasoning or current.answer or current.calls)

    @property
    def thinking_seconds(self) -> float | None:
        """Seconds spent reasoning, or None when there was no reasoning."""
        if self.thinking_from is None:
            return None
        return (self.thinking_until or self.thinking_from) - self.thinking_from

    @property
    def reasoning_tokens(self) -> int | None:
        """Reasoning tokens reported by the usage, or None when unknown."""
        details = self.usage.get("output_token_details") if self.usage else None
        return details.get("reasoning") if details else None

    def start_round(self) -> None:
        """Begin a new model response (the first one, or the next after tool results)."""
        self.rounds.append(RoundView())

    def feed(self, chunk: AIMessageChunk, now: float) -> list[Event]:
        """Take one stream chunk.

        Args:
            chunk: The chunk from `ChatGLM.stream`.
            now: Monotonic time of its arrival.

        Returns:
            What newly appeared, in display order.
        """
        current = self.rounds[-1]
        events: list[Event] = []
        reasoning = chunk.additional_kwargs.get("reasoning_content")
        if isinstance(reasoning, str) and reasoning:
            reasoning = sanitize(reasoning)
            current.reasoning += reasoning
            self.thinking_from = now if self.thinking_from is None else self.thinking_from
            events.append(Event("thinking", reasoning))
        events += self._calls(current, chunk)
        text = chunk.content if isinstance(chunk.content, str) else ""
        text = sanitize(text if current.answer else text.lstrip())  # GLM's leading whitespace
        if text:
            current.answer += text
            events.append(Event("answer", text))
        self._stamp(events, now)
        if chunk.usage_metadata:
            self.usage = add_usage(self.usage, chunk.usage_metadata)
            self.requests += 1
        return events

    def add_result(self, index: int, text: str, *, failed: bool = False) -> Event:
        """Record the result of the current round's tool call at ``index``.

        Args:
            index: The call's stream index.
            text: The result (or the error text).
            failed: Whether the tool raised.

        Returns:
            The ``tool_result`` event.
        """
        call = self.rounds[-1].calls[index]
        call.result, call.failed = sanitize(text), failed
        return Event("tool_result", call.result)

    @staticmethod
    def _calls(current: RoundView, chunk: AIMessageChunk) -> list[Event]:
        """Events for the tool-call fragments of a chunk."""
        events: list[Event] = []
        for part in chunk.tool_call_chunks:
            index = part.get("index")
            call = current.calls.setdefault(
                len(current.calls) if index is None else index, ToolCallView()
            )
            if part.get("name") and not call.name:
                call.name = sanitize(str(part["name"]))
                events.append(Event("tool_call", call.name))
            if part.get("args"):
                args = sanitize(str(part["args"]))
                call.args += args
                events.append(Event("tool_args", args))
        return events

    def _stamp(self, events: list[Event], now: float) -> None:
        """Note the first-token time and the end of thinking."""
        if not events:
            return
        self.first_token_at = now if self.first_token_at is None else self.first_token_at
        after_thinking = any(e.kind != "thinking" for e in events)
        if after_thinking and self.thinking_from is not None and self.thinking_until is None:
            self.thinking_until = now


def usage_line(usage: UsageMetadata | None, requests: int = 1) -> str:
    """The usage summary printed after each turn.

    Args:
        usage: Summed usage of the turn, or None when the server sent none.
        requests: How many model responses the turn took.

    Returns:
        e.g. ``"usage: input 24, cached 2, reasoning 9, output 17 tokens"``.

    Example:
        ```python
        from langchain_glm.cli._render import usage_line

        usage = {
            "input_tokens": 24,
            "output_tokens": 17,
            "total_tokens": 41,
            "input_token_details": {"cache_read": 2},
            "output_token_details": {"reasoning": 9},
        }
        assert usage_line(usage) == "usage: input 24, cached 2, reasoning 9, output 17 tokens"
        ```
    """
    if not usage:
        return "usage: not reported by the server"
    cached = (usage.get("input_token_details") or {}).get("cache_read", 0)
    reasoning = (usage.get("output_token_details") or {}).get("reasoning", 0)
    line = (
        f"usage: input {usage['input_tokens']}, cached {cached}, reasoning {reasoning}, "
        f"output {usage['output_tokens']} tokens"
    )
    return line + (f" ({requests} requests)" if requests > 1 else "")


def thought_line(view: TurnView) -> str:
    """The one line that stands for hidden reasoning.

    Args:
        view: The turn.

    Returns:
        e.g. ``"thought for 1.2 s / 9 tokens"`` (tokens once usage arrived).
    """
    seconds = view.thinking_seconds or 0.0
    tokens = view.reasoning_tokens
    return f"thought for {seconds:.1f} s" + ("" if tokens is None else f" / {tokens} tokens")


class PlainWriter:
    r"""Turns events into plain, labelled text (no ANSI escapes) for pipes and ``NO_COLOR``.

    Each section starts on its own line with its label: ``thinking:``, ``answer:``,
    ``tool call: NAME `` (arguments follow as they stream) and ``tool result:``.

    Example:
        ```python
        from langchain_glm.cli._render import Event, PlainWriter

        out = PlainWriter(hide_thinking=False)
        text = out.write(Event("thinking", "Hm")) + out.write(Event("answer", "Hi"))
        assert text + out.end() == "thinking: Hm\nanswer: Hi\n"
        ```
    """

    _LABELS: ClassVar[dict[EventKind, str]] = {
        "thinking": "thinking: ",
        "answer": "answer: ",
        "tool_result": "tool result: ",
    }

    def __init__(self, *, hide_thinking: bool) -> None:
        """Start with no open section.

        Args:
            hide_thinking: Drop reasoning text (the caller prints `thought_line` instead).
        """
        self._hide = hide_thinking
        self._section: str | None = None

    def write(self, event: Event) -> str:
        """Text for one event.

        Args:
            event: The event.

        Returns:
            What to print (possibly empty).
        """
        if event.kind == "thinking" and self._hide:
            return ""
        if event.kind == "tool_args":
            return event.text
        section = "tool_call" if event.kind == "tool_call" else event.kind
        head = ""
        if section != self._section or event.kind in ("tool_call", "tool_result"):
            head = self.end()
            head += f"tool call: {event.text} " if event.kind == "tool_call" else ""
            head += self._LABELS.get(event.kind, "")
            self._section = section
        body = "" if event.kind == "tool_call" else event.text
        return head + body

    def end(self) -> str:
        """Close the open section.

        Returns:
            A newline if a section was open, else nothing.
        """
        was_open, self._section = self._section is not None, None
        return "\n" if was_open else ""


class RawWriter:
    r"""Answer (and reasoning) text as is, for a standard output that carries only answers.

    Reasoning, when written at all, is followed by a blank line before the answer; `end`
    closes the text with one newline.

    Example:
        ```python
        from langchain_glm.cli._render import Event, RawWriter

        out = RawWriter()
        text = out.write(Event("thinking", "Hm.")) + out.write(Event("answer", "Hi"))
        assert text + out.end() + out.end() == "Hm.\n\nHi\n"
        ```
    """

    def __init__(self) -> None:
        """Start with nothing written."""
        self._kind: EventKind | None = None
        self._last = ""

    def write(self, event: Event) -> str:
        """Text for a ``thinking`` or ``answer`` event.

        Args:
            event: The event.

        Returns:
            Its text, after a separator when reasoning gives way to the answer.
        """
        head = "\n\n" if self._kind == "thinking" and event.kind != "thinking" else ""
        self._kind = event.kind
        self._last = event.text[-1:] or self._last
        return head + event.text

    def end(self) -> str:
        """Close the written text.

        Returns:
            A newline if text was written and did not end with one, else nothing.
        """
        wrote, last = self._kind is not None, self._last
        self._kind, self._last = None, ""
        return "\n" if wrote and last != "\n" else ""
