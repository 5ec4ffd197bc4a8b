"""Opt-in JWT signing for "<id>.<secret>" API keys (Zhipu's legacy auth, glm-api.md §2.2).

Uses only the standard library. The claims are non-standard: `timestamp` and `exp` are in
milliseconds, and the header carries `sign_type: SIGN`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable

from langchain_glm._errors import GLMAuthenticationError

TOKEN_TTL = 210.0
"""Seconds a signed token stays valid (its `exp` claim)."""

CACHE_TTL = 180.0
"""Seconds a signed token is reused before a fresh one is signed."""

_HEADER = {"alg": "HS256", "sign_type": "SIGN"}
_cache: dict[str, tuple[float, str]] = {}
_lock = threading.Lock()


def _b64(data: bytes) -> str:
    """Base64url-encode without padding, as JWT requires."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(obj: dict[str, object]) -> str:
    """Encode one JWT segment from compact JSON."""
    return _b64(json.dumps(obj, separators=(",", ":")).encode())


def sign_jwt(api_key: str, now: float) -> str:
    """Sign a fresh token for an "<id>.<secret>" key.

    Args:
        api_key: The GLM API key.
        now: Current time in epoch seconds.

    Returns:
        The compact JWT (header.claims.signature).

    Raises:
        GLMAuthenticationError: If the key is not of the form "<id>.<secret>" (the key itself
            is never put in the message).
    """
    key_id, dot, secret = api_key.partition(".")
    if not (key_id and dot and secret):
        msg = "jwt_auth=True needs an API key of the form '<id>.<secret>'"
        raise GLMAuthenticationError(msg)
    now_ms = int(now * 1000)
    claims = {"api_key": key_id, "exp": now_ms + int(TOKEN_TTL * 1000), "timestamp": now_ms}
    signing_input = f"{_segment(dict(_HEADER))}.{_segment(claims)}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def cached_jwt(api_key: str, now: Callable[[], float] = time.time) -> str:
    """Return a token for `api_key`, re-signing once the cached one is `CACHE_TTL` old.

    Args:
        api_key: The GLM API key.
        now: Clock in epoch seconds; injectable for tests.

    Returns:
        The compact JWT.
    """
    current = now()
    with _lock:
        signed_at, token = _cache.get(api_key, (float("-inf"), ""))
        if current - signed_at >= CACHE_TTL:
            token = sign_jwt(api_key, current)
            _cache[api_key] = (current, token)
        return token
