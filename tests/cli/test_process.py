"""glm-chat as a process: the pipe rules (byte-exact stdout), --json, exit codes, the extra hint."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from langchain_glm.cli._messages import INSTALL_HINT
from langchain_glm.testing import GLMServer
from tests.cli._helpers import cli_env

TIMEOUT = 60

# Runs glm-chat with `rich` made unimportable, as in an environment without the cli extra.
NO_RICH = """
import sys

class RefuseRich:
    def find_spec(self, name, path=None, target=None):
        if name == "rich" or name.startswith("rich."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, RefuseRich())
from langchain_glm.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _run(
    *argv: str, code: str | None = None, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """glm-chat with ``argv``; its stdin is ``stdin`` (None: an empty, non-terminal stdin)."""
    head = ["-c", code] if code else ["-m", "langchain_glm"]
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, *head, *argv],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=cli_env(**env),
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        check=False,
    )


def test_help_exits_zero_without_starting_anything() -> None:
    done = _run("--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: glm-chat")
    assert "offline:" not in done.stdout  # no server was started
    assert done.stderr == ""


def test_once_stdout_is_the_answer_alone_and_the_rest_is_on_stderr(tmp_path: Path) -> None:
    done = _run("--once", "What is 17 * 23 + 4?", "--tools", XDG_DATA_HOME=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "The tool says: 395\n"  # byte-exact: ready for the next command
    lines = done.stderr.splitlines()
    assert lines[0].startswith("offline: ZAI_API_KEY is not set, so answers come from the bundled")
    assert lines[1] == "thinking: The user said: What is 17 * 23 + 4?. I will answer."
    assert lines[2:4] == ['tool call: calculator {"expression":"17 * 23 + 4"}', "tool result: 395"]
    assert re.fullmatch(
        r"usage: input \d+, cached 4, reasoning 24, output \d+ tokens \(2 .*", lines[-1]
    )
    assert "\x1b" not in done.stdout + done.stderr  # no escape sequences on a pipe


def test_a_dash_or_piped_stdin_is_the_question(tmp_path: Path) -> None:
    dash = _run("--once", "-", stdin="hello\n", XDG_DATA_HOME=str(tmp_path))
    piped = _run(stdin="hello\n", XDG_DATA_HOME=str(tmp_path))
    for done in (dash, piped):
        assert done.returncode == 0, done.stderr
        assert done.stdout == "Hi there! Here is my answer to you: hello\n"
    empty = _run("--once", "-", stdin="", XDG_DATA_HOME=str(tmp_path))
    assert (empty.returncode, empty.stdout) == (2, "")
    assert empty.stderr == "error: no question: standard input was empty\n"


def test_json_is_one_object_on_stdout(tmp_path: Path) -> None:
    question = "What is 17 * 23 + 4?"
    done = _run("--once", question, "--tools", "--json", "--no-save", XDG_DATA_HOME=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == []  # --no-save: nothing written
    assert done.stdout.count("\n") == 1
    record = json.loads(done.stdout)
    assert record["model"] == "glm-4.6"
    assert record["answer"] == "The tool says: 395"
    assert record["reasoning"].startswith("The user said: What is 17 * 23 + 4?")
    calls = [{"name": "calculator", "args": {"expression": "17 * 23 + 4"}, "result": "395"}]
    assert record["tool_calls"] == calls
    assert record["usage"]["output_token_details"]["reasoning"] == 24
    assert record["usage"]["input_token_details"]["cache_read"] == 4


def test_library_warnings_are_one_line(tmp_path: Path) -> None:
    done = _run(
        "--once", "hi", "--model", "glm-5.1", "--effort", "high", XDG_DATA_HOME=str(tmp_path)
    )
    assert done.returncode == 0
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, done.stderr
    assert warnings[0].startswith("warning: glm-5.1 ignores reasoning_effort")
    assert "Traceback" not in done.stderr
    assert "warn(" not in done.stderr  # no source line


def test_once_error_is_one_line_and_exits_one(tmp_path: Path) -> None:
    with GLMServer() as server:
        server.reply_error(429, "1113")
        url = server.base_url
        done = _run(
            "--once",
            "hi",
            "--base-url",
            url,
            ZAI_API_KEY="sk-secret-1",
            XDG_DATA_HOME=str(tmp_path),
        )
    assert done.returncode == 1
    assert done.stderr == (
        f"online: GLM API at {url}, model glm-4.6\n"
        "error: GLM 1113 (HTTP 429): insufficient balance: top up your balance or use the "
        "matching endpoint (Coding Plan keys need the coding base URL)\n"
    )
    assert done.stdout == ""
    assert "sk-secret-1" not in done.stdout + done.stderr


def test_without_rich_the_install_command_is_the_one_line() -> None:
    done = _run("--offline", "--once", "hi", code=NO_RICH)
    assert done.returncode == 2
    assert done.stderr == INSTALL_HINT + "\n"
    assert 'pip install "langchain-glm[cli]"' in done.stderr
    assert 'pip install -e ".[cli]"' in done.stderr
    assert done.stdout == ""


def test_without_rich_help_still_works() -> None:
    done = _run("--help", code=NO_RICH)
    assert done.returncode == 0
    assert done.stdout.startswith("usage: glm-chat")
