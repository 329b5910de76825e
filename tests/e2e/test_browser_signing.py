"""A patient signs on a phone-sized Chromium, against medsign served as a real process.

Messages travel over real SMTP (aiosmtpd) and the HTTP SMS gateway contract
(docs/sms-gateway.md); the signed PDF is judged by pdfsig, qpdf and pyHanko, trusting
the development CA the served process created under its data dir.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pikepdf
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.pdf_checks import nss_db_trusting, pdfsig, pyhanko_verdicts, qpdf_check
from tests.support.pdfs import make_pdf
from tests.support.served import ServedMedsign, ServedStack
from tests.support.sms_gateway import SmsGateway
from tests.support.smtp_server import SmtpTestServer
from tests.unit.pdf import intake_samples as samples

pytestmark = pytest.mark.e2e

MESSAGE_TIMEOUT = 20.0  # the in-process worker polls every 0.5 s; sealing may come first
LINK_RE = re.compile(r"https?://[^\s\"'<>]+?/s/[A-Za-z0-9_-]{20,}")
CODE_RE = re.compile(r"(?<![0-9])([0-9]{6})(?![0-9])")
_serial = itertools.count(1)
# Seen with poppler 22.12 (Debian 12): when two signatures are made with the same
# certificate and carry RFC 3161 signature-time-stamps, the second one's chain check
# fails inside NSS (CERT_NewTempCertificate: SEC_ERROR_REUSED_ISSUER_AND_SERIAL) and
# pdfsig prints "Unknown issue"; pyHanko-made PDFs do the same, different certificates
# or no time-stamps do not.
POPPLER_HINT = (
    "\n(hint: poppler 22.12 says this for a later signature by the same certificate when"
    " signatures carry signature-time-stamps; see the comment on POPPLER_HINT)"
)


def new_email(name: str) -> str:
    """An address no other test uses (the served stacks are shared by the tests)."""
    return f"{name}.{next(_serial)}@example.org"


def new_phone() -> str:
    """An E.164 number no other test uses."""
    return f"+7999{next(_serial):07d}"


# -- messages -------------------------------------------------------------------------


def link_in(text: str) -> str | None:
    """The signing link in a message, if any."""
    match = LINK_RE.search(text)
    return match.group(0) if match else None


def code_in(text: str) -> str | None:
    """The 6-digit code in a message (never digits that are part of a link)."""
    match = CODE_RE.search(LINK_RE.sub(" ", text))
    return match.group(1) if match else None


def email_invitation(smtp: SmtpTestServer, address: str, timeout: float = MESSAGE_TIMEOUT) -> str:
    """Wait for the invitation email to ``address``; return its signing link."""
    mail = smtp.wait_for(lambda m: address in m.rcpt_tos and link_in(m.text) is not None, timeout)
    link = link_in(mail.text)
    assert link is not None
    return link


def email_code(smtp: SmtpTestServer, address: str) -> str:
    """Wait for the code email to ``address``; return the code."""
    mail = smtp.wait_for(
        lambda m: address in m.rcpt_tos and code_in(m.text) is not None, MESSAGE_TIMEOUT
    )
    code = code_in(mail.text)
    assert code is not None
    return code


def sms_invitation(sms: SmsGateway, phone: str) -> str:
    """Wait for the invitation SMS to ``phone``; return its signing link."""
    message = sms.wait_for(lambda m: m.to == phone and link_in(m.text) is not None, MESSAGE_TIMEOUT)
    link = link_in(message.text)
    assert link is not None
    return link


def sms_code(sms: SmsGateway, phone: str) -> str:
    """Wait for the code SMS to ``phone``; return the code."""
    message = sms.wait_for(lambda m: m.to == phone and code_in(m.text) is not None, MESSAGE_TIMEOUT)
    code = code_in(message.text)
    assert code is not None
    return code


# -- the signing page -----------------------------------------------------------------


def with_lang(link: str, lang: str) -> str:
    """The signing link with ``?lang=``."""
    return f"{link}{'&' if urlsplit(link).query else '?'}lang={lang}"


def signer(name: str, method: str, order: int = 1, **contact: str) -> dict[str, Any]:
    """A patient signer entry for ``POST /api/v1/envelopes``."""
    return {"role": "patient", "name": name, "method": method, "order": order, **contact}


def open_document(page: Page, link: str, lang: str = "en", pages: int = 2) -> None:
    """Open the signing page and wait until the first page image of the document shows."""
    response = page.goto(with_lang(link, lang))
    assert response is not None and response.status == 200, response and response.status
    expect(page.locator("#viewer")).to_have_attribute("data-rendered", str(pages))
    expect(page.locator("#viewer img.page")).to_have_count(pages)


def assert_no_horizontal_scroll(page: Page) -> None:
    """Nothing is wider than the 360 px viewport (readable without zooming)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert isinstance(width, int) and width <= 360, f"the page is {width} px wide at 360 px"


