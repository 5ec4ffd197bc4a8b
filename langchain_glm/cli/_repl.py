"""The interactive loop of `glm-chat`: reading messages (multi-line too) and slash commands."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import mimetypes
import time
from collections.abc import Callable
from pathlib import Path

from langchain_glm._models import MODELS, ModelSpec, spec_for
from langchain_glm.cli._app import Session
from langchain_glm.cli._sessions import SessionError, check_name, listing, save
from langchain_glm.cli._terminal import Display

DOUBLE_PRESS = 1.0
"""Two Ctrl-C within this many seconds exit."""

FENCE = '"""'
"""Opens and closes a multi-line message, as in ``ollama run``."""

MAX_IMAGE = 5 * 1024 * 1024
"""Largest image ``/image`` attaches, in bytes (GLM's limit for an image,
https://docs.bigmodel.cn/cn/guide/models/vlm/glm-4.6v)."""

IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
"""Image types ``/image`` attaches (by file extension)."""

HELP = (
    "/reset new conversation · /model NAME switch model · /models the models · "
    "/system TEXT system prompt · /retry answer again · /image PATH attach an image · "
    '/save NAME · /sessions · /help · /exit (also Ctrl-D, or Ctrl-C twice) · """ multi-line'
)
"""What ``/help`` prints."""


def repl(session: Session, display: Display) -> int:
    """The interactive loop.

    Args:
        session: The conversation.
        display: The screen.

    Returns:
        The exit status (0).
    """
    display.info("Type a message and press Enter; /help lists the commands.")
    with contextlib.suppress(KeyboardInterrupt):  # a Ctrl-C landing mid-notice also exits
        _loop(session, display)
    display.info("bye")
    return 0


def read_message(display: Display) -> str:
    """One message: a line (a bracketed paste is one line), or a ``\"\"\"`` block.

    Args:
        display: Where lines are read.

    Returns:
        The message; a block's lines joined by newlines, without the fences.

    Raises:
        EOFError: At the end of input (also inside a block).
    """
    line = display.prompt()
    if not line.lstrip().startswith(FENCE):
        return line.strip()
    first = line.lstrip()[len(FENCE) :]
    if first.rstrip().endswith(FENCE):
        return first.rstrip()[: -len(FENCE)].strip()
    lines = [first] if first.strip() else []
    while not (line := display.prompt(continuation=True)).rstrip().endswith(FENCE):
        lines.append(line)
    lines.append(line.rstrip()[: -len(FENCE)])
    return "\n".join(lines).strip("\n")


def _loop(session: Session, display: Display) -> None:
    """Read and answer messages until /exit, end of input, or Ctrl-C twice."""
    last_stop, armed = -DOUBLE_PRESS, False
    while True:
        try:
            text = read_message(display)
        except EOFError:
            return
        except KeyboardInterrupt:
            if armed or time.monotonic() - last_stop < DOUBLE_PRESS:
                return
            display.info("\n(Ctrl-C again to exit, or /exit)")
            armed = True
            continue
        armed, last_stop = False, -DOUBLE_PRESS  # a typed line ends any Ctrl-C sequence
        if text.startswith("/") and "\n" not in text:
            outcome = command(text, session, display)
            if outcome is False:
                return
        elif text:
            outcome = session.ask(text, display)
        else:
            continue
        if outcome == "stopped":
            last_stop = time.monotonic()


def command(line: str, session: Session, display: Display) -> object:
    """Run a slash command.

    Args:
        line: The command line, e.g. ``/model glm-5.3``.
        session: The conversation.
        display: The screen.

    Returns:
        False to exit; otherwise the outcome of a turn it ran (``/retry``) or None.
    """
    name, _, arg = line.partition(" ")
    arg = arg.strip()
    if name in ("/exit", "/quit"):
        return False
    if name == "/retry":
        outcome = session.retry(display)
        if outcome is None:
            display.info("nothing to retry yet")
        return outcome
    handler = _COMMANDS.get(name)
    if handler is None:
        display.info(f"unknown command {name}; {HELP}")
    else:
        display.info(handler(session, arg))
    return None


