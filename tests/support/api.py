"""Helpers that drive the API like an MIS would."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from medsign.organizations.service import create_organization
from medsign.pdf.validate import ValidationReport, validate_pdf
from medsign.runtime import Runtime
from tests.support.pdfs import make_pdf


def new_org(rt: Runtime, name: str = "Clinic One") -> tuple[str, dict[str, str]]:
    """Create an organization; return its id and auth headers."""
    with rt.transaction() as session:
        created = create_organization(session, rt.keyring, name, now=rt.clock())
    return created.organization_id, {"Authorization": f"Bearer {created.token}"}


def upload(
    client: TestClient,
    headers: dict[str, str],
    data: bytes | None = None,
    kind: str = "user_agreement",
    title: str = "User agreement",
) -> dict[str, Any]:
    """Upload a PDF; assert 201; return the JSON."""
    res = client.post(
        "/api/v1/documents",
        headers=headers,
        files={"files": ("doc.pdf", data or make_pdf(), "application/pdf")},
        data={"title": title, "kind": kind},
    )
    assert res.status_code == 201, res.text
    body: dict[str, Any] = res.json()
    return body


def patient(
    name: str = "Иванова Мария", method: str = "sms_otp", order: int = 1, **extra: Any
) -> dict[str, Any]:
    """A signer entry."""
    signer: dict[str, Any] = {"role": "patient", "name": name, "method": method, "order": order}
    if method == "sms_otp":
        signer["phone"] = extra.pop("phone", "+79991234567")
    else:
        signer["email"] = extra.pop("email", "maria@example.com")
    signer.update(extra)
    return signer


def create_envelope(
    client: TestClient, headers: dict[str, str], document_id: str, *signers: dict[str, Any]
) -> dict[str, Any]:
    """Create an envelope; assert 201; return the JSON."""
    res = client.post(
        "/api/v1/envelopes",
        headers=headers,
        json={"document_id": document_id, "signers": list(signers) or [patient()]},
    )
    assert res.status_code == 201, res.text
    body: dict[str, Any] = res.json()
    return body


def validated_pdf(
    client: TestClient, rt: Runtime, headers: dict[str, str], envelope_id: str
) -> ValidationReport:
    """Download the envelope's PDF and validate it against the medsign trust roots."""
    res = client.get(f"/api/v1/envelopes/{envelope_id}/pdf", headers=headers)
    assert res.status_code == 200, res.text
    return validate_pdf(res.content, rt.seal_keys.trust_roots())
