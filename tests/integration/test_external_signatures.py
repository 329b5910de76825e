"""External qualified signatures through HTTP (issue [clinician] point 5): a PDF signed
elsewhere or a detached CMS over the current PDF, made with a Certomancer test PKI and
pyHanko; the result checked by pdfsig, qpdf and pyHanko; every bad input a 4xx problem
that is audited and leaves the envelope as it was."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from medsign.envelopes.models import Signer
from medsign.pdf.external import validate_detached
from medsign.runtime import Runtime
from medsign.settings import Settings
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.external_flow import (
    check_independently,
    current_pdf,
    external_envelope,
    external_signer,
    jobs_of,
    post_external,
    versions_and_seal_jobs,
)
from tests.support.external_pki import INN, SIGNER_NAME, SNILS, ExternalPki, sign_detached, sign_pdf
from tests.support.idp_flow import audited
from tests.support.pages import form_fields, path_of, request_code
from tests.support.pdfs import make_pdf
from tests.support.worker import drain


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ExternalPki:
    """The external signers' PKI (Certomancer), once per module."""
    return ExternalPki(tmp_path_factory.mktemp("external-pki"))


@pytest.fixture
def settings(settings: Settings, pki: ExternalPki, tmp_path: Path) -> Settings:
    """Trust the test PKI's root for external signatures."""
    roots = pki.write_root(tmp_path / "trusted-roots.pem")
    return settings.model_copy(update={"external_trust_roots": roots})


