"""Client secrets are encrypted at rest and bound to their provider."""

from __future__ import annotations

import pytest

from medsign.domain.tokens import Keyring
from medsign.errors import InvalidInput
from medsign.identity.protocol import check_url, nonce_for, pkce_challenge
from medsign.identity.secretbox import open_secret, seal_secret

KEYRING = Keyring(b"k" * 32)


def test_round_trip_and_binding() -> None:
    sealed = seal_secret(KEYRING, "p1", "s3cret")
    assert "s3cret" not in sealed and sealed != seal_secret(KEYRING, "p1", "s3cret")
    assert open_secret(KEYRING, "p1", sealed) == "s3cret"
    with pytest.raises(ValueError, match="decrypt"):
        open_secret(KEYRING, "p2", sealed)  # moved to another provider's row
    with pytest.raises(ValueError, match="decrypt"):
        open_secret(Keyring(b"x" * 32), "p1", sealed)  # another deployment's key


def test_pkce_rfc7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_nonce_depends_on_document_signer_and_salt() -> None:
    base = nonce_for("a" * 64, "s1", "salt")
    assert base != nonce_for("b" * 64, "s1", "salt")
    assert base != nonce_for("a" * 64, "s2", "salt")
    assert base != nonce_for("a" * 64, "s1", "pepper")


def test_issuer_urls() -> None:
    assert check_url("https://id.example.org", allow_http=False, field="issuer")
    assert check_url("http://127.0.0.1:9000", allow_http=True, field="issuer")
    for url, allow in (("http://127.0.0.1:9000", False), ("http://id.example.org", True)):
        with pytest.raises(InvalidInput):
            check_url(url, allow_http=allow, field="issuer")