def request_code(page: Page) -> None:
    """Press "Send code" and wait for the confirmation (no reload with JavaScript)."""
    page.get_by_role("button", name="Send code", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("We sent a code")


def sign_with_code(page: Page, link: str, read_code: Callable[[], str]) -> None:
    """Press "Send code", type the code from the message, press "Sign", see "Signed"."""
    request_code(page)
    page.get_by_label("Code", exact=True).fill(read_code())
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_role("heading", name="Signed", exact=True)).to_be_visible()
    assert urlsplit(page.url).path == urlsplit(link).path  # back on the same link


def download_signed(page: Page, target: Path) -> bytes:
    """Click "Download the signed PDF"; return the file."""
    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("link", name="Download the signed PDF", exact=True).click()
    download = info.value
    assert download.failure() is None, download.failure()
    download.save_as(target)
    data = target.read_bytes()
    assert data.startswith(b"%PDF-"), data[:100]
    return data


def check_signed_pdf(
    app: ServedMedsign, data: bytes, tmp: Path, signatures: int, *more_roots: Path
) -> None:
    """pdfsig (valid and trusted), qpdf --check and pyHanko agree on every signature.

    The development CA is trusted, and ``more_roots`` (e.g. the clinician CA) besides."""
    pdf = tmp / "checked.pdf"
    pdf.write_bytes(data)
    ca = app.ca_cert_file
    assert ca.exists(), f"no development CA at {ca}: {sorted(app.data_dir.rglob('*'))}"
    if more_roots:
        bundle = tmp / "roots.pem"
        bundle.write_bytes(b"".join(p.read_bytes() for p in (ca, *more_roots)))
        ca = bundle

    output, found = pdfsig(pdf, nss_db_trusting(app.ca_cert_file, tmp / "nssdb", *more_roots))
    assert len(found) == signatures, output
    for sig in found:
        assert sig.valid, f"pdfsig: signature #{sig.number} is not valid:\n{output}"
        hint = POPPLER_HINT if sig.number > 1 and sig.unknown_issue else ""
        assert sig.trusted, f"pdfsig: signature #{sig.number} is not trusted:\n{output}{hint}"
    assert found[-1].covers_whole_file, output

    qpdf_check(pdf)

    verdicts = pyhanko_verdicts(data, ca)
    assert len(verdicts) == signatures, verdicts
    for verdict in verdicts:
        assert verdict.intact and verdict.valid, verdict.summary
        assert verdict.trusted and verdict.bottom_line, verdict.summary
        assert verdict.timestamp_ok is not False, f"bad signature time-stamp: {verdict.summary}"
    assert verdicts[-1].coverage == "ENTIRE_FILE", verdicts[-1]
    for earlier in verdicts[:-1]:
        # Later signatures came in incremental updates: the earlier revision is untouched.
        assert earlier.coverage == "ENTIRE_REVISION", earlier
        assert earlier.modification_level in {"LTA_UPDATES", "FORM_FILLING"}, earlier


# -- the tests ------------------------------------------------------------------------


