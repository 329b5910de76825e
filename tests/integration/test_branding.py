"""Branding per organization (docs/branding.md): refusals that change nothing (pale
colours, SVG and oversized logos, bad domains and sender names, roles, CSRF), the
stylesheet and the re-encoded logo, links on the custom domain, requests arriving on
that Host, the sender name in e-mail From and SMS, the signature block carrying the
logo and the name (still valid), and parallel saves. SQLite and PostgreSQL."""

from __future__ import annotations

import io
import threading
from typing import Any

import httpx
import pikepdf
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from medsign.audit.models import AuditEvent
from medsign.branches.service import create_branch
from medsign.branding.colors import contrast_ratio
from medsign.branding.models import Branding
from medsign.notify import Message, SmtpSender
from medsign.notify.models import DevMessage
from medsign.notify.sms_http import HttpSmsSender
from medsign.pdf.validate import validate_pdf
from medsign.runtime import Runtime
from tests.support.api import create_envelope, new_org, patient, upload
from tests.support.console import csrf_of, new_staff
from tests.support.logos import image_bytes
from tests.support.pages import latest_code, path_of, press_sign, request_code
from tests.support.sms_gateway import SmsGateway
from tests.support.smtp_server import SmtpTestServer
from tests.support.threaded import serve_in_thread
from tests.support.worker import drain

SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)


def log_in(client: TestClient, rt: Runtime, org_id: str, role: str = "admin", **kw: Any) -> None:
    _id, email, password = new_staff(rt, org_id, role, **kw)
    form = client.get("/console/login")
    res = client.post(
        "/console/login", data={"email": email, "password": password, "csrf": csrf_of(form.text)}
    )
    assert res.status_code == 303, res.text


def save(client: TestClient, logo: bytes | None = None, **fields: str) -> Any:
    token = csrf_of(client.get("/console/branding").text)
    files = {"logo": ("logo.png", logo, "image/png")} if logo is not None else None
    data = {"primary_color": "", "accent_color": "", "sender_name": "", "custom_domain": ""}
    data |= fields
    return client.post("/console/branding", data={**data, "csrf": token}, files=files)


def row(rt: Runtime, org_id: str) -> Branding | None:
    with rt.transaction(write=False) as session:
        return session.get(Branding, org_id)


def test_contrast_ratio_matches_wcag_examples() -> None:
    assert round(contrast_ratio("#000000", "#ffffff"), 2) == 21.0
    assert round(contrast_ratio("#767676", "#ffffff"), 2) == 4.54  # the classic AA grey
    assert contrast_ratio("#777777", "#ffffff") < 4.5


@pytest.mark.parametrize(
    ("fields", "logo", "status", "words"),
    [
        ({"primary_color": "#77aaff"}, None, 422, "contrast of 2."),
        ({"accent_color": "#ffff00"}, None, 422, "Choose a darker colour"),
        ({"primary_color": "blue; } body { display:none"}, None, 422, "#0b5cad"),
        ({}, SVG, 422, "SVG logos are not accepted"),
        ({}, b"GIF89a" + b"\0" * 40, 422, "PNG or JPEG"),
        ({}, b"\x89PNG\r\n\x1a\n" + b"\0" * 40, 422, "could not be read"),
        ({}, image_bytes(size=(4097, 10)), 413, "4097x10 pixels"),
        ({}, b"\x89PNG\r\n\x1a\n" + b"\0" * (513 * 1024), 413, "larger than 512 KB"),
        ({"custom_domain": "https://sign.clinic.example/"}, None, 422, "host name like"),
        ({"custom_domain": "10.0.0.7"}, None, 422, "not an IP address"),
        ({"custom_domain": "testserver"}, None, 422, "host name like"),
        ({"custom_domain": "127.0.0.1.nip.io:8443"}, None, 422, "host name like"),
        ({"sender_name": "Clinic <evil@x>"}, None, 422, "sender name"),
    ],
)
def test_refused_values_change_nothing(
    client: TestClient,
    rt: Runtime,
    fields: dict[str, str],
    logo: bytes | None,
    status: int,
    words: str,
) -> None:
    org_id, _headers = new_org(rt)
    log_in(client, rt, org_id)
    assert save(client, image_bytes(), primary_color="#0b5cad").status_code == 303
    before = row(rt, org_id)
    assert before is not None and before.version == 1
    res = save(client, logo, **({"primary_color": "#0b5cad"} | fields))
    assert res.status_code == status, res.text
    assert words in res.text and 'id="branding-error"' in res.text
    after = row(rt, org_id)
    assert after is not None
    assert (after.version, after.logo_png, after.primary_color, after.custom_domain) == (
        1,
        before.logo_png,
        "#0b5cad",
        None,
    )


