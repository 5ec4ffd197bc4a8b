"""Saved conversations of `glm-chat`: one JSON file per session under the user's data directory.

The directory follows the XDG Base Directory rules
(https://specifications.freedesktop.org/basedir-spec/latest/): ``$XDG_DATA_HOME``, else
``~/.local/share``, then ``langchain-glm/sessions``. A file holds the messages, the model
and the chat options, never the API key. A file that is not valid JSON, or not a glm-chat
session, is reported in one line (`SessionError`) and never overwritten.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage, messages_from_dict, messages_to_dict

FORMAT = "glm-chat-session"
"""The ``format`` marker every session file carries."""

VERSION = 1
"""The file layout version."""

MAX_FILE = 64 * 1024 * 1024
"""Largest session file read, in bytes (a bigger one is an error, not a memory spike)."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class SessionError(Exception):
    """A session cannot be read or written; the message is one line for the user."""


@dataclass
class SavedSession:
    """What a session file holds."""

    name: str
    """Session name (the file is ``NAME.json``)."""

    model: str
    """Model id in use when saved."""

    options: dict[str, Any] = field(default_factory=dict)
    """Chat options: ``system``, ``thinking``, ``effort``, ``tools``."""

    messages: list[BaseMessage] = field(default_factory=list)
    """The conversation, system prompt first when there is one."""


def sessions_dir(environ: Mapping[str, str]) -> Path:
    """The folder of saved sessions.

    Args:
        environ: The environment (``XDG_DATA_HOME``, ``HOME``).

    Returns:
        ``$XDG_DATA_HOME/langchain-glm/sessions`` (default ``~/.local/share/...``).
    """
    base = environ.get("XDG_DATA_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path(environ.get("HOME", "~")) / ".local/share"
    return root.expanduser() / "langchain-glm" / "sessions"


def check_name(name: str) -> str:
    """A session name, or a `SessionError` saying what names may look like.

    Args:
        name: The name given by the user.

    Returns:
        The name.

    Raises:
        SessionError: If it is not 1-64 letters, digits, ``.``, ``_`` or ``-``.
    """
    if not _NAME.fullmatch(name):
        raise SessionError(f"bad session name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    return name


def new_name(folder: Path, now: datetime) -> str:
    """The name of a session the user did not name, not yet taken in ``folder``.

    Args:
        folder: The sessions folder.
        now: The current time.

    Returns:
        e.g. ``2026-12-06-211500`` (``...-211500-2`` when that exists).
    """
    stem = now.strftime("%Y-%m-%d-%H%M%S")
    name, count = stem, 1
    while (folder / f"{name}.json").exists():
        count += 1
        name = f"{stem}-{count}"
    return name


def load(folder: Path, name: str) -> SavedSession:
    """Read a saved session.

    Args:
        folder: The sessions folder.
        name: Its name.

    Returns:
        The session.

    Raises:
        SessionError: If the file is missing, too big, not JSON or not a glm-chat session.
    """
    path = folder / f"{check_name(name)}.json"
    try:
        if path.stat().st_size > MAX_FILE:
            raise SessionError(f"{path} is larger than {MAX_FILE} bytes; left as is")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SessionError(f"no saved session named {name!r} in {folder}") from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SessionError(f"{path} is not valid JSON ({_why(exc)}); left as is") from exc
    return _decode(path, name, data)


def _decode(path: Path, name: str, data: Any) -> SavedSession:
    """The session in a parsed file, or why it is not one."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SessionError(f"{path} is not a glm-chat session file; left as is")
    if data.get("version") != VERSION:
        shown = f"{data.get('version')!r:.40}"  # the file's value, short: one line
        raise SessionError(f"{path} has session version {shown}, not {VERSION}")
    model, options = data.get("model"), data.get("options")
    try:
        if not isinstance(model, str) or not isinstance(options, dict):
            raise TypeError("model or options missing")
        messages = messages_from_dict(data["messages"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SessionError(f"{path} is a damaged session file ({_why(exc)}); left as is") from exc
    return SavedSession(name=name, model=model, options=options, messages=messages)


def _why(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:120] or type(exc).__name__


def save(folder: Path, session: SavedSession, *, replace: bool) -> Path:
    """Write a session atomically (a crash leaves the old file or the new one, whole).

    Args:
        folder: The sessions folder (created if missing, private to the user).
        session: What to save.
        replace: Whether an existing file of that name may be replaced; it must then be a
            readable glm-chat session itself (a foreign or corrupt file is never overwritten).

    Returns:
        The file written.

    Raises:
        SessionError: If the file exists and may not be replaced, or cannot be written.
    """
    path = folder / f"{check_name(session.name)}.json"
    if path.exists():
        if not replace:
            raise SessionError(f"a session named {session.name!r} exists already")
        load(folder, session.name)  # raises on a foreign or damaged file: it stays as is
    body = {
        "format": FORMAT,
        "version": VERSION,
        "model": session.model,
        "options": session.options,
        "messages": messages_to_dict(session.messages),
    }
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_atomically(path, json.dumps(body, ensure_ascii=False, indent=1))
    except OSError as exc:
        raise SessionError(f"cannot save the session to {path}: {_why(exc)}") from exc
    return path


def _write_atomically(path: Path, text: str) -> None:
    """Write a temporary file beside ``path`` (private to the user), then rename it over."""
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=".tmp-", suffix=".json", delete=False
    ) as tmp:
        try:
            tmp.write(text)
        except BaseException:
            os.unlink(tmp.name)
            raise
    os.replace(tmp.name, path)


def latest(folder: Path) -> str:
    """The name of the most recently saved session.

    Args:
        folder: The sessions folder.

    Returns:
        Its name.

    Raises:
        SessionError: If there is none.
    """
    names = listing(folder)
    if not names:
        raise SessionError(f"no saved session to continue in {folder}")
    return names[-1]


def listing(folder: Path) -> list[str]:
    """Saved session names, oldest first (by modification time).

    Args:
        folder: The sessions folder.

    Returns:
        The names (an empty list when the folder does not exist).
    """
    if not folder.is_dir():
        return []
    files = [p for p in folder.glob("*.json") if _NAME.fullmatch(p.stem)]
    return [p.stem for p in sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.stem))]
