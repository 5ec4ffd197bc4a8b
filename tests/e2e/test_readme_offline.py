"""The README's offline recipe, as a user runs it: start the server, export two variables, run
the quickstart; it prints exactly the output the README shows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from langchain_glm import ChatGLM, GLMAuthenticationError

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
QUICKSTART = README[README.index("## Quickstart") :]


def _block(kind: str, text: str) -> str:
    match = re.search(rf"```{kind}\n(.*?)```", text, re.S)
    assert match is not None, kind
    return match.group(1)


def test_offline_recipe_prints_the_output_shown() -> None:
    recipe = _block("bash", QUICKSTART).splitlines()
    assert len(recipe) == 3
    server, base_url, key = recipe
    assert server.startswith("python -m langchain_glm.testing --auto --port 8000 &")
    url = base_url.removeprefix("export ZAI_BASE_URL=")
    env = {**os.environ, "ZAI_API_KEY": key.removeprefix("export ZAI_API_KEY=")}
    env.pop("ZHIPUAI_API_KEY", None)
    command = [sys.executable, "-m", "langchain_glm.testing", "--auto", "--port", "0"]
    with subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        try:
            line = process.stdout.readline()
            served = re.fullmatch(r"GLM test server listening on (\S+)\n", line)
            assert served, line
            port = served.group(1).split(":")[2].split("/")[0]
            env["ZAI_BASE_URL"] = url.replace(":8000", f":{port}")  # port 0: a free one
            run = subprocess.run(  # noqa: S603 - our own interpreter and README
                [sys.executable, "-c", _block("python", QUICKSTART)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        finally:
            process.terminate()
    assert run.returncode == 0, run.stderr
    shown = _block("text", QUICKSTART)
    assert run.stdout.rstrip("\n") == shown.rstrip("\n")


def test_the_no_key_error_names_the_offline_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ZAI_API_KEY", "ZHIPUAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(GLMAuthenticationError) as info:
        ChatGLM(model="glm-5.3").invoke("hi")
    message = str(info.value)
    for line in _block("bash", QUICKSTART).splitlines():
        head = line.split("&")[0].strip().removeprefix("export ")
        assert head in message
