"""[harden] point 1: one public request cannot occupy the server.

The attack file is a genuine medsign PDF plus an incremental update adding signature
fields whose /V all point at the one real signature (before the fix: quadratic time,
1,000 fields 38 s, 10,000 fields still running after 14 minutes at 6 GB).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from medsign.errors import ServiceBusy, VerificationLimit
from medsign.pdf.isolated import ClientGone, IsolatedValidator, Limits
from medsign.runtime import Runtime
from tests.support.tamper import duplicate_signature_fields


def _verify(client: TestClient, data: bytes) -> tuple[int, dict[str, object], dict[str, str]]:
    res = client.post("/api/v1/verify", files={"file": ("x.pdf", data, "application/pdf")})
    return res.status_code, res.json(), dict(res.headers)


def test_thousands_of_fields_on_one_signature_are_refused_naming_the_limit(
    client: TestClient, sealed_pdf: bytes
) -> None:
    attack = duplicate_signature_fields(sealed_pdf, 5000)
    status, body, _ = _verify(client, attack)
    assert status == 422, body
    assert body["type"] == "/problems/verification-limit"
    assert body["limit"] == "verify_max_signatures"
    assert "MEDSIGN_VERIFY_MAX_SIGNATURES" in str(body["detail"])


def test_the_verify_page_refuses_it_too_with_the_limit_in_words(
    client: TestClient, sealed_pdf: bytes
) -> None:
    attack = duplicate_signature_fields(sealed_pdf, 500)
    res = client.post("/verify?lang=en", files={"file": ("x.pdf", attack, "application/pdf")})
    assert res.status_code == 422
    assert "MEDSIGN_VERIFY_MAX_SIGNATURES" in res.text


def test_fields_sharing_one_signature_are_checked_once_and_reported_as_copies(
    client: TestClient, sealed_pdf: bytes
) -> None:
    status, body, _ = _verify(client, duplicate_signature_fields(sealed_pdf, 5))
    assert status == 200, body
    sigs = body["signatures"]
    assert isinstance(sigs, list) and len(sigs) == 6
    copies = [s for s in sigs if "reuses the signature" in " ".join(s["reasons"])]
    assert len(copies) == 5 and all(not s["valid"] and not s["intact"] for s in copies)
    assert body["valid"] is False  # a copied signature could sit beside another name


def test_over_the_time_budget_the_child_is_killed_and_the_limit_named(
    client: TestClient, rt: Runtime, sealed_pdf: bytes
) -> None:
    rt.settings.verify_time_limit_seconds = 0.001
    status, body, _ = _verify(client, duplicate_signature_fields(sealed_pdf, 3, distinct=True))
    assert status == 422, body
    assert body["limit"] == "verify_time_limit_seconds"
    validator = client.app.state.verify_validator  # type: ignore[attr-defined]
    assert validator.running == 0 and not _alive(validator.children)


def test_no_free_slot_answers_503_with_retry_after(
    client: TestClient, rt: Runtime, sealed_pdf: bytes
) -> None:
    rt.settings.verify_processes = 1
    rt.settings.verify_time_limit_seconds = 0.2  # the queue wait is bounded by it
    client.post("/api/v1/verify", files={"file": ("x.pdf", b"%PDF-1.7\n", "application/pdf")})
    validator = client.app.state.verify_validator  # type: ignore[attr-defined]
    assert validator._try_take()  # a long check holds the only slot
    try:
        attack = duplicate_signature_fields(sealed_pdf, 2, distinct=True)
        status, body, headers = _verify(client, attack)
    finally:
        validator._give_back()
    assert status == 503 and body["type"] == "/problems/busy"
    assert int(headers["retry-after"]) >= 1


def test_over_the_memory_budget_the_limit_is_named(sealed_pdf: bytes) -> None:
    validator = IsolatedValidator(Limits(memory_bytes=1024 * 1024, seconds=30))
    # 16 MB of comment after the last revision: reading the file needs more than 1 MB.
    attack = duplicate_signature_fields(sealed_pdf, 2, distinct=True) + b"%" * 16_000_000
    with pytest.raises(VerificationLimit) as caught:
        asyncio.run(validator.validate(attack, []))
    assert caught.value.extra["limit"] == "verify_memory_mb"
    assert validator.running == 0


def test_a_client_that_leaves_stops_the_work(sealed_pdf: bytes) -> None:
    validator = IsolatedValidator(Limits(max_signatures=1000, seconds=600))
    slow = duplicate_signature_fields(sealed_pdf, 400, distinct=True)  # minutes of work
    seen: list[int] = []

    async def gone() -> bool:
        seen.extend(validator.children)
        return bool(seen)  # the client "disconnects" as soon as the child runs

    started = time.monotonic()
    with pytest.raises(ClientGone):
        asyncio.run(validator.validate(slow, [], cancelled=gone))
    assert seen and not _alive(seen)
    assert validator.running == 0
    assert time.monotonic() - started < 60  # not the minutes the full check takes


def test_busy_is_a_503_domain_error() -> None:
    busy = ServiceBusy("x", retry_after=3)
    assert busy.status == 503 and busy.retry_after == 3


def _alive(pids: object) -> bool:
    """Is any of these processes still running (not a zombie)?"""
    assert isinstance(pids, list | set | tuple)
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z":
                return True
        except FileNotFoundError:
            continue
    return False
