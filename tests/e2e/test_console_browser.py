"""The staff console in Chromium, at desktop size and at 360 px, against medsign served
as a real process (shared/API.md "Staff console"): login (a wrong password stays on the
form with a message), send with a dropped file, list, timeline, void, bulk send; axe-core
on every page in en, ru and fa; no CSP violation; and two staff voiding one envelope at
once (SQLite and PostgreSQL): one void, no 5xx."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.support.axe import assert_accessible
from tests.support.cli import run_cli
from tests.support.console import csrf_of
from tests.support.pdfs import make_pdf
from tests.support.served import ServedMedsign, ServedStack

pytestmark = pytest.mark.e2e

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 360, "height": 740}
SIZES = {"desktop": DESKTOP, "phone": PHONE}
_serial = itertools.count(1)


def new_staff(app: ServedMedsign, role: str, organization_id: str | None = None) -> tuple[str, str]:
    """``medsign staff create`` on the served database, in the served organization
    or ``organization_id``; returns (email, password)."""
    org = organization_id or app.organization_id
    email = f"{role}.{next(_serial)}.{org[:8]}@clinic.example"
    # In this process, as the console script would run beside the server (a spawned
    # interpreter costs about 2 s per call; tests/support/cli.py).
    done = run_cli(app.env, "staff", "create", "--org", org, "--email", email, "--role", role)
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(created) == {"staff_id", "password"}
    return email, str(created["password"])


def watch_csp(page: Page) -> list[str]:
    """Console messages that report a Content-Security-Policy violation."""
    seen: list[str] = []
    page.on(
        "console",
        lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return seen


def log_in(page: Page, base: str, email: str, password: str, lang: str = "en") -> None:
    page.goto(f"{base}/console/login?lang={lang}")
    page.get_by_label("Email" if lang == "en" else {"ru": "Эл. почта", "fa": "ایمیل"}[lang]).fill(
        email
    )
    page.locator("#password").fill(password)
    page.locator("form button[type=submit]").click()
    expect(page.locator("nav.console-nav")).to_be_visible()


def assert_fits(page: Page, size: ViewportSize) -> None:
    """At 360 px nothing but the tables' own scroll boxes is wider than the screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        """(limit) => [...document.querySelectorAll("body *")]
            .filter((e) => e.getBoundingClientRect().right > limit + 1)
            .slice(0, 5)
            .map((e) => e.tagName + "." + e.className + ":" + e.textContent.slice(0, 40))""",
        size["width"],
    )
    assert isinstance(width, int) and width <= size["width"], f"{page.url}: {width} px {wide}"


@pytest.mark.parametrize("size", SIZES)
def test_login_wrong_password_stays_then_the_list(
    served: ServedStack, page: Page, size: str
) -> None:
    page.set_viewport_size(SIZES[size])
    csp = watch_csp(page)
    app = served.app
    doc = app.upload(make_pdf(1))
    name = f"Listed Patient {next(_serial)}"
    app.create_envelope(
        doc["id"], {"role": "patient", "name": name, "method": "sms_otp", "phone": "+79990001001"}
    )
    email, password = new_staff(app, "viewer")
    page.goto(f"{app.url}/console")
    expect(page).to_have_url(f"{app.url}/console/login")
    page.goto(f"{app.url}/console/login?lang=en")
    assert_accessible(page)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("not right")
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value(email)
    assert_accessible(page)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    row = page.locator("tr", has_text=name)
    expect(row).to_contain_text("Sent")
    expect(page.get_by_role("link", name="Send", exact=True)).to_have_count(0)  # a viewer
    assert_accessible(page)
    assert_fits(page, SIZES[size])
    assert not csp, csp


@pytest.mark.parametrize("size", SIZES)
def test_send_a_dropped_file_see_the_timeline_and_void(
    served: ServedStack, page: Page, size: str, tmp_path: Path
) -> None:
    page.set_viewport_size(SIZES[size])
    csp = watch_csp(page)
    app = served.app
    email, password = new_staff(app, "operator")
    log_in(page, app.url, email, password)
    page.get_by_role("link", name="Send", exact=True).click()
    expect(page.get_by_label("Patient name")).to_be_visible()
    assert_accessible(page)
    # Drop a file on the drop zone (as a person drags one from their desktop).
    page.evaluate(
        """([bytes, name]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name, {type: "application/pdf"}));
            const zone = document.querySelector("[data-dropzone]");
            const init = {dataTransfer: transfer, bubbles: true, cancelable: true};
            zone.dispatchEvent(new DragEvent("drop", init));
        }""",
        [list(make_pdf(2)), "consent.pdf"],
    )
    assert page.evaluate("document.querySelector('#files').files.length") == 1
    patient = f"Dropped Patient {next(_serial)}"
    phone = f"+7998{next(_serial):07d}"
    page.get_by_label("Patient name").fill(patient)
    page.get_by_label("Phone or email").fill(phone)
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Sent.")
    expect(page.locator("h1")).to_have_text("Пользовательское соглашение")  # patients: ru
    expect(page.locator(".timeline")).to_contain_text("Sent")
    assert_accessible(page)
    assert_fits(page, SIZES[size])
    served.sms.wait_for(lambda m: m.to == phone, 20.0)  # the patient got the link
    page.get_by_role("link", name="Documents").click()
    expect(page.locator("tr", has_text=patient)).to_contain_text("Sent")
    page.get_by_role("link", name=patient).click()
    page.get_by_label("Reason").fill("Sent to the wrong person")
    page.get_by_role("button", name="Void the document").click()
    expect(page.get_by_role("status")).to_contain_text("Voided.")
    expect(page.locator(".timeline")).to_contain_text("Voided")
    expect(page.locator(".facts")).to_contain_text("Sent to the wrong person")
    assert_accessible(page)
    assert not csp, csp


def test_bulk_send_shows_progress_and_each_row(
    served: ServedStack, page: Page, tmp_path: Path
) -> None:
    page.set_viewport_size(DESKTOP)
    csp = watch_csp(page)
    app = served.app
    email, password = new_staff(app, "operator")
    log_in(page, app.url, email, password)
    page.get_by_role("link", name="Bulk send").click()
    assert_accessible(page)
    pdf, csv = tmp_path / "notice.pdf", tmp_path / "patients.csv"
    pdf.write_bytes(make_pdf(1))
    first, second = (f"+7997{next(_serial):07d}" for _ in range(2))
    csv.write_text(f"name,phone\nBulk One,{first}\nBulk Two,{second}\nBulk Bad,123\n", "utf-8")
    page.locator("#files").set_input_files(pdf)
    page.locator("#patients").set_input_files(csv)
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#bulk-status")).to_contain_text(
        "3 of 3 handled: 2 sent, 1 failed", timeout=30_000
    )
    expect(page.locator("#bulk-status")).to_contain_text("finished")
    expect(page.locator("tr", has_text="Bulk Bad")).to_contain_text("Not sent")
    assert_accessible(page)
    served.sms.wait_for(lambda m: m.to == second, 20.0)
    assert not csp, csp


@pytest.mark.parametrize("lang", ["en", "ru", "fa"])
@pytest.mark.parametrize("size", SIZES)
def test_every_console_page_is_accessible(
    served: ServedStack, page: Page, lang: str, size: str
) -> None:
    page.set_viewport_size(SIZES[size])
    csp = watch_csp(page)
    app = served.app
    doc = app.upload(make_pdf(1))
    env = app.create_envelope(
        doc["id"],
        {
            "role": "patient",
            "name": "Axe Patient",
            "method": "email_otp",
            "email": "axe@example.org",
        },
    )
    email, password = new_staff(app, "admin")
    page.goto(f"{app.url}/console/login?lang={lang}")
    assert_accessible(page)
    log_in(page, app.url, email, password, lang)
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "fa" else "ltr")
    for path in (
        "/console",
        "/console/send",
        "/console/bulk",
        "/console/templates",
        f"/console/envelopes/{env['id']}",
        "/console/staff",
        "/console/settings",
        "/console/account",
    ):
        response = page.goto(f"{app.url}{path}")
        assert response is not None and response.status == 200, path
        assert_accessible(page)
        if size == "phone":
            assert_fits(page, PHONE)
    # The TOTP set-up shows a QR code; the invitation page; a missing page.
    page.goto(f"{app.url}/console/account")
    page.locator("form[action='/console/account/totp/start'] button").click()
    expect(page.locator("img.qr")).to_be_visible()
    assert_accessible(page)
    page.goto(f"{app.url}/console/staff")
    page.locator("#inv-email").fill(f"invited.{next(_serial)}@clinic.example")
    page.locator("form[action='/console/staff/invite'] button").click()
    link = page.locator("a[href*='/console/invite/']").get_attribute("href")
    assert link
    assert_accessible(page)
    page.goto(link)
    expect(page.locator("#repeat")).to_be_visible()
    assert_accessible(page)
    assert not csp, csp


def void_at_once(clients: list[tuple[httpx.Client, str]], envelope_id: str) -> list[int]:
    """Every client presses "Void" on the envelope at the same moment; their statuses."""
    start = threading.Barrier(len(clients))
    codes: list[int] = []

    def void(client: httpx.Client, token: str) -> None:
        start.wait()
        res = client.post(
            f"/console/envelopes/{envelope_id}/void", data={"reason": "race", "csrf": token}
        )
        codes.append(res.status_code)

    threads = [threading.Thread(target=void, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return codes


def test_two_staff_voiding_one_envelope_at_once(served_each_db: ServedStack) -> None:
    app = served_each_db.app
    doc = app.upload(make_pdf(1))
    race_patient = {
        "role": "patient",
        "name": "Race Patient",
        "method": "sms_otp",
        "phone": "+79990002002",
    }
    env = app.create_envelope(doc["id"], race_patient)
    clients = []
    for _ in range(2):
        email, password = new_staff(app, "operator")
        client = httpx.Client(base_url=app.url, timeout=30.0)
        form = client.get("/console/login")
        res = client.post(
            "/console/login",
            data={"email": email, "password": password, "csrf": csrf_of(form.text)},
        )
        assert res.status_code == 303, res.text
        token = csrf_of(client.get(f"/console/envelopes/{env['id']}").text)
        clients.append((client, token))
    for round_ in range(5):
        if round_:
            doc = app.upload(make_pdf(1))
            env = app.create_envelope(doc["id"], race_patient)
        assert sorted(void_at_once(clients, env["id"])) == [303, 409], app.output_tail()
        assert app.envelope(env["id"])["status"] == "voided"
    for client, _token in clients:
        client.close()


def test_parallel_wrong_passwords_all_count_and_parallel_sends(
    served_each_db: ServedStack,
) -> None:
    """Concurrent guesses cannot slip past the lockout (each is counted under the
    account's lock), and staff sending at once all succeed (no 5xx)."""
    app = served_each_db.app
    email, password = new_staff(app, "operator")

    def attempt(secret: str) -> httpx.Response:
        with httpx.Client(base_url=app.url, timeout=60.0) as client:
            form = client.get("/console/login")
            return client.post(
                "/console/login",
                data={"email": email, "password": secret, "csrf": csrf_of(form.text)},
            )

    start = threading.Barrier(5)
    codes: list[int] = []

    def guess() -> None:
        start.wait()
        codes.append(attempt("wrong password").status_code)

    threads = [threading.Thread(target=guess) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert codes == [401] * 5, codes
    locked = attempt(password)
    assert locked.status_code == 401 and "locked" in locked.text

    senders = []
    for _ in range(2):
        other_email, other_password = new_staff(app, "operator")
        client = httpx.Client(base_url=app.url, timeout=60.0)
        form = client.get("/console/login")
        res = client.post(
            "/console/login",
            data={"email": other_email, "password": other_password, "csrf": csrf_of(form.text)},
        )
        assert res.status_code == 303, res.text
        senders.append((client, csrf_of(client.get("/console/send").text)))
    go = threading.Barrier(6)
    answers: list[int] = []

    def send(client: httpx.Client, token: str, n: int) -> None:
        go.wait()
        res = client.post(
            "/console/send",
            data={"patient_name": f"Parallel {n}", "contact": f"+7996{n:07d}", "csrf": token},
            files={"files": ("a.pdf", make_pdf(1), "application/pdf")},
        )
        answers.append(res.status_code)

    jobs = [
        threading.Thread(target=send, args=(*senders[n % 2], n + next(_serial) * 10))
        for n in range(6)
    ]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(120)
    assert answers == [303] * 6, (answers, app.output_tail())
    for client, _token in senders:
        client.close()