def test_roles_branch_staff_and_csrf(client: TestClient, rt: Runtime) -> None:
    org_id, _headers = new_org(rt)
    for role in ("viewer", "operator"):
        log_in(client, rt, org_id, role)
        assert client.get("/console/branding").status_code == 403
        client.cookies.clear()
    with rt.transaction() as session:
        branch = create_branch(session, org_id, "North", now=rt.clock())
    log_in(client, rt, org_id, "admin", email="branch-admin@clinic.example", branch_id=branch.id)
    assert save(client, primary_color="#0b5cad").status_code == 403
    client.cookies.clear()
    log_in(client, rt, org_id)
    no_token = client.post("/console/branding", data={"primary_color": "#000000"})
    assert no_token.status_code == 403
    assert row(rt, org_id) is None


def test_saved_brand_is_served_and_shown(client: TestClient, rt: Runtime) -> None:
    org_id, _headers = new_org(rt, "Clinic Aurora")
    log_in(client, rt, org_id)
    upload_bytes = image_bytes("JPEG", (1200, 400), comment=b"secret-metadata")
    res = save(
        client,
        upload_bytes,
        primary_color="#1A4D2E",
        accent_color="#7a1f5c",
        sender_name="Клиника Аврора",
    )
    assert res.status_code == 303 and res.headers["location"] == "/console/branding?saved=1"
    page = client.get("/console/branding?saved=1&lang=en").text
    assert "Saved." in page and 'value="#1a4d2e"' in page
    brand = row(rt, org_id)
    assert brand is not None and brand.version == 1
    css = client.get(f"/brand/{org_id}/style.css?v=1")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "--accent: #1a4d2e;" in css.text and "--brand-accent: #7a1f5c;" in css.text
    logo = client.get(f"/brand/{org_id}/logo.png?v=1")
    assert logo.status_code == 200 and logo.headers["content-type"] == "image/png"
    assert logo.content != upload_bytes and b"secret-metadata" not in logo.content
    with Image.open(io.BytesIO(logo.content)) as shown:
        assert shown.format == "PNG" and shown.size == (480, 160)
    assert f'href="/brand/{org_id}/style.css?v=1"' in page
    assert f'src="/brand/{org_id}/logo.png?v=1"' in page
    with rt.transaction(write=False) as session:
        actions = list(
            session.scalars(select(AuditEvent.action).where(AuditEvent.organization_id == org_id))
        )
    assert "branding.changed" in actions
    # Removing the logo: the URL then answers 404 (a problem), the page shows none.
    assert save(client, remove_logo="1", primary_color="#1a4d2e").status_code == 303
    assert client.get(f"/brand/{org_id}/logo.png").status_code == 404
    assert "logo.png" not in client.get("/console/branding").text


def test_custom_domain_links_host_and_sender_name(client: TestClient, rt: Runtime) -> None:
    org_id, headers = new_org(rt, "Clinic Aurora")
    other_id, other_headers = new_org(rt, "Clinic Two")
    log_in(client, rt, org_id)
    assert (
        save(
            client,
            image_bytes(),
            primary_color="#0b5cad",
            custom_domain="Sign.Aurora.Example",
            sender_name="Aurora",
        ).status_code
        == 303
    )
    env = create_envelope(client, headers, upload(client, headers)["id"], patient())
    url = env["signers"][0]["signing_url"]
    assert url.startswith("http://sign.aurora.example/s/"), url
    fetched = client.get(f"/api/v1/envelopes/{env['id']}", headers=headers).json()
    assert fetched["signers"][0]["signing_url"] == url
    drain(rt)
    with rt.transaction(write=False) as session:
        bodies = [m.body for m in session.scalars(select(DevMessage))]
    assert any(url in body for body in bodies), bodies
    # Another organization keeps MEDSIGN_PUBLIC_URL.
    plain = create_envelope(
        client, other_headers, upload(client, other_headers)["id"], patient(phone="+79990000001")
    )
    assert plain["signers"][0]["signing_url"].startswith(rt.settings.public_url.rstrip("/"))
    # A request arriving on that Host is served, with the brand.
    path = path_of(url)
    page = client.get(path + "?lang=en", headers={"host": "sign.aurora.example"})
    assert page.status_code == 200 and "Send code" in page.text
    assert "Clinic Aurora" in page.text and f"/brand/{org_id}/logo.png" in page.text
    # The domain is the organization's alone.
    client.cookies.clear()
    log_in(client, rt, other_id)
    taken = save(client, custom_domain="sign.aurora.example")
    assert taken.status_code == 409 and "already used" in taken.text


