"""The interactive loop over a real session (local server), and saved sessions on disk."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from langchain_glm.cli._app import Session
from langchain_glm.cli._args import parse_args
from langchain_glm.cli._repl import repl
from langchain_glm.cli._sessions import SavedSession, SessionError, latest, load, save
from langchain_glm.cli._terminal import PlainDisplay
from langchain_glm.testing import GLMServer, auto_reply
from tests.cli._helpers import cli_env

TIMEOUT = 60


def _chat(
    server: GLMServer, script: str, monkeypatch: pytest.MonkeyPatch, *argv: str
) -> tuple[Session, str]:
    """Run the loop over ``script`` as standard input; return the session and what it printed."""
    options = parse_args([*argv, "--base-url", server.base_url], environ={"ZAI_API_KEY": "k"})
    out = io.StringIO()
    display = PlainDisplay(hide_thinking=False, out=out, err=out)
    session = Session(options, server.base_url, api_key="k")
    monkeypatch.setattr(sys, "stdin", io.StringIO(script))
    assert repl(session, display) == 0
    return session, out.getvalue()


def test_commands_in_a_chat(monkeypatch: pytest.MonkeyPatch) -> None:
    script = (
        "/retry\nhello\n/model glm-4.5\n/model\n/model glm-9000\n/model glm-4.6\n/models\n"
        "/system Be brief.\n/retry\n/help\n/bogus\n/image x.png\n/reset\n/exit\n"
    )
    with GLMServer() as server:
        server.script(auto_reply)
        session, out = _chat(server, script, monkeypatch)
        retried = server.requests[-1].json["messages"]
    assert "you> nothing to retry yet\n" in out
    assert "answer: Hi there! Here is my answer to you: hello\n" in out
    assert "model: glm-4.5 (history kept)\n" in out
    assert "model: glm-4.5; switch with /model NAME (/models lists them)\n" in out
    assert "warning: 'glm-9000' is not in the capability table (see /models)" in out
    assert "* glm-4.6                context  200K  thinking hybrid  inputs text\n" in out
    assert "system prompt: Be brief.\n" in out
    assert [m["role"] for m in retried] == ["system", "user"]  # the answer was replaced
    assert retried[0]["content"] == "Be brief."
    assert "/reset new conversation" in out
    assert "unknown command /bogus" in out
    assert "glm-4.6 does not take images; switch with /model to one of: glm-4.6v" in out
    assert "history cleared: new conversation\n" in out
    assert session.history == [SystemMessage("Be brief.")]
    assert out.endswith("you> bye\n")


def test_a_fenced_block_is_one_message(monkeypatch: pytest.MonkeyPatch) -> None:
    script = '"""\nfirst line\n\n  indented\nlast"""\n"""one line"""\n'
    with GLMServer() as server:
        server.script(auto_reply)
        _, out = _chat(server, script, monkeypatch)
        sent = [r.json["messages"][-1]["content"] for r in server.requests]
    assert sent == ["first line\n\n  indented\nlast", "one line"]
    assert out.count("...> ") == 4


def test_image_goes_with_the_next_message_on_a_vision_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    image = tmp_path / "dot.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    script = (
        f"/image {tmp_path / 'missing.png'}\n/image {tmp_path}/notes.txt\n/image {image}\nlook\n"
    )
    with GLMServer() as server:
        server.script(auto_reply)
        _, out = _chat(server, script, monkeypatch, "--model", "glm-4.6v")
        content = server.requests[0].json["messages"][-1]["content"]
    assert "cannot read" in out
    assert "usage: /image PATH to a .png, .jpg, .webp or .gif file" in out
    assert "attached dot.png (8 bytes) to your next message" in out
    assert content[0] == {"type": "text", "text": "look"}
    assert content[1]["type"] == "image_url"
    assert content[1]["image_url"]["url"] == "iVBORw0KGgo="  # GLM takes bare base64


def test_sessions_round_trip_and_refuse_foreign_files(tmp_path: Path) -> None:
    record = SavedSession("s1", "glm-4.6", {"system": None}, [HumanMessage("q"), AIMessage("a")])
    path = save(tmp_path, record, replace=False)
    assert load(tmp_path, "s1") == record
    with pytest.raises(SessionError, match="exists already"):
        save(tmp_path, record, replace=False)
    for name, text in {"bad": "{not json", "foreign": '{"messages": []}', "old": "[1, 2]"}.items():
        (tmp_path / f"{name}.json").write_text(text)
        with pytest.raises(SessionError, match="left as is") as caught:
            load(tmp_path, name)
        assert "\n" not in str(caught.value)
        with pytest.raises(SessionError):
            save(tmp_path, SavedSession(name, "glm-4.6"), replace=True)
        assert (tmp_path / f"{name}.json").read_text() == text  # never overwritten
    (tmp_path / "huge.json").write_text(
        json.dumps({"format": "glm-chat-session", "version": "9" * 10**6})
    )
    with pytest.raises(SessionError, match="has session version '9999") as caught:
        load(tmp_path, "huge")
    assert len(str(caught.value)) < len(str(tmp_path)) + 100  # one short line, not 1 MB
    with pytest.raises(SessionError, match="bad session name"):
        load(tmp_path, "../etc/passwd")
    assert path.name == "s1.json"


def _run(*argv: str, data: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "langchain_glm", *argv],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=cli_env(XDG_DATA_HOME=str(data), **env),
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_named_sessions_continue_and_never_hold_the_key(tmp_path: Path) -> None:
    with GLMServer() as server:
        server.script(auto_reply)
        url = ("--base-url", server.base_url)
        key = {"ZAI_API_KEY": "sk-secret-9"}
        first = _run("--once", "first question", "--session", "work", *url, data=tmp_path, **key)
        second = _run("-c", "--once", "second", *url, data=tmp_path, **key)
        sent = server.requests[-1].json["messages"]
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert "session work: 1 earlier turns, model glm-4.6" in second.stderr
    assert [m["content"] for m in sent if m["role"] == "user"] == ["first question", "second"]
    text = (tmp_path / "langchain-glm/sessions/work.json").read_text()
    assert json.loads(text)["format"] == "glm-chat-session"
    assert "sk-secret-9" not in text


def test_an_unreadable_session_is_one_line_and_kept(tmp_path: Path) -> None:
    folder = tmp_path / "langchain-glm/sessions"
    folder.mkdir(parents=True)
    (folder / "broken.json").write_text("{truncated")
    done = _run("--session", "broken", "--once", "hi", "--offline", data=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].startswith(
        f"error: {folder / 'broken.json'} is not valid JSON"
    )
    assert (folder / "broken.json").read_text() == "{truncated"
    assert done.stdout == ""


def test_continue_without_any_saved_session_says_so(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match=r"^no saved session to continue in .*empty$"):
        latest(tmp_path / "empty")


def test_retry_resends_a_failed_question_and_keeps_an_answer_it_cannot_replace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with GLMServer() as server:
        server.reply(text="first answer")
        server.reply_error(400, "1214", "bad request")
        server.reply(text="second answer")
        server.reply_error(400, "1214", "bad again")
        session, out = _chat(server, "one\ntwo\n/retry\n/retry\n", monkeypatch)
        sent = [r.json["messages"][-1]["content"] for r in server.requests]
    assert sent == ["one", "two", "two", "two"]  # the failed question, then the answered one
    assert out.count("error: GLM 1214 (HTTP 400)") == 2
    assert [m.content for m in session.history] == ["one", "first answer", "two", "second answer"]
