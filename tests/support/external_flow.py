"""Driving external signatures over HTTP like an MIS, and checking their results with
the independent validators (pdfsig, qpdf, pyHanko), trusting each CA in turn."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from medsign.envelopes.models import EnvelopeVersion
from medsign.jobs.models import Job
from medsign.runtime import Runtime
from tests.e2e.pdf_checks import nss_db_trusting, pdfsig, pyhanko_verdicts, qpdf_check
from tests.support.api import create_envelope, upload
from tests.support.external_pki import ExternalPki


def external_signer(
    name: str = "Petrov Petr", order: int = 1, role: str = "patient"
) -> dict[str, Any]:
    """A signer entry with method ``external`` (no contact: the MIS acts for them)."""
    return {"role": role, "name": name, "method": "external", "order": order}


def external_envelope(
    client: TestClient, headers: dict[str, str], *signers: dict[str, Any]
) -> tuple[dict[str, Any], bytes]:
    """An informed consent with external signers; the envelope and its current PDF."""
    doc = upload(client, headers, kind="informed_consent", title="Informed consent")
    env = create_envelope(client, headers, doc["id"], *(signers or (external_signer(),)))
    return env, current_pdf(client, headers, env["id"])


def current_pdf(client: TestClient, headers: dict[str, str], envelope_id: str) -> bytes:
    """``GET /api/v1/envelopes/{id}/pdf``."""
    res = client.get(f"/api/v1/envelopes/{envelope_id}/pdf", headers=headers)
    assert res.status_code == 200, res.text
    return res.content


def post_external(
    client: TestClient,
    headers: dict[str, str],
    env: dict[str, Any],
    data: bytes,
    name: str = "signed.pdf",
    signer: int = 0,
) -> Any:
    """Upload ``data`` for the envelope's ``signer``-th signer."""
    signer_id = env["signers"][signer]["id"]
    return client.post(
        f"/api/v1/envelopes/{env['id']}/signers/{signer_id}/external",
        headers=headers,
        files={"file": (name, data, "application/octet-stream")},
    )


def versions_and_seal_jobs(rt: Runtime, envelope_id: str) -> tuple[int, int]:
    """How many PDF versions the envelope has, and how many seal jobs exist."""
    with rt.transaction() as session:
        versions = session.scalar(
            select(func.count())
            .select_from(EnvelopeVersion)
            .where(EnvelopeVersion.envelope_id == envelope_id)
        )
        seals = session.scalar(select(func.count()).select_from(Job).where(Job.kind == "seal"))
    return int(versions or 0), int(seals or 0)


def jobs_of(rt: Runtime, kind: str) -> int:
    """How many jobs of ``kind`` were ever queued."""
    with rt.transaction() as session:
        return int(
            session.scalar(select(func.count()).select_from(Job).where(Job.kind == kind)) or 0
        )


def check_independently(
    rt: Runtime, pki: ExternalPki, pdf: bytes, tmp: Path, signatures: int
) -> None:
    """qpdf --check; pdfsig and pyHanko call every signature valid, and each trusted by
    the CA that issued it (the medsign dev CA or the external test root)."""
    path = tmp / "final.pdf"
    path.write_bytes(pdf)
    qpdf_check(path)
    medsign_ca = tmp / "medsign-ca.pem"
    medsign_ca.write_bytes(rt.seal_keys.trust_roots()[0].public_bytes(serialization.Encoding.PEM))
    external_ca = pki.write_root(tmp / "external-ca.pem")
    trusted: dict[str, set[str]] = {"pyhanko": set(), "pdfsig": set()}
    for label, ca in (("medsign", medsign_ca), ("external", external_ca)):
        verdicts = pyhanko_verdicts(pdf, ca)
        assert len(verdicts) == signatures
        for v in verdicts:
            assert v.intact and v.valid, v.summary
            assert v.modification_level in (None, "NONE", "LTA_UPDATES", "FORM_FILLING"), v
            if v.trusted:
                trusted["pyhanko"].add(v.field_name)
        output, found = pdfsig(path, nss_db_trusting(ca, tmp / f"nss-{label}"))
        assert len(found) == signatures, output
        assert all(s.valid for s in found), output
        trusted["pdfsig"].update(
            re.findall(r"Signature Field Name: (\S+)", s.text)[0] for s in found if s.trusted
        )
    # Every signature is trusted by both tools under the CA that issued its certificate.
    assert len(trusted["pyhanko"]) == signatures, trusted
    assert trusted["pdfsig"] == trusted["pyhanko"], trusted