def test_sender_name_goes_to_email_from_and_sms_sender(
    smtp_server: SmtpTestServer, sms_gateway: SmsGateway
) -> None:
    def message(channel: str, to: str) -> Message:
        return Message(
            channel,  # type: ignore[arg-type]
            to,
            "Документ",
            "Текст",
            f"job-{channel}",
            sender_name="Клиника Аврора",
        )

    SmtpSender(smtp_server.url, "medsign <noreply@medsign.example>", timeout=5).send(
        message("email", "patient@example.org")
    )
    mail = smtp_server.wait_for()
    assert str(mail.message["From"]) == "Клиника Аврора <noreply@medsign.example>"
    sender = HttpSmsSender(sms_gateway.url)
    sender.send(message("sms", "+79991234567"))
    assert sms_gateway.wait_for().sender == "Клиника Аврора"


def test_signature_block_carries_logo_and_name(client: TestClient, rt: Runtime) -> None:
    org_id, headers = new_org(rt, "Clinic Aurora")
    log_in(client, rt, org_id)
    assert save(client, image_bytes(), primary_color="#0b5cad").status_code == 303
    env = create_envelope(client, headers, upload(client, headers)["id"], patient())
    drain(rt)
    path = path_of(env["signers"][0]["signing_url"])
    page = client.get(path + "?lang=en")
    assert "Clinic Aurora" in page.text and f"/brand/{org_id}/style.css" in page.text
    assert request_code(client, path).status_code == 303
    drain(rt)
    assert press_sign(client, path, latest_code(rt, "+79991234567")).status_code == 303
    drain(rt)
    pdf = client.get(f"/api/v1/envelopes/{env['id']}/pdf", headers=headers).content
    report = validate_pdf(pdf, rt.seal_keys.trust_roots())
    assert report.valid and report.signatures[0].intact and report.signatures[0].trusted
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        widgets = [a for p in doc.pages for a in p.get("/Annots", []) if a.get("/FT") == "/Sig"]
        form = widgets[0].AP.N
        image = form.Resources.XObject.Logo
        assert image.Subtype == "/Image" and image.Filter == "/DCTDecode"
        assert (int(image.Width), int(image.Height)) == (240, 80)
        content = form.read_bytes()
    assert b"/Logo Do" in content


@pytest.mark.parametrize("n", [6])
def test_parallel_saves_and_one_domain_for_two_organizations(
    client: TestClient, rt: Runtime, n: int
) -> None:
    """Saves of one organization at once all land (versions count them); two
    organizations claiming one domain at once: one gets it, the other a 409."""
    app = client.app
    orgs = [new_org(rt, f"Clinic {i}")[0] for i in range(2)]
    with serve_in_thread(app) as base:  # type: ignore[arg-type]
        clients = []
        for org_id in orgs:
            for k in range(n // 2):
                _id, email, password = new_staff(
                    rt, org_id, "admin", email=f"a{k}-{org_id[:6]}@clinic.example"
                )
                c = httpx.Client(base_url=base, timeout=60.0)
                form = c.get("/console/login")
                res = c.post(
                    "/console/login",
                    data={"email": email, "password": password, "csrf": csrf_of(form.text)},
                )
                assert res.status_code == 303, res.text
                clients.append((org_id, c, csrf_of(c.get("/console/branding").text)))
        go = threading.Barrier(len(clients))
        answers: list[tuple[str, int]] = []

        def post(org_id: str, c: httpx.Client, token: str) -> None:
            go.wait()
            res = c.post(
                "/console/branding",
                data={
                    "csrf": token,
                    "primary_color": "#0b5cad",
                    "custom_domain": "race.clinic.example",
                },
                files={"logo": ("l.png", image_bytes(), "image/png")},
            )
            answers.append((org_id, res.status_code))

        threads = [threading.Thread(target=post, args=item) for item in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        for _org, c, _t in clients:
            c.close()
    assert all(code in (303, 409) for _org, code in answers), answers
    winners = {org for org, code in answers if code == 303}
    assert len(winners) == 1, answers
    (winner,) = winners
    saved = row(rt, winner)
    assert saved is not None and saved.custom_domain == "race.clinic.example"
    assert saved.version == sum(1 for org, code in answers if org == winner and code == 303)
    assert row(rt, next(o for o in orgs if o != winner)) is None


def test_cabinet_on_the_custom_domain_shows_the_brand(client: TestClient, rt: Runtime) -> None:
    org_id, _headers = new_org(rt, "Clinic Aurora")
    log_in(client, rt, org_id)
    res = save(client, image_bytes(), primary_color="#0b5cad", custom_domain="my.aurora.example")
    assert res.status_code == 303
    branded = client.get("/cabinet?lang=en", headers={"host": "my.aurora.example"})
    assert branded.status_code == 200
    assert "Clinic Aurora" in branded.text and f"/brand/{org_id}/style.css" in branded.text
    plain = client.get("/cabinet?lang=en")
    assert plain.status_code == 200
    assert "Clinic Aurora" not in plain.text and '<span class="brand">medsign</span>' in plain.text
