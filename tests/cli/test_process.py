"""glm-chat as a process: --help, --once exit codes, plain output, the missing-extra hint."""

from __future__ import annotations

import subprocess
import sys

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


def _run(*argv: str, code: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    head = ["-c", code] if code else ["-m", "langchain_glm"]
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, *head, *argv],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=cli_env(**env),
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_help_exits_zero_without_starting_anything() -> None:
    done = _run("--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: glm-chat")
    assert "offline:" not in done.stdout  # no server was started
    assert done.stderr == ""


def test_once_offline_prints_labelled_plain_text() -> None:
    done = _run("--once", 'Use the calculator: "17 * 23 + 4"', "--tools")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("offline: ZAI_API_KEY is not set, so answers come from the bundled")
    assert lines[1].startswith("thinking: The user said: Use the calculator")
    assert lines[2:4] == ['tool call: calculator {"expression":"17 * 23 + 4"}', "tool result: 395"]
    assert lines[-2] == "answer: The tool says: 395"
    assert lines[-1].startswith("usage: input ")
    assert "\x1b" not in done.stdout  # no escape sequences on a pipe
    assert done.stderr == ""


def test_once_hide_thinking_prints_one_summary_line() -> None:
    done = _run("--once", "hello", "--hide-thinking", NO_COLOR="1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "thinking:" not in done.stdout
    assert lines[-3] == "answer: Hi there! Here is my answer to you: hello"
    assert lines[-2].startswith("thought for ")
    assert lines[-2].endswith(" s / 9 tokens")


def test_library_warnings_are_one_line() -> None:
    done = _run("--once", "hi", "--model", "glm-5.1", "--effort", "high")
    assert done.returncode == 0
    assert done.stderr.startswith("warning: glm-5.1 ignores reasoning_effort")
    assert done.stderr.count("\n") == 1


def test_once_error_is_one_line_and_exits_one() -> None:
    with GLMServer() as server:
        server.reply_error(429, "1113")
        url = server.base_url
        done = _run("--once", "hi", "--base-url", server.base_url, ZAI_API_KEY="sk-secret-1")
    assert done.returncode == 1
    assert done.stderr == (
        "error: GLM 1113 (HTTP 429): insufficient balance: top up your balance or use the "
        "matching endpoint (Coding Plan keys need the coding base URL)\n"
    )
    assert done.stdout == f"online: GLM API at {url}, model glm-4.6\n"
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


def test_interactive_commands_over_a_pipe() -> None:
    script = "hello\n/model glm-4.5\n/model\n/help\n/bogus\n/reset\n/exit\n"
    done = subprocess.run(
        [sys.executable, "-m", "langchain_glm", "--offline"],
        input=script,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=cli_env(),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "you> thinking: The user said: hello. I will answer.\n" in out
    assert "answer: Hi there! Here is my answer to you: hello\n" in out
    assert "model: glm-4.5 (history kept)\n" in out
    assert "model: glm-4.5; switch with /model NAME\n" in out
    assert "/reset  start a new conversation" in out
    assert "unknown command /bogus" in out
    assert "history cleared: new conversation\n" in out
    assert out.endswith("you> bye\n")