def _touch_page(pdf: bytes) -> bytes:
    """An incremental update that rewrites the first page's content (not allowed)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    from pyhanko.pdf_utils.generic import StreamObject

    page["/Contents"] = writer.add_object(StreamObject(stream_data=b"BT /F1 24 Tf (Paid) Tj ET"))
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def _add_script(pdf: bytes) -> bytes:
    """An incremental update that adds an /OpenAction JavaScript to the catalog."""
    from pyhanko.pdf_utils.generic import DictionaryObject, NameObject, TextStringObject

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    writer.root["/OpenAction"] = DictionaryObject(  # type: ignore[no-untyped-call]
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('changed')"),
        }
    )
    writer.update_root()  # type: ignore[no-untyped-call]
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def test_a_pdf_signed_elsewhere_becomes_the_signed_version(
    client: TestClient, rt: Runtime, pki: ExternalPki, tmp_path: Path
) -> None:
    _, headers = new_org(rt)
    env, issued = external_envelope(client, headers)
    drain(rt)
    # Invited (their turn) but sent no link: the MIS signs for them.
    assert audited(rt, "signer.invited") and jobs_of(rt, "invite") == 0
    signed = sign_pdf(issued, pki.signer())
    res = post_external(client, headers, env, signed)
    assert res.status_code == 200, res.text
    assert res.json()["signers"][0]["status"] == "signed"
    drain(rt)
    final = current_pdf(client, headers, env["id"])
    assert final.startswith(signed)  # the uploaded bytes stay intact under medsign's block
    assert client.get(f"/api/v1/envelopes/{env['id']}", headers=headers).json()["status"] == (
        "completed"
    )
    check_independently(rt, pki, final, tmp_path, signatures=2)
    # The B-LTA archive: both signatures and a document time-stamp, still valid.
    archive = client.get(f"/api/v1/envelopes/{env['id']}/archive.pdf", headers=headers)
    assert archive.status_code == 200 and archive.content.startswith(final[:1000])
    archived = client.post(
        "/api/v1/verify", files={"file": ("a.pdf", archive.content, "application/pdf")}
    ).json()
    assert archived["valid"], archived
    assert [s["method"] for s in archived["signatures"]][:2] == ["external", "external"]
    verdict = client.post("/api/v1/verify", files={"file": ("f.pdf", final, "application/pdf")})
    body = verdict.json()
    assert body["valid"] is True, body
    assert [s["method"] for s in body["signatures"]] == ["external", "external"]
    assert all(SIGNER_NAME in (s["certificate"] or "") for s in body["signatures"])
    assert body["signatures"][0]["signer"] == SIGNER_NAME
    for lang, label in (("en", "Qualified electronic signature"), ("ru", "Квалифицированная")):
        page = client.post(
            f"/verify?lang={lang}", files={"file": ("f.pdf", final, "application/pdf")}
        )
        assert page.status_code == 200 and label in page.text
        assert "CN=Petrov Petr" in page.text
    with rt.transaction() as session:
        signer = session.get(Signer, env["signers"][0]["id"])
        assert signer is not None and signer.evidence is not None
        cert = signer.evidence["external"]["certificate"]
        assert (cert["snils"], cert["inn"], cert["common_name"]) == (SNILS, INN, SIGNER_NAME)
        assert signer.evidence["external"]["form"] == "pdf"
        assert signer.evidence["document"]["sha256_shown"] == env_sha(issued)
    [event] = audited(rt, "signer.signed")
    assert event["method"] == "external" and event["form"] == "pdf"


def env_sha(data: bytes) -> str:
    """SHA-256 hex of ``data``."""
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_a_detached_signature_travels_in_the_sealed_revision(
    client: TestClient, rt: Runtime, pki: ExternalPki, tmp_path: Path
) -> None:
    _, headers = new_org(rt)
    env, issued = external_envelope(client, headers)
    sig = sign_detached(issued, pki.signer())
    pem = b"-----BEGIN PKCS7-----\n" + base64.encodebytes(sig) + b"-----END PKCS7-----\n"
    res = post_external(client, headers, env, pem, name="consent.pdf.sig")
    assert res.status_code == 200, res.text
    drain(rt)
    final = current_pdf(client, headers, env["id"])
    assert final.startswith(issued)
    check_independently(rt, pki, final, tmp_path, signatures=1)
    body = client.post("/api/v1/verify", files={"file": ("f.pdf", final, "application/pdf")})
    [only] = body.json()["signatures"]
    assert body.json()["valid"] and only["method"] == "external"
    assert f"serial {pki.cert('signer').serial_number:x}" in only["certificate"]
    # The CMS is in the evidence embedded in (and covered by) medsign's signature, and
    # still verifies over the version it was made for.
    from medsign.pdf import read_evidence

    [evidence] = read_evidence(final).values()
    carried = base64.b64decode(evidence["external"]["cms"])
    assert carried == sig
    checked = validate_detached(issued, carried, [pki.cert("root")], now=rt.clock())
    assert checked.certificate.national_ids == {"snils": SNILS, "inn": INN}


def test_a_later_signer_signs_after_the_external_one(
    client: TestClient, rt: Runtime, pki: ExternalPki
) -> None:
    _, headers = new_org(rt)
    doc = upload(client, headers, kind="medical_record", title="Record")
    env = create_envelope(
        client,
        headers,
        doc["id"],
        external_signer("Petrov Petr", order=1, role="clinic"),
        {"role": "clinic", "name": "Seal", "method": "seal", "order": 2},
    )
    issued = current_pdf(client, headers, env["id"])
    assert post_external(client, headers, env, sign_pdf(issued, pki.signer())).status_code == 200
    drain(rt)
    seal = client.post(
        f"/api/v1/envelopes/{env['id']}/signers/{env['signers'][1]['id']}/seal",
        headers=headers,
        json={"staff_name": "Admin"},
    )
    assert seal.status_code == 200, seal.text
    drain(rt)
    final = current_pdf(client, headers, env["id"])
    body = client.post("/api/v1/verify", files={"file": ("f.pdf", final, "application/pdf")})
    assert body.json()["valid"], body.json()
    assert [s["method"] for s in body.json()["signatures"]] == ["external", "external", "seal"]


Make = Callable[[ExternalPki, bytes], bytes]
_BAD: dict[str, tuple[Make, int, str]] = {
    "not a PDF or CMS": (lambda pki, pdf: b"hello, this is text", 422, "not-cms"),
    "a PDF that is not the issued version": (
        lambda pki, pdf: sign_pdf(make_pdf(text="Another document"), pki.signer()),
        422,
        "different-document",
    ),
    "the issued PDF updated without a signature": (
        lambda pki, pdf: _touch_page(pdf),
        422,
        "no-new-signature",
    ),
    "a damaged PDF": (lambda pki, pdf: pdf[:200], 422, "different-document"),
    "content changed after signing": (
        lambda pki, pdf: _touch_page(sign_pdf(pdf, pki.signer())),
        422,
        "changes-not-allowed",
    ),
    "content changed before signing": (
        lambda pki, pdf: sign_pdf(_touch_page(pdf), pki.signer()),
        422,
        "changes-not-allowed",
    ),
    "JavaScript added before signing": (
        lambda pki, pdf: sign_pdf(_add_script(pdf), pki.signer()),
        422,
        "active-content",
    ),
    "a certification that forbids medsign's block": (
        lambda pki, pdf: sign_pdf(pdf, pki.signer(), lock=True),
        422,
        "certified-no-changes",
    ),
    "a certificate of an untrusted CA": (
        lambda pki, pdf: sign_pdf(pdf, pki.signer("signer", "rogue")),
        422,
        "untrusted-certificate",
    ),
    "an expired certificate": (
        lambda pki, pdf: sign_pdf(pdf, pki.signer("expired")),
        422,
        "certificate-expired",
    ),
    "a detached signature over other bytes": (
        lambda pki, pdf: sign_detached(pdf + b" ", pki.signer()),
        422,
        "digest-mismatch",
    ),
    "a detached signature by an untrusted CA": (
        lambda pki, pdf: sign_detached(pdf, pki.signer("signer", "rogue")),
        422,
        "untrusted-certificate",
    ),
    "an attached (not detached) signature": (
        lambda pki, pdf: sign_detached(pdf, pki.signer(), detached=False),
        422,
        "not-detached",
    ),
    "a detached signature with SHA-512": (
        lambda pki, pdf: sign_detached(pdf, pki.signer(), md="sha512"),
        422,
        "digest-mismatch",
    ),
}


@pytest.mark.parametrize("case", sorted(_BAD))
def test_bad_input_is_refused_audited_and_changes_nothing(
    client: TestClient, rt: Runtime, pki: ExternalPki, case: str
) -> None:
    make, status, reason = _BAD[case]
    _, headers = new_org(rt)
    env, issued = external_envelope(client, headers)
    before = versions_and_seal_jobs(rt, env["id"])
    res = post_external(client, headers, env, make(pki, issued))
    assert res.status_code == status, res.text
    assert res.headers["content-type"] == "application/problem+json"
    problem = res.json()
    assert problem["reason"] == reason and problem["detail"]
    assert versions_and_seal_jobs(rt, env["id"]) == before
    assert current_pdf(client, headers, env["id"]) == issued
    assert client.get(f"/api/v1/envelopes/{env['id']}", headers=headers).json()["signers"][0][
        "status"
    ] == ("notified")
    [event] = audited(rt, "signer.external_refused")
    assert event["reason"] == reason and event["signer_id"] == env["signers"][0]["id"]


def test_wrong_signer_states_are_conflicts(
    client: TestClient, rt: Runtime, pki: ExternalPki
) -> None:
    _, headers = new_org(rt)
    env, issued = external_envelope(
        client, headers, external_signer("First", order=1), external_signer("Second", order=2)
    )
    signed = sign_pdf(issued, pki.signer())
    waiting = post_external(client, headers, env, signed, signer=1)
    assert waiting.status_code == 409 and "turn" in waiting.json()["detail"]
    assert post_external(client, headers, env, signed).status_code == 200
    again = post_external(client, headers, env, signed)
    assert again.status_code == 409 and again.json()["state"] == "signed"
    # A signer of another method cannot take an external signature.
    doc = upload(client, headers)
    other = create_envelope(client, headers, doc["id"], patient())
    res = post_external(client, headers, other, signed)
    assert res.status_code == 409 and "method external" in res.json()["detail"]
    # Unknown signer, another organization's envelope, a voided envelope.
    _, stranger = new_org(rt, "Clinic Two")
    assert post_external(client, stranger, env, signed).status_code == 404
    env2, issued2 = external_envelope(client, headers)
    client.post(f"/api/v1/envelopes/{env2['id']}/void", headers=headers, json={"reason": "x"})
    res = post_external(client, headers, env2, sign_pdf(issued2, pki.signer()))
    assert res.status_code == 409 and res.json()["state"] == "voided"
    refused = audited(rt, "signer.external_refused")
    assert {e["status"] for e in refused} == {409}


def test_the_signing_link_cannot_sign_for_an_external_signer(
    client: TestClient, rt: Runtime
) -> None:
    _, headers = new_org(rt)
    env, _ = external_envelope(client, headers, {**external_signer(), "email": "p@example.com"})
    path = path_of(env["signers"][0]["signing_url"])
    fields = form_fields(client.get(path).text)
    json_please = {"Accept": "application/json"}
    res = client.post(f"{path}/code", data={"csrf": fields["csrf"]}, headers=json_please)
    assert res.status_code == 409 and res.json()["state"] == "api_only"
    res = client.post(f"{path}/sign", data={**fields, "code": "123456"})
    assert res.status_code == 409 and "not on this page" in res.text
    assert "not on this page" in request_code(client, path).text
    drain(rt)
    assert jobs_of(rt, "send_code") == 0 and not audited(rt, "signer.code_sent")
    assert not audited(rt, "signer.signed")


def test_medsigns_own_field_name_is_reserved(
    client: TestClient, rt: Runtime, pki: ExternalPki
) -> None:
    _, headers = new_org(rt)
    env, issued = external_envelope(client, headers)
    field = f"medsign-{env['signers'][0]['id']}"
    res = post_external(client, headers, env, sign_pdf(issued, pki.signer(), field=field))
    assert res.status_code == 422 and res.json()["reason"] == "reserved-field-name"
    assert current_pdf(client, headers, env["id"]) == issued


def test_policy_refuses_external_where_the_law_does_not_allow_it(
    client: TestClient, rt: Runtime
) -> None:
    _, headers = new_org(rt)
    doc = upload(client, headers, kind="user_agreement")
    res = client.post(
        "/api/v1/envelopes",
        headers=headers,
        json={"document_id": doc["id"], "signers": [external_signer()]},
    )
    assert res.status_code == 422 and res.json()["rule"] == "user_agreement-methods"


def test_nothing_is_trusted_without_a_trust_list(
    client: TestClient, rt: Runtime, pki: ExternalPki
) -> None:
    rt.settings = rt.settings.model_copy(update={"external_trust_roots": None})
    _, headers = new_org(rt)
    env, issued = external_envelope(client, headers)
    res = post_external(client, headers, env, sign_pdf(issued, pki.signer()))
    assert res.status_code == 422 and res.json()["reason"] == "untrusted-certificate"