def _reset(session: Session, arg: str) -> str:
    session.reset()
    return "history cleared: new conversation"


def _model(session: Session, arg: str) -> str:
    if not arg:
        return f"model: {session.model}; switch with /model NAME (/models lists them)"
    session.model = arg
    spec = spec_for(arg)
    if spec is None:
        return (
            f"warning: {arg!r} is not in the capability table (see /models); it is sent as "
            "given and the server may refuse it. model: " + arg
        )
    if _has_image(session) and "image" not in (spec.inputs or {"image"}):
        return f"warning: the history holds an image, which {arg} does not take; /reset first"
    return f"model: {arg} (history kept)"


def _has_image(session: Session) -> bool:
    """Whether a message of the history carries an image part."""
    return any(
        isinstance(part, dict) and part.get("type") == "image_url"
        for message in session.history
        if isinstance(message.content, list)
        for part in message.content
    )


def model_line(spec: ModelSpec, current: str) -> str:
    """One line of ``/models``.

    Args:
        spec: The model.
        current: The model in use (marked ``*``).

    Returns:
        e.g. ``* glm-4.6      context 200K  thinking hybrid  inputs text``.
    """
    mark = "*" if spec.name == current.lower() else " "
    context = f"{round(spec.context_window / 1024)}K" if spec.context_window else "?"
    inputs = ", ".join(sorted(spec.inputs or {"text"}, key=lambda k: (k != "text", k)))
    return (
        f"{mark} {spec.name:<22} context {context:>5}  thinking {spec.thinking:<7} inputs {inputs}"
    )


def _models(session: Session, arg: str) -> str:
    rows = [model_line(spec, session.model) for spec in MODELS.values()]
    return "\n".join(["models (from the capability table; * in use):", *rows])


def _system(session: Session, arg: str) -> str:
    session.set_system(arg)
    return f"system prompt: {arg}" if arg else "system prompt removed"


def _image(session: Session, arg: str) -> str:
    spec = spec_for(session.model)
    if spec is None or "image" not in (spec.inputs or ()):
        vision = ", ".join(s.name for s in MODELS.values() if "image" in (s.inputs or ()))
        return f"{session.model} does not take images; switch with /model to one of: {vision}"
    path = Path(arg).expanduser()
    kind = mimetypes.guess_type(path.name)[0]
    if not arg or kind not in IMAGE_TYPES:
        return "usage: /image PATH to a .png, .jpg, .webp or .gif file"
    try:
        size = path.stat().st_size
        if size > MAX_IMAGE:
            return f"{path} is {size} bytes, more than the {MAX_IMAGE} an image may have"
        data = base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    session.image = {"type": "image_url", "image_url": {"url": f"data:{kind};base64,{data}"}}
    return f"attached {path.name} ({size} bytes) to your next message"


def _save(session: Session, arg: str) -> str:
    if session.store is None:
        return "sessions are not saved in this chat (--no-save)"
    try:
        name = check_name(arg) if arg else str(session.name)
        record = dataclasses.replace(session.saved(), name=name)
        path = save(session.store, record, replace=True)  # never a foreign or damaged file
    except SessionError as exc:
        return f"error: {exc}"
    session.name = name
    return f"saved as {name} ({path}); resume with glm-chat --session {name}"


def _sessions(session: Session, arg: str) -> str:
    names = listing(session.store) if session.store else []
    if not names:
        return "no saved sessions yet"
    rows = [("* " if n == session.name else "  ") + n for n in reversed(names)]
    return "\n".join(["saved sessions (newest first; resume with --session NAME):", *rows])


def _help(session: Session, arg: str) -> str:
    return HELP


_COMMANDS: dict[str, Callable[[Session, str], str]] = {
    "/reset": _reset,
    "/model": _model,
    "/models": _models,
    "/system": _system,
    "/image": _image,
    "/save": _save,
    "/sessions": _sessions,
    "/help": _help,
}
