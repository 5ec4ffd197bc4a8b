"""Run the GLM test server standalone: ``python -m langchain_glm.testing [--auto] [--port N]``.

For notebooks and demos: serves until Ctrl-C, on loopback only.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from collections.abc import Sequence

from langchain_glm.testing._auto import auto_reply
from langchain_glm.testing._server import LOOPBACK_HOSTS, GLMServer

_OPTIONS = {
    "--port": {"type": int, "default": 8000, "help": "TCP port, 0 for a free one"},
    "--host": {"default": "127.0.0.1", "help": "127.0.0.1, localhost or ::1"},
    "--api-key": {"default": None, "help": "accept only this key (default: any)"},
    "--auto": {"action": "store_true", "help": "answer like a cooperative model (call tools, "
               "JSON mode) instead of echoing"},
}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Start the server, print its base URL and serve until interrupted.

    Args:
        argv: Command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0, or 2 when the address cannot be used.
    """
    description = "Local GLM-compatible test server (loopback only, never for production)."
    parser = argparse.ArgumentParser("python -m langchain_glm.testing", description=description)
    for flag, options in _OPTIONS.items():
        parser.add_argument(flag, **options)  # type: ignore[arg-type]
    args = parser.parse_args(argv)
    if args.host not in LOOPBACK_HOSTS:
        parser.error(f"refusing to listen on {args.host!r}: this test server is loopback only")
    server = GLMServer(port=args.port, host=args.host, api_key=args.api_key)
    server.script(auto_reply if args.auto else None)
    try:
        server.start()
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"GLM test server listening on {server.base_url}", flush=True)
    print("Test tool only, not for production. Press Ctrl-C to stop.", file=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
