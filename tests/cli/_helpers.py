"""Shared helpers of the process-level CLI tests."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile

import pyte

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[=>]|\r")
"""CSI and OSC escape sequences, keypad modes, and carriage returns."""


def strip_ansi(text: str) -> str:
    """The text a person reads: escapes removed."""
    return ANSI.sub("", text)


SCRATCH_DATA = tempfile.mkdtemp(prefix="glm-chat-tests-")
"""The data folder of glm-chat runs that name none, so no test saves into the user's."""
atexit.register(shutil.rmtree, SCRATCH_DATA, ignore_errors=True)


def cli_env(**extra: str) -> dict[str, str]:
    """The environment without any API key, colour preference or terminal size, plus ``extra``.

    Sessions go to `SCRATCH_DATA` unless ``extra`` names an ``XDG_DATA_HOME``.
    """
    drop = {"ZAI_API_KEY", "ZHIPUAI_API_KEY", "ZAI_BASE_URL", "ZHIPUAI_BASE_URL", "NO_COLOR"}
    drop |= {"COLUMNS", "LINES"}  # pytest-xdist workers set 80x24; the pty gives the real size
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["XDG_DATA_HOME"] = SCRATCH_DATA
    env.update(extra)
    return env


# What glm-chat itself may write to a terminal: rich's colours and live-region redraws
# (SGR, cursor up/down/column, erase line, cursor visibility) and readline's modes (bracketed
# paste, meta key, keypad). Everything else - OSC, DCS, clear screen, cursor home - is not ours.
OWN_SEQUENCES = re.compile(
    r"\x1b\[[0-9;]*m|\x1b\[\d*[ABCDG]|\x1b\[[012]?K|\x1b\[\?(?:25|2004|1034|1)[hl]|\x1b[=>]"
)


class ScreenLog:
    """A pexpect ``logfile_read`` that keeps every byte and replays it on an emulated screen."""

    def __init__(self, rows: int, columns: int) -> None:
        self.raw: list[str] = []
        self.screen = pyte.HistoryScreen(columns, rows, history=5000)
        self._stream = pyte.Stream(self.screen)

    def write(self, text: str) -> None:
        self.raw.append(text)
        self._stream.feed(text)

    def flush(self) -> None:
        pass

    def text(self) -> str:
        """Everything written, as one string."""
        return "".join(self.raw)

    def lines(self) -> list[str]:
        """The emulated screen now, after the lines scrolled off it; trailing blanks dropped."""
        width = self.screen.columns
        scrolled = ["".join(line[x].data for x in range(width)) for line in self.screen.history.top]
        rows = [line.rstrip() for line in [*scrolled, *self.screen.display]]
        while rows and not rows[-1]:
            rows.pop()
        return rows


def foreign_controls(text: str) -> list[str]:
    """ESC sequences glm-chat did not write itself, and every C1 or bidi control, in ``text``."""
    rest = OWN_SEQUENCES.sub("", text)
    found = [rest[i : i + 6] for i, c in enumerate(rest) if c == "\x1b"]
    return found + [
        c
        for c in rest
        if 0x80 <= ord(c) < 0xA0 or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    ]
