"""The README's "Terminal chat" section is true: its capture and its shell examples.

The capture is a real session in a pty, replayed on an emulated screen (pyte). To refresh it
after a change of the chat's looks:

    .venv/bin/python -m tests.cli.test_readme
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import pexpect  # type: ignore[import-untyped]

from tests.cli._helpers import ScreenLog, cli_env

README = Path(__file__).parents[2] / "README.md"
SECTION = re.compile(r"## Terminal chat: glm-chat\n(.*?)\n## ", re.S)
CAPTURE = re.compile(
    r"(<!-- glm-chat capture: begin -->\n```text\n)(.*?)(```\n<!-- glm-chat capture: end -->)", re.S
)
PROMPT = r"you>(\x1b\[[0-9;]*m)* "
TIMEOUT = 30
TYPED = ["What is 17 * 23 + 4?", "/save demo"]
"""What the captured session types, then Ctrl-D."""


def capture() -> str:
    """Run the session of the README in a 100-column terminal; the screen, normalised."""
    with tempfile.TemporaryDirectory(prefix="glm-readme-") as data:  # the same length each run
        return _normalised(_session(data), data)


def _session(data: str) -> ScreenLog:
    log = ScreenLog(60, 100)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "langchain_glm", "--tools"],
        env=cli_env(TERM="xterm-256color", XDG_DATA_HOME=data),
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(60, 100),
    )
    child.logfile_read = log
    try:
        child.expect(PROMPT)
        for line in TYPED:
            child.sendline(line)
            child.expect(PROMPT)
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    return log


def _normalised(log: ScreenLog, data: str) -> str:
    """The session replayed on a fresh screen with its port and data folder made fixed."""
    raw = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", log.text())
    screen = ScreenLog(60, 100)
    screen.write(raw.replace(data, "~/.local/share"))
    return "\n".join(screen.lines()) + "\n"


def _readme_capture() -> str:
    match = CAPTURE.search(README.read_text(encoding="utf-8"))
    assert match, "the capture markers are missing from the README"
    return match.group(2)


def test_the_capture_in_the_readme_is_a_real_session() -> None:
    assert capture() == _readme_capture(), "refresh: python -m tests.cli.test_readme"


def _examples() -> list[tuple[str, str]]:
    """``$ command`` lines of the section's console blocks, each with the output shown."""
    section = SECTION.search(README.read_text(encoding="utf-8"))
    assert section
    pairs: list[tuple[str, str]] = []
    for block in re.findall(r"```console\n(.*?)```", section.group(1), re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                pairs.append((line[2:], ""))
            else:
                pairs[-1] = (pairs[-1][0], pairs[-1][1] + line + "\n")
    return pairs


def _make_demo() -> tuple[str, str]:
    """The command `make demo` runs (README: "one glm-chat turn with a tool call"), and its
    offline answer."""
    makefile = (README.parent / "Makefile").read_text(encoding="utf-8")
    question = re.search(r"^DEMO_QUESTION := (.*)$", makefile, re.M)
    recipe = re.search(
        r"^demo:.*\n\t@\$\(BIN\)/(glm-chat .*)'\$\(DEMO_QUESTION\)'$", makefile, re.M
    )
    assert question, "the Makefile has no DEMO_QUESTION"
    assert recipe, "the Makefile's demo target changed shape"
    return f"{recipe.group(1)}{shlex.quote(question.group(1))} 2>/dev/null", "The tool says: 395\n"


def test_the_shell_examples_print_what_the_readme_shows(tmp_path: Path) -> None:
    examples = [*_examples(), _make_demo()]
    assert len(examples) >= 4
    bin_dir = str(Path(sys.executable).parent)  # glm-chat and python of this environment
    env = cli_env(XDG_DATA_HOME=str(tmp_path), PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    for command, shown in examples:
        done = subprocess.run(  # noqa: S603 - the README's own commands, offline
            ["/bin/bash", "-c", command],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=env,
            check=False,
        )
        assert (done.returncode, done.stdout) == (0, shown), (command, done.stderr)


def _refresh() -> None:
    text = capture()
    readme = README.read_text(encoding="utf-8")
    README.write_text(CAPTURE.sub(lambda m: m.group(1) + text + m.group(3), readme), "utf-8")


if __name__ == "__main__":
    _refresh()
