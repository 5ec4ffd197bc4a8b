"""`glm-chat`: chat with GLM in the terminal (also `python -m langchain_glm`).

Needs the ``cli`` extra (`rich`): ``pip install "langchain-glm[cli]"``. Run ``glm-chat --help``
for the options. Without ``ZAI_API_KEY`` it runs offline against the bundled GLM server.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from langchain_glm.cli._args import parse_args
from langchain_glm.cli._messages import INSTALL_HINT

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``glm-chat`` console script.

    Args:
        argv: Arguments without the program name (default ``sys.argv[1:]``).

    Returns:
        The exit status: 0 on success, 1 when the single turn (``--once`` or piped) failed,
        2 on bad usage (a bad option, empty input, an unreadable session file, the ``cli``
        extra missing), 130 when Ctrl-C stopped it.
    """
    options = parse_args(argv, os.environ)
    try:
        import rich  # noqa: F401  (the optional extra; checked before any import of it)
    except ImportError:
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    from langchain_glm.cli._app import run  # imports rich: only now

    try:
        return run(options)
    except KeyboardInterrupt:  # Ctrl-C while starting or closing: no traceback
        return 130
