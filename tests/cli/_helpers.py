"""Shared helpers of the process-level CLI tests."""

from __future__ import annotations

import os
import re

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[=>]|\r")
"""CSI and OSC escape sequences, keypad modes, and carriage returns."""


def strip_ansi(text: str) -> str:
    """The text a person reads: escapes removed."""
    return ANSI.sub("", text)


def cli_env(**extra: str) -> dict[str, str]:
    """The environment without any API key or colour preference, plus ``extra``."""
    drop = {"ZAI_API_KEY", "ZHIPUAI_API_KEY", "ZAI_BASE_URL", "ZHIPUAI_BASE_URL", "NO_COLOR"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(extra)
    return env
