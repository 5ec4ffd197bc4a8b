"""Authentication and the checks on the settings that say where and as whom to connect.

`GLMAuth` is an `httpx.Auth`, so it works the same with the shared pools and with a user's
own `http_client`: httpx runs it for every attempt, which signs a fresh JWT for each retry.
Bearer keys: https://docs.z.ai/api-reference/introduction ; JWT scheme:
https://open.bigmodel.cn/dev/api/http-call/http-auth
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Generator

import httpx

from langchain_glm._errors import MIN_SECRET
from langchain_glm._jwt import sign_jwt

_KEY_CHARS = re.compile(r"[\x21-\x7e]+")
"""Printable ASCII without spaces: what an HTTP header value can carry unchanged."""


def check_api_key(api_key: str | None) -> str:
    """Strip a key and reject one that cannot be sent as a header (never echoing it).

    Args:
        api_key: The key as configured, or None.

    Returns:
        The stripped key ("" when none is set; a call then fails before sending).

    Raises:
        ValueError: If the key holds a control character (such as CR/LF), an inner space or
            a non-ASCII character. httpx would reject it on every attempt.
    """
    key = (api_key or "").strip()
    if key and not _KEY_CHARS.fullmatch(key):
        msg = (
            "api_key holds a control character, space or non-ASCII character; "
            "check how it was copied (the key is not shown)"
        )
        raise ValueError(msg)
    return key


def check_base_url(base_url: str) -> str:
    """Return `base_url` without a trailing slash, or raise for one that is not absolute http(s).

    Args:
        base_url: The API root, e.g. "https://api.z.ai/api/paas/v4".

    Raises:
        ValueError: If it is not an absolute http:// or https:// URL with a host.
    """
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError) as exc:
        msg = f"base_url {base_url!r} is not a valid URL: {exc}"
        raise ValueError(msg) from None
    if url.scheme not in ("http", "https") or not url.host:
        msg = (
            "base_url must be an absolute http(s) URL such as "
            f"https://api.z.ai/api/paas/v4, got {base_url!r}"
        )
        raise ValueError(msg)
    return base_url.rstrip("/")


class GLMAuth(httpx.Auth):
    """Sets `Authorization: Bearer ...` on each attempt: the key, or a JWT signed from it.

    Args:
        api_key: A checked key (see `check_api_key`); "<id>.<secret>" when `jwt`.
        jwt: Sign a short-lived JWT for each attempt instead of sending the key.
        clock: Epoch seconds for the JWT claims; injectable for tests.

    Raises:
        ValueError: If `jwt` and the key is not of the form "<id>.<secret>".
    """

    def __init__(
        self, api_key: str, *, jwt: bool = False, clock: Callable[[], float] = time.time
    ) -> None:
        self._key = api_key
        self._jwt = jwt
        self._clock = clock
        key_id, dot, secret = api_key.partition(".")
        if jwt and not (key_id and dot and secret):
            msg = "jwt_auth=True needs an API key of the form '<id>.<secret>' (not shown)"
            raise ValueError(msg)
        found = (api_key, secret) if jwt else (api_key,)
        self.secrets = tuple(text for text in found if len(text) >= MIN_SECRET)
        """Texts that must never appear in an error or a log (redacted when echoed)."""

    def __repr__(self) -> str:
        return f"GLMAuth(jwt={self._jwt})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Set the header for this attempt (httpx calls this once per send)."""
        token = sign_jwt(self._key, self._clock()) if self._jwt else self._key
        request.headers["Authorization"] = f"Bearer {token}"
        yield request
