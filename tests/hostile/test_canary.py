"""Key canary: a distinctive key appears nowhere, across every fault of `test_faults`.

Checked: every log record at DEBUG (ours, httpx's and httpcore's), every exception (str, repr,
args, the whole __cause__/__context__ chain), every warning, the model's repr and `dumpd`, and
every callback payload.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumpd

from langchain_glm import ChatGLM
from tests.hostile import server as s
from tests.hostile.server import HostileServer
from tests.hostile.test_faults import INVOKE_FAULTS, STREAM_FAULTS

CANARY = "canary-7Qz9xK2mP4vL8nR3"
KEYS = {"bearer": CANARY + "-bearer", "jwt": CANARY + "id." + CANARY + "secret"}


class Recorder(BaseCallbackHandler):
    """Keeps the repr of every callback payload."""

    def __init__(self) -> None:
        self.payloads: list[str] = []

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        self.payloads.append(repr((args, kwargs)))

    def on_llm_new_token(self, *args: Any, **kwargs: Any) -> None:
        self.payloads.append(repr((args, kwargs)))

    def on_llm_end(self, *args: Any, **kwargs: Any) -> None:
        self.payloads.append(repr((args, kwargs)))

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self.payloads.append(repr((error, kwargs)))


def chain(error: BaseException | None) -> list[str]:
    """str, repr and args of an exception and of everything it was caused by."""
    seen: list[str] = []
    while error is not None and len(seen) < 60:
        seen += [str(error), repr(error), repr(error.args), repr(vars(error))]
        error = error.__cause__ or error.__context__
    return seen


def exercise(llm: ChatGLM, stream: bool, mode: str, recorder: Recorder) -> BaseException | None:
    config: Any = {"callbacks": [recorder]}

    async def consume() -> None:
        if stream:
            async for _ in llm.astream("x", config=config):
                pass
        else:
            await llm.ainvoke("x", config=config)

    try:
        if mode == "async":
            asyncio.run(asyncio.wait_for(consume(), 60))
        elif stream:
            for _ in llm.stream("x", config=config):
                pass
        else:
            llm.invoke("x", config=config)
    except Exception as error:  # every failure is inspected below
        return error
    return None


# Each fault, then a server that echoes the key into its error message.
CASES = [(f[0], f[1], True) for f in STREAM_FAULTS] + [(f[0], f[1], False) for f in INVOKE_FAULTS]


@pytest.mark.parametrize("auth", sorted(KEYS))
@pytest.mark.parametrize(("plays", "stream"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_key_is_nowhere(
    hostile: HostileServer,
    caplog: pytest.LogCaptureFixture,
    mode: str,
    plays: list[s.Play],
    stream: bool,
    auth: str,
) -> None:
    key = KEYS[auth]
    echo = s.json_reply({"error": {"code": "1001", "message": f"Bearer {key} is invalid"}}, 401)
    hostile.script(*plays, echo)
    llm = ChatGLM(
        base_url=hostile.base_url, api_key=key, jwt_auth=auth == "jwt", timeout=0.5, max_retries=1
    )
    recorder = Recorder()
    with caplog.at_level(logging.DEBUG), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = exercise(llm, stream, mode, recorder)
        echoed = exercise(llm, False, mode, recorder) if hostile.plays else None
    texts = [caplog.text, repr(llm), str(dumpd(llm)), *recorder.payloads]
    texts += [str(w.message) for w in caught] + chain(first) + chain(echoed)
    assert caplog.records  # DEBUG logging was on (httpx/httpcore included)
    assert not [text for text in texts if CANARY in text]
