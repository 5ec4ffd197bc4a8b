"""Opt-in JWT signing for "<id>.<secret>" API keys (Zhipu's legacy auth).

Uses only the standard library. The claims are non-standard: `timestamp` and `exp` are in
milliseconds, and the header carries `sign_type: SIGN`. A fresh token is signed for every
attempt (see `langchain_glm._auth.GLMAuth`), so a retry never sends an expired one and no key
is kept in a module-level cache. Scheme: https://open.bigmodel.cn/dev/api/http-call/http-auth
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from langchain_glm._errors import GLMAuthenticationError

TOKEN_TTL = 210.0
"""Seconds a signed token stays valid (its `exp` claim)."""

_HEADER = {"alg": "HS256", "sign_type": "SIGN"}


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