def test_email_signer_signs_on_a_phone(
    page: Page, served_each_db: ServedStack, tmp_path: Path
) -> None:
    app, smtp = served_each_db.app, served_each_db.smtp
    email = new_email("maria")
    doc = app.upload(make_pdf(pages=2), title="User agreement")
    assert doc["pages"] == 2
    env = app.create_envelope(doc["id"], signer("Maria Ivanova", "email_otp", email=email))
    assert env["status"] == "sent"

    link = email_invitation(smtp, email)
    assert link.startswith(app.url + "/s/"), link
    open_document(page, link, "en", pages=2)
    assert_no_horizontal_scroll(page)
    for name in ("Send code", "Sign", "Decline"):
        expect(page.get_by_role("button", name=name, exact=True)).to_be_visible()
    expect(page.get_by_label("Reason for declining (optional)", exact=True)).to_be_visible()

    sign_with_code(page, link, lambda: email_code(smtp, email))
    signed = download_signed(page, tmp_path / "signed.pdf")

    state = app.wait_for_envelope(env["id"], "completed")
    assert [s["status"] for s in state["signers"]] == ["signed"]
    assert app.envelope_pdf(env["id"]) == signed
    check_signed_pdf(app, signed, tmp_path, signatures=1)


def test_second_signer_is_invited_only_after_the_first_signed(
    page: Page, served_each_db: ServedStack, tmp_path: Path
) -> None:
    app, smtp, sms = served_each_db.app, served_each_db.smtp, served_each_db.sms
    phone, email = new_phone(), new_email("representative")
    doc = app.upload(make_pdf(pages=2), title="Treatment agreement")
    env = app.create_envelope(
        doc["id"],
        signer("Иванова Мария", "sms_otp", 1, phone=phone),
        signer("Pat Representative", "email_otp", 2, email=email),
    )
    first, second = env["signers"]
    assert (first["status"], second["status"]) == ("notified", "waiting")

    link1 = sms_invitation(sms, phone)
    # The second signer's turn has not come: no email for them, and their page says so.
    with pytest.raises(TimeoutError):
        smtp.wait_for(lambda m: email in m.rcpt_tos, timeout=1.0)
    page.goto(with_lang(second["signing_url"], "en"))
    expect(page.get_by_role("heading", name="Not your turn yet", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Sign", exact=True)).to_have_count(0)

    open_document(page, link1)
    sign_with_code(page, link1, lambda: sms_code(sms, phone))

    link2 = email_invitation(smtp, email)
    assert link2 != link1
    open_document(page, link2)
    sign_with_code(page, link2, lambda: email_code(smtp, email))
    signed = download_signed(page, tmp_path / "signed.pdf")

    state = app.wait_for_envelope(env["id"], "completed")
    assert [s["status"] for s in state["signers"]] == ["signed", "signed"]
    check_signed_pdf(app, signed, tmp_path, signatures=2)


def test_signer_declines_with_a_reason(page: Page, served: ServedStack) -> None:
    app, sms = served.app, served.sms
    phone = new_phone()
    reason = "Хочу сначала обсудить с врачом"
    doc = app.upload(make_pdf(pages=2))
    env = app.create_envelope(doc["id"], signer("Иванова Мария", "sms_otp", phone=phone))
    link = sms_invitation(sms, phone)

    open_document(page, link)
    page.get_by_label("Reason for declining (optional)", exact=True).fill(reason)
    page.get_by_role("button", name="Decline", exact=True).click()
    expect(page.get_by_role("heading", name="Declined", exact=True)).to_be_visible()

    state = app.envelope(env["id"])
    assert state["status"] == "declined"
    assert state["signers"][0]["status"] == "declined"
    assert state["signers"][0]["decline_reason"] == reason
    # Nothing to sign any more, even on a fresh visit.
    page.goto(with_lang(link, "en"))
    expect(page.get_by_role("heading", name="Declined", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Sign", exact=True)).to_have_count(0)


def test_page_speaks_farsi_right_to_left_and_russian(page: Page, served: ServedStack) -> None:
    app, smtp = served.app, served.smtp
    email = new_email("reza")
    doc = app.upload(make_pdf(pages=2))
    app.create_envelope(doc["id"], signer("Reza Ahmadi", "email_otp", email=email))
    link = email_invitation(smtp, email)

    open_document(page, link, "fa")
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "fa")
    expect(page.get_by_label("کد", exact=True)).to_be_visible()
    assert_no_horizontal_scroll(page)

    open_document(page, link, "ru")
    expect(html).to_have_attribute("dir", "ltr")
    expect(html).to_have_attribute("lang", "ru")
    expect(page.get_by_label("Код", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Получить код", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Подписать", exact=True)).to_be_visible()


def test_wrong_code_says_what_to_do_and_does_not_sign(page: Page, served: ServedStack) -> None:
    app, smtp = served.app, served.smtp
    email = new_email("maria")
    doc = app.upload(make_pdf(pages=2))
    env = app.create_envelope(doc["id"], signer("Maria Ivanova", "email_otp", email=email))
    link = email_invitation(smtp, email)

    open_document(page, link)
    request_code(page)
    code = email_code(smtp, email)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    page.get_by_label("Code", exact=True).fill(wrong)
    page.get_by_role("button", name="Sign", exact=True).click()

    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text(re.compile(r"wrong", re.IGNORECASE))
    expect(alert).to_contain_text(re.compile(r"try again|send code", re.IGNORECASE))
    expect(page.get_by_label("Code", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("heading", name="Signed", exact=True)).to_have_count(0)
    state = app.envelope(env["id"])
    assert state["status"] == "sent"
    assert state["signers"][0]["status"] == "notified"
    assert state["signers"][0]["signed_at"] is None

    # Doing what the message says works: the right code signs.
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_role("heading", name="Signed", exact=True)).to_be_visible()


def test_voided_envelope_link_says_it_can_no_longer_be_signed(
    page: Page, served: ServedStack
) -> None:
    app, sms = served.app, served.sms
    phone = new_phone()
    doc = app.upload(make_pdf(pages=2))
    env = app.create_envelope(doc["id"], signer("Иванова Мария", "sms_otp", phone=phone))
    link = sms_invitation(sms, phone)
    assert app.void(env["id"], "Sent by mistake")["status"] == "voided"

    page.goto(with_lang(link, "en"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "This document can no longer be signed"
    )
    expect(page.locator("main")).to_contain_text("Contact the clinic")
    for name in ("Send code", "Sign"):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)


def test_glued_pdf_photo_and_scans_are_signed_as_one_document(
    page: Page, served: ServedStack, tmp_path: Path
) -> None:
    """What a clinic really has (issue 3): a PDF printout, a phone photo turned on its
    side, a PNG and a two-page TIFF scan become one PDF that is signed in the browser;
    pdfsig, qpdf and pyHanko accept the signature and each file keeps its bookmark."""
    app, smtp = served.app, served.smtp
    email = new_email("glued")
    files = [
        ("consent.pdf", make_pdf(pages=2), "application/pdf"),
        ("passport.jpg", samples.quadrant_jpeg(6), "image/jpeg"),
        ("referral.png", samples.image("PNG"), "image/png"),
        ("scan.tiff", samples.tiff_pages(2), "image/tiff"),
    ]
    doc = app.upload_files(files, title="Consent with attachments")
    assert doc["pages"] == 6
    env = app.create_envelope(doc["id"], signer("Glued Patient", "email_otp", email=email))
    link = email_invitation(smtp, email)
    open_document(page, link, "en", pages=6)
    sign_with_code(page, link, lambda: email_code(smtp, email))
    signed = download_signed(page, tmp_path / "signed.pdf")
    app.wait_for_envelope(env["id"], "completed")
    check_signed_pdf(app, signed, tmp_path, signatures=1)
    with pikepdf.open(io.BytesIO(signed)) as pdf, pdf.open_outline() as outline:
        assert [str(item.title) for item in outline.root] == [f[0] for f in files]
        assert len(pdf.pages) == 6
