"""The two-party flow of the seeds: the patient signs by SMS code on a phone, then a
member of the clinic's staff countersigns from their own link (issue [workflow])."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.e2e.test_browser_signing import (
    check_signed_pdf,
    download_signed,
    email_code,
    email_invitation,
    new_email,
    new_phone,
    open_document,
    sign_with_code,
    signer,
    sms_code,
    sms_invitation,
)
from tests.support.pdfs import make_pdf
from tests.support.served import ServedStack

pytestmark = pytest.mark.e2e


def test_patient_signs_then_clinic_countersigns(
    page: Page, served: ServedStack, tmp_path: Path
) -> None:
    app, smtp, sms = served.app, served.smtp, served.sms
    phone, staff_email = new_phone(), new_email("registrar")
    doc = app.upload(make_pdf(pages=2), title="User agreement")
    clinic = {**signer("Registrar Petrova", "email_otp", 2, email=staff_email), "role": "clinic"}
    env = app.create_envelope(doc["id"], signer("Иванова Мария", "sms_otp", 1, phone=phone), clinic)
    assert [s["role"] for s in env["signers"]] == ["patient", "clinic"]

    patient_link = sms_invitation(sms, phone)
    open_document(page, patient_link)
    sign_with_code(page, patient_link, lambda: sms_code(sms, phone))

    staff_link = email_invitation(smtp, staff_email)
    open_document(page, staff_link)
    sign_with_code(page, staff_link, lambda: email_code(smtp, staff_email))
    signed = download_signed(page, tmp_path / "signed.pdf")

    state = app.wait_for_envelope(env["id"], "completed")
    assert [s["status"] for s in state["signers"]] == ["signed", "signed"]
    check_signed_pdf(app, signed, tmp_path, signatures=2)
