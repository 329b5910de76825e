"""Keyed hashes and derived secrets."""

from __future__ import annotations

import pytest

from medsign.domain.tokens import Keyring, new_api_token, verification_code

KEY = Keyring(b"k" * 32)


def test_link_tokens_are_256_bit_and_versioned() -> None:
    token = KEY.link_token("signer-1", 1)
    assert len(token) >= 43  # 32 bytes in url-safe base64
    assert token != KEY.link_token("signer-1", 2)
    assert token != Keyring(b"x" * 32).link_token("signer-1", 1)


def test_hash_is_keyed_and_domain_separated() -> None:
    assert KEY.hash("link", "a") != KEY.hash("otp", "a")
    assert KEY.hash("link", "a") != Keyring(b"y" * 32).hash("link", "a")
    assert KEY.verify("link", "a", KEY.hash("link", "a"))
    assert not KEY.verify("link", "b", KEY.hash("link", "a"))


def test_otp_codes_are_six_digits_and_differ_per_challenge() -> None:
    codes = {KEY.otp_code(f"c{i}") for i in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 190


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Keyring(b"short")


def test_api_tokens_and_verification_codes() -> None:
    assert new_api_token() != new_api_token()
    code = verification_code(KEY, "signer-1")
    assert len(code) == 9 and code[4] == "-"
    assert code == verification_code(KEY, "signer-1")
