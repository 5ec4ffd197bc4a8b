"""glm-chat in a real terminal (a pty), typed at as a person would, the screen emulated (pyte).

One session against the bundled server walks through the chat features (paste, ``\"\"\"``,
/retry, /image, /model, /models, /system, /save, /sessions, Ctrl-C); a second resumes it
with ``-c``. Against a hostile raw server, both views must show every control sequence the
model or server sends as visible text and write none of them. Every wait is bounded.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect  # type: ignore[import-untyped]
import pytest

from tests.cli._helpers import ScreenLog, cli_env, foreign_controls, strip_ansi
from tests.hostile.server import HostileServer, frame, json_reply, sse_body, stream

TIMEOUT = 30
PROMPT_SETTLE = 0.5  # seconds between the prompt appearing and a keypress
PROMPT = r"you>(\x1b\[[0-9;]*m)* "
ROWS, COLUMNS = 50, 160
SHORT_ROWS = 14  # the feature session's terminal: a long turn is taller than the screen
LONG = "please think about this long message " * 40  # streams for seconds, over 14 rows

# One of every class of sequence a terminal obeys: CSI (clear screen, cursor home), OSC 52
# (set the clipboard), OSC 8 (a link), DCS, C1 CSI and OSC, bidi override, BEL/BS/CR; and rich
# markup, which must stay literal.
PAYLOAD = (
    "<\x1b[2J\x1b[H|\x1b]52;c;ZXZpbA==\x07|\x1b]8;;http://evil.test/\x1b\\link\x1b]8;;\x1b\\"
    "|\x1bP1$r\x1b\\|\x9b2J|\x9d0;t\x9c|\u202eevil\u202c|\x07\x08\r|[bold red]m[/]>"
)


def _spawn(*argv: str, log: ScreenLog, env: dict[str, str], rows: int = ROWS) -> pexpect.spawn:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "langchain_glm", *argv],
        env=cli_env(TERM="xterm-256color", **env),
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(rows, COLUMNS),
    )
    child.logfile_read = log
    return child


@pytest.fixture
def log() -> ScreenLog:
    return ScreenLog(ROWS, COLUMNS)


@pytest.fixture
def children() -> Iterator[list[pexpect.spawn]]:
    spawned: list[pexpect.spawn] = []
    yield spawned
    for child in spawned:
        if child.isalive():
            child.terminate(force=True)


def _screen(child: pexpect.spawn) -> str:
    """What appeared before the last match, as text."""
    return strip_ansi(str(child.before))


def _turn(child: pexpect.spawn, line: str) -> str:
    child.sendline(line)
    child.expect(PROMPT)
    return _screen(child)


def _settle_then(child: pexpect.spawn, keys: str) -> None:
    """Send keys once the prompt is waiting for input, as a person would.

    A SIGINT that lands after the prompt is printed but before `input()` reaches its
    `select()` is noted by Python yet wakes nothing (a CPython readline race), and a paste
    sent before readline switched bracketed-paste mode on arrives as typed lines.
    """
    time.sleep(PROMPT_SETTLE)
    if keys == "\x03":
        child.sendintr()
    else:
        child.send(keys)


def _usage_count(screen: str) -> int:
    return len(
        re.findall(r"usage: input \d+, cached \d+, reasoning \d+, output \d+ tokens", screen)
    )


def _input_tokens(screen: str) -> int:
    match = re.search(r"usage: input (\d+), cached \d+, reasoning \d+, output \d+ tokens", screen)
    assert match, screen
    return int(match.group(1))


def _open_borders(lines: list[str]) -> list[int]:
    """Rows (scrollback included) where a thinking panel starts and no bottom border follows
    before the next row that is not inside a panel (the stray border Ctrl-C used to leave)."""
    stray = []
    for row, line in enumerate(lines):
        if line.startswith("╭─ thinking"):
            rest = lines[row + 1 :]
            inside = [r for r in rest if r.startswith(("│", "╰"))]
            if not any(r.startswith("╰") for r in rest[: len(inside) + 1]):
                stray.append(row)
    return stray


def test_a_session_of_features_then_continue(children: list[pexpect.spawn], tmp_path: Path) -> None:
    image = tmp_path / "dot.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    log = ScreenLog(SHORT_ROWS, COLUMNS)
    chat = _spawn("--offline", log=log, env=env, rows=SHORT_ROWS)
    children.append(chat)
    chat.expect(PROMPT)
    assert "offline: answers come from the bundled local GLM server" in _screen(chat)

    first = _turn(chat, "hello there")
    assert "╭─ thinking" in first
    assert "The user said: hello there. I will answer." in first
    assert "Hi there! Here is my answer to you: hello there" in first

    _settle_then(chat, "\x1b[200~line one\nline two\nline three\x1b[201~\r")  # a paste
    chat.expect(PROMPT)
    pasted = _screen(chat)
    assert _usage_count(pasted) == 1, pasted  # one turn, one request
    assert "answer to you: line one" in pasted

    chat.sendline('"""')
    chat.expect(r"\.\.\.>")
    chat.sendline("alpha")
    chat.expect(r"\.\.\.>")
    block = _turn(chat, 'beta"""')
    assert _usage_count(block) == 1
    assert "answer to you: alpha" in block

    retried = _turn(chat, "/retry")
    assert "answer to you: alpha" in retried
    assert _input_tokens(retried) == _input_tokens(block)  # the same question, in its place

    assert "does not take images" in _turn(chat, f"/image {image}")
    assert "model: glm-4.6v" in _turn(chat, "/model glm-4.6v")
    assert f"attached {image.name}" in _turn(chat, f"/image {image}")
    assert "answer to you: what is this" in _turn(chat, "what is this")
    assert "not in the capability table" in _turn(chat, "/model glm-9000")
    models = _turn(chat, "/models")
    assert re.search(
        r"glm-4\.6v\s+context\s+\d+K\s+thinking \w+\s+inputs text, file, image", models
    )
    assert "system prompt: Be brief." in _turn(chat, "/system Be brief.")
    assert "the history holds an image" in _turn(chat, "/model glm-4.6")
    _turn(chat, "/model glm-4.6v")
    assert "saved as mine" in _turn(chat, "/save mine")
    assert "* mine" in _turn(chat, "/sessions")

    chat.sendline(LONG)
    chat.expect("thinking")  # the answer is streaming now
    chat.sendintr()
    chat.expect(PROMPT)
    stopped = _screen(chat)
    assert "stopped: this turn is dropped from the history" in stopped
    assert "Traceback" not in stopped
    # a live region taller than the screen used to leave a copy of its top at each redraw
    assert _open_borders(log.lines()) == [], "\n".join(log.lines())
    assert "answer to you: still here?" in _turn(chat, "still here?")  # the session goes on

    _settle_then(chat, "\x03")
    chat.expect(r"Ctrl-C again to exit")
    chat.expect(PROMPT)
    _settle_then(chat, "\x03")
    chat.expect("bye")
    chat.expect(pexpect.EOF)
    chat.close()
    assert chat.exitstatus == 0

    saved = json.loads((tmp_path / "data/langchain-glm/sessions/mine.json").read_text())
    assert saved["model"] == "glm-4.6v"
    assert saved["options"]["system"] == "Be brief."
    assert "offline" not in json.dumps(saved)  # the key (here "offline") is never saved
    parts = [p for m in saved["messages"] for p in m["data"]["content"] if isinstance(p, dict)]
    assert any(p.get("type") == "image_url" for p in parts)

    again = _spawn("--offline", "-c", log=ScreenLog(ROWS, COLUMNS), env=env)
    children.append(again)
    again.expect(PROMPT)
    assert "session mine: 5 earlier turns, model glm-4.6v" in _screen(again)
    assert _input_tokens(_turn(again, "and now?")) > _input_tokens(first)  # history sent back
    again.sendeof()
    again.expect(pexpect.EOF)


