"""Tests for opt-in JWT signing of "<id>.<secret>" keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest

from langchain_glm._auth import GLMAuth
from langchain_glm._errors import GLMAuthenticationError
from langchain_glm._jwt import TOKEN_TTL, sign_jwt

KEY = "12345678.abcdefg"
NOW = 1_760_000_000.123


def decode_segment(segment: str) -> dict[str, Any]:
    padded = segment + "=" * (-len(segment) % 4)
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return decoded


def test_header_and_millisecond_claims() -> None:
    header, claims, _ = sign_jwt(KEY, NOW).split(".")
    assert decode_segment(header) == {"alg": "HS256", "sign_type": "SIGN"}
    now_ms = int(NOW * 1000)
    assert decode_segment(claims) == {
        "api_key": "12345678",
        "exp": now_ms + 210_000,
        "timestamp": now_ms,
    }
    assert TOKEN_TTL == 210.0


def test_signature_is_hmac_sha256_with_the_secret() -> None:
    token = sign_jwt(KEY, NOW)
    signing_input, _, signature = token.rpartition(".")
    expected = hmac.new(b"abcdefg", signing_input.encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64encode(expected).rstrip(b"=").decode() == signature
    assert "=" not in token


@pytest.mark.parametrize("bad_key", ["no-dot-here", ".secret", "id.", ""])
def test_malformed_key_is_rejected_without_echoing_it(bad_key: str) -> None:
    with pytest.raises(GLMAuthenticationError) as info:
        sign_jwt(bad_key, NOW)
    assert "<id>.<secret>" in str(info.value)
    if bad_key:
        assert bad_key not in str(info.value)


def test_auth_signs_a_fresh_token_for_every_attempt() -> None:
    clock = iter([NOW, NOW + 1.0])
    auth = GLMAuth(KEY, jwt=True, clock=lambda: next(clock))
    tokens = []
    for _ in range(2):
        request = httpx.Request("POST", "https://glm.test/x")
        flow = auth.sync_auth_flow(request)
        tokens.append(next(flow).headers["Authorization"].removeprefix("Bearer "))
    claims = [decode_segment(token.split(".")[1]) for token in tokens]
    assert [c["timestamp"] for c in claims] == [int(NOW * 1000), int((NOW + 1.0) * 1000)]
    assert repr(auth) == "GLMAuth(jwt=True)"
    assert auth.secrets == (KEY,)  # the 7-character secret part is too short to redact


@pytest.mark.parametrize("bad_key", ["no-dot-here", ".secret", "id."])
def test_auth_rejects_a_malformed_jwt_key_at_construction(bad_key: str) -> None:
    with pytest.raises(ValueError, match=r"<id>\.<secret>") as info:
        GLMAuth(bad_key, jwt=True)
    assert bad_key not in str(info.value)
