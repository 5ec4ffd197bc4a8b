"""The pytest plugin is opt-in: installing langchain-glm changes no other project's pytest run."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

import pytest

_USER_TEST = """
def test_uses_fixture(glm_server):
    glm_server.reply(text="offline")
    assert glm_server.base_url.startswith("http://127.0.0.1:")
"""


def _run_pytest(project: Path) -> subprocess.CompletedProcess[str]:
    """Run pytest in a foreign project directory, with the plugins this venv auto-loads."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project)]
    return subprocess.run(  # noqa: S603 - our own interpreter and pytest
        command, cwd=project, capture_output=True, text=True, check=False, timeout=120
    )


def test_no_pytest11_entry_point() -> None:
    points = [p for p in distribution("langchain-glm").entry_points if p.group == "pytest11"]
    assert points == []


@pytest.mark.parametrize("opt_in", [False, True])
def test_fixture_only_where_a_conftest_opts_in(tmp_path: Path, opt_in: bool) -> None:
    (tmp_path / "test_user.py").write_text(_USER_TEST)
    if opt_in:
        plugin = 'pytest_plugins = ["langchain_glm.testing.pytest_plugin"]\n'
        (tmp_path / "conftest.py").write_text(plugin)
    result = _run_pytest(tmp_path)
    if opt_in:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "1 passed" in result.stdout
    else:
        assert result.returncode == 1
        assert "fixture 'glm_server' not found" in result.stdout