def _hostile_plays() -> list[object]:
    """A tool turn (hostile reasoning, answer, tool name and arguments; the tool result quotes
    the name), a turn whose usage is hostile, and an error whose message is."""
    call = {"index": 0, "id": "call_1", "type": "function"}
    call["function"] = {"name": "calc" + PAYLOAD, "arguments": '{"expression": "' + PAYLOAD}
    usage = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
    bad_usage = {**usage, "prompt_tokens_details": {"cached_tokens": PAYLOAD}}
    tool_round = [frame("", reasoning_content=PAYLOAD), frame("A" + PAYLOAD)]
    tool_round += [frame("", tool_calls=[call]), frame("", finish="tool_calls")]
    answer = [frame("", reasoning_content=PAYLOAD), frame("B" + PAYLOAD)]
    return [
        stream(sse_body(tool_round)),
        stream(sse_body([*answer, {**frame("", finish="stop"), "usage": usage}])),
        stream(sse_body([*answer, {**frame("", finish="stop"), "usage": bad_usage}])),
        json_reply({"error": {"code": "1214", "message": "bad " + PAYLOAD}}, status=400),
    ]


@pytest.mark.parametrize("view", ["rich", "plain"])
def test_hostile_text_is_shown_never_obeyed(
    view: str, children: list[pexpect.spawn], log: ScreenLog, tmp_path: Path
) -> None:
    colour = {} if view == "rich" else {"NO_COLOR": "1"}
    with HostileServer() as server:
        server.script(*_hostile_plays())  # type: ignore[arg-type]
        env = {"ZAI_API_KEY": "k", "XDG_DATA_HOME": str(tmp_path), **colour}
        chat = _spawn("--base-url", server.base_url, "--tools", log=log, env=env)
        children.append(chat)
        chat.expect(PROMPT)
        for question in ("go", "usage", "error"):
            _turn(chat, question)
        chat.sendline("/exit")
        chat.expect(pexpect.EOF)
    assert foreign_controls(log.text()) == []
    screen = re.sub(r"\s+", "", "".join(log.lines()))
    visible = re.sub(r"\s+", "", r"\x1b]52;c;ZXZpbA==\x07")
    # reasoning x2, answers x2, tool name x2 (call and result), usage error, error message
    assert screen.count(visible) >= 8, "\n".join(log.lines())
    assert "[boldred]m[/]" in screen  # rich markup shown as typed
    assert "\\u202eevil" in screen


def test_ctrl_c_stops_a_single_turn_with_status_130(
    children: list[pexpect.spawn], log: ScreenLog, tmp_path: Path
) -> None:
    once = _spawn("--offline", "--once", LONG, log=log, env={"XDG_DATA_HOME": str(tmp_path)})
    children.append(once)
    once.expect("thinking")
    once.sendintr()
    once.expect(pexpect.EOF)
    once.close()
    assert once.exitstatus == 130
    assert "stopped: this turn is dropped" in strip_ansi(log.text())
    assert "Traceback" not in log.text()
