"""``python -m langchain_glm``: the terminal chat, same as the ``glm-chat`` command."""

from __future__ import annotations

import sys

from langchain_glm.cli import main

if __name__ == "__main__":
    sys.exit(main())
