"""glm-chat in a real terminal (a pty), typed at as a person would, screen checked after escapes.

Two turns, ``/reset``, Ctrl-C during an answer (the session goes on), then Ctrl-C twice at
the prompt exits. Every wait is bounded by ``TIMEOUT``.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator

import pexpect  # type: ignore[import-untyped]
import pytest

from tests.cli._helpers import cli_env, strip_ansi

TIMEOUT = 30
PROMPT_SETTLE = 0.5  # seconds between the prompt appearing and a keypress
PROMPT = r"you>(\x1b\[[0-9;]*m)* "
LONG = "please think about this long message " * 20  # the reply streams for a few seconds


@pytest.fixture
def chat() -> Iterator[pexpect.spawn]:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "langchain_glm", "--offline"],
        env=cli_env(TERM="xterm-256color", COLUMNS="100", LINES="40"),
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(40, 100),
    )
    yield child
    if child.isalive():
        child.terminate(force=True)


def _screen(child: pexpect.spawn) -> str:
    """What appeared before the last match, as text."""
    return strip_ansi(str(child.before))


def _turn(child: pexpect.spawn, line: str) -> str:
    child.sendline(line)
    child.expect(PROMPT)
    return _screen(child)


def _interrupt_at_prompt(child: pexpect.spawn) -> None:
    """Press Ctrl-C once the prompt is waiting for input, as a person would.

    A SIGINT that lands after the prompt is printed but before `input()` reaches its
    `select()` is noted by Python yet wakes nothing (a CPython readline race), so the
    keypress is sent once the prompt has settled.
    """
    time.sleep(PROMPT_SETTLE)
    child.sendintr()


def _input_tokens(screen: str) -> int:
    match = re.search(r"usage: input (\d+), cached \d+, reasoning \d+, output \d+ tokens", screen)
    assert match, screen
    return int(match.group(1))


def test_two_turns_reset_and_ctrl_c(chat: pexpect.spawn) -> None:
    chat.expect(PROMPT)
    start = _screen(chat)
    assert "offline: answers come from the bundled local GLM server" in start

    first = _turn(chat, "hello there")
    assert "╭─ thinking" in first
    assert "The user said: hello there. I will answer." in first
    assert "Hi there! Here is my answer to you: hello there" in first

    second = _turn(chat, "and again")
    assert "Hi there! Here is my answer to you: and again" in second
    assert _input_tokens(second) > _input_tokens(first)  # the first turn was sent back

    assert "history cleared: new conversation" in _turn(chat, "/reset")

    chat.sendline(LONG)
    chat.expect("thinking")  # the answer is streaming now
    chat.sendintr()
    chat.expect(PROMPT)
    stopped = _screen(chat)
    assert "stopped: this turn is dropped from the history" in stopped
    assert "Traceback" not in stopped

    after = _turn(chat, "still here?")
    assert "Hi there! Here is my answer to you: still here?" in after
    assert _input_tokens(after) < _input_tokens(second)  # reset, and the stopped turn dropped

    _interrupt_at_prompt(chat)
    chat.expect(r"Ctrl-C again to exit")
    chat.expect(PROMPT)
    _interrupt_at_prompt(chat)
    chat.expect("bye")
    chat.expect(pexpect.EOF)
    chat.close()
    assert chat.exitstatus == 0
