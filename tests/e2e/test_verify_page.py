"""The public verification page driven in Chromium: upload and requisites, en and fa.

A patient signs a one-page document by SMS code on the phone-sized browser; the signed
PDF they download is then checked on ``/verify`` by upload (valid; a tampered copy is
not) and by the requisites printed in its signature block, which are also the QR link
``/verify?document=...&code=...`` (medsign.envelopes.sealing).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_browser_signing import (
    download_signed,
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

BYTE_RANGE_RE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")
# The block prints "Document <uuid>" and "Code XXXX-XXXX" (medsign.pdf.block); its font
# has a /ToUnicode CMap, so pdftotext reads them back.
DOCUMENT_RE = re.compile(
    r"Document\s+([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
)
CODE_RE = re.compile(r"Code\s+([2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4})")


def tampered(signed: bytes) -> bytes:
    """``signed`` with one byte changed inside the first signed range, outside /Contents.

    The byte is in the binary comment on the second line (``%`` and four high bytes,
    ISO 32000-1 §7.5.2): it is covered by the signature, yet the file still parses.
    """
    match = BYTE_RANGE_RE.search(signed)
    assert match is not None, "no /ByteRange in the signed PDF"
    start, length = int(match.group(1)), int(match.group(2))
    assert start == 0 and length > 20, match.group(0)
    second_line = signed.index(b"\n") + 1
    assert signed[second_line : second_line + 1] == b"%", signed[:40]
    at = second_line + 1
    assert at < start + length  # the first range ends where /Contents' hex begins
    return signed[:at] + bytes([signed[at] ^ 0x01]) + signed[at + 1 :]


def requisites_of(pdf: Path) -> tuple[str, str]:
    """The document id and verification code printed in the signature block."""
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    document, code = DOCUMENT_RE.search(text), CODE_RE.search(text)
    assert document is not None and code is not None, text
    return document.group(1), code.group(1)


def upload(page: Page, base: str, lang: str, pdf: Path, status: int = 200) -> None:
    """Open ``/verify``, choose ``pdf`` in the file input, press the button; no 500."""
    response = page.goto(f"{base}/verify?lang={lang}")
    assert response is not None and response.status == 200, response and response.status
    page.set_input_files("input#file[type=file]", str(pdf))
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.locator("form[enctype='multipart/form-data'] button[type=submit]").click()
    assert posted.value.status == status, posted.value.status
    page.wait_for_load_state()


def test_verification_page_upload_and_requisites(
    page: Page, served: ServedStack, tmp_path: Path
) -> None:
    app, sms = served.app, served.sms
    phone, name, title = new_phone(), "Maria Ivanova", "Consent to dental treatment"
    doc = app.upload(make_pdf(pages=1, text="Private diagnosis"), title=title)
    env = app.create_envelope(doc["id"], signer(name, "sms_otp", phone=phone))
    link = sms_invitation(sms, phone)
    open_document(page, link, "en", pages=1)
    sign_with_code(page, link, lambda: sms_code(sms, phone))
    signed_file = tmp_path / "signed.pdf"
    signed = download_signed(page, signed_file)
    app.wait_for_envelope(env["id"], "completed")

    # (a) The signed file, uploaded in English: valid, with the signer's name.
    upload(page, app.url, "en", signed_file)
    verdict = page.locator("#verdict")
    expect(verdict).to_have_text("Valid: every signature is intact and trusted")
    expect(verdict).to_have_class(re.compile(r"\bok\b"))
    expect(page.locator("main")).to_contain_text("This exact file was issued by this medsign")
    row = page.locator("section[aria-labelledby=verdict] tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").first).to_have_text(name)

    # (b) One byte changed inside the signed range: not valid (en and fa), never a 500.
    bad_file = tmp_path / "tampered.pdf"
    bad_file.write_bytes(tampered(signed))
    upload(page, app.url, "en", bad_file)
    expect(verdict).to_have_text("Not valid")
    expect(verdict).to_have_class(re.compile(r"\berror\b"))
    expect(page.locator("main")).to_contain_text("not one this service issued")
    expect(row.locator("td").nth(3)).to_have_text("no")  # Intact: the digest differs
    upload(page, app.url, "fa", bad_file)
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(verdict).to_have_text("نامعتبر")

    # (c) The requisites printed in the block (= the QR link), in Persian.
    document_id, code = requisites_of(signed_file)
    assert document_id == doc["id"]
    response = page.goto(f"{app.url}/verify?document={document_id}&code={code}&lang=fa")
    assert response is not None and response.status == 200, response and response.status
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "fa")
    found = page.locator("#req-verdict")
    expect(found).to_have_text(f"یافت شد: سند {document_id} امضایی با این کد دارد.")
    expect(found).to_have_class(re.compile(r"\bok\b"))
    section = page.locator("section[aria-labelledby=req-verdict]")
    expect(section).to_contain_text("M. I.")  # initials only
    expect(section).to_contain_text("کد پیامکی")  # the method, in Persian
    main_text = page.locator("main").inner_text()
    for secret in (name, "Maria", "Ivanova", title, "Private diagnosis", phone):
        assert secret not in main_text, f"{secret!r} is shown on the requisites page"
    # The form keeps what was checked, so it can be read and corrected.
    expect(page.locator("#document")).to_have_value(document_id)
    expect(page.locator("#code")).to_have_value(code)

    # A wrong code (well-formed) is "not found", in fa and en, typed into the form.
    wrong = ("3" if code[0] != "3" else "4") + code[1:]
    page.locator("#code").fill(wrong)
    page.get_by_role("button", name="بررسی", exact=True).last.click()
    expect(found).to_have_class(re.compile(r"\berror\b"))
    expect(found).to_contain_text("امضایی با این شناسه و کد یافت نشد")
    response = page.goto(f"{app.url}/verify?document={document_id}&code={wrong}&lang=en")
    assert response is not None and response.status == 200
    expect(found).to_contain_text("No signature with this document id and code")


def test_verification_page_says_what_is_wrong_in_persian(
    page: Page, served: ServedStack, tmp_path: Path
) -> None:
    base = served.app.url
    alert = page.get_by_role("alert")

    # Not a PDF: a sentence in Persian saying what to choose, a 422, never a 500.
    not_pdf = tmp_path / "photo.pdf"
    not_pdf.write_bytes(b"GIF89a not a pdf at all")
    upload(page, base, "fa", not_pdf, status=422)
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(alert).to_have_text(
        "این فایل یک PDF خوانا و بدون رمز نیست. PDF امضاشده را همان‌طور که دریافت "
        "کرده‌اید انتخاب کنید."
    )
    expect(page.locator("#verdict")).to_have_count(0)

    # A code that cannot be one: what it looks like, in Persian; what was typed stays.
    document_id = "0b7c4f5e-1d2a-4c3b-9e8f-7a6b5c4d3e2f"
    response = page.goto(f"{base}/verify?document={document_id}&code=0OI1&lang=fa")
    assert response is not None and response.status == 422, response and response.status
    expect(alert).to_contain_text("کد بررسی ۸ حرف و رقم دارد، مانند 7KQ4-M2XD")
    expect(page.locator("#code")).to_have_value("0OI1")
    response = page.goto(f"{base}/verify?document=xyz&code=7KQ4-M2XD&lang=en")
    assert response is not None and response.status == 422, response and response.status
    expect(alert).to_have_text(
        "The document id is the long identifier printed in the signature block."
    )
