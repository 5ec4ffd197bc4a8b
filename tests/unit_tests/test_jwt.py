"""Tests for opt-in JWT signing of "<id>.<secret>" keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from langchain_glm._errors import GLMAuthenticationError
from langchain_glm._jwt import CACHE_TTL, TOKEN_TTL, cached_jwt, sign_jwt

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
    assert CACHE_TTL == 180.0


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


def test_cache_reuses_token_until_cache_ttl() -> None:
    key = "cache-test.secret-one"
    first = cached_jwt(key, now=lambda: NOW)
    assert cached_jwt(key, now=lambda: NOW + CACHE_TTL - 1) == first
    fresh = cached_jwt(key, now=lambda: NOW + CACHE_TTL)
    assert fresh != first
    assert decode_segment(fresh.split(".")[1])["timestamp"] == int((NOW + CACHE_TTL) * 1000)


def test_cache_is_per_key() -> None:
    one = cached_jwt("keyone.secret", now=lambda: NOW)
    two = cached_jwt("keytwo.secret", now=lambda: NOW)
    assert decode_segment(one.split(".")[1])["api_key"] == "keyone"
    assert decode_segment(two.split(".")[1])["api_key"] == "keytwo"
