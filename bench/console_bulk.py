"""Bulk send from the staff console: N patients (default 1,000), one document, over real
HTTP against ``medsign serve`` (its in-process worker runs the bulk-send jobs).

Measured: the POST of the form (the document's intake, the rows, the jobs); the time
until the progress page says every row is handled (all envelopes created); and the time
until the loopback SMS gateway has received every patient's invitation.

    PYTHONPATH=$PWD/src .venv/bin/python bench/console_bulk.py --db sqlite --rows 1000
    PYTHONPATH=$PWD/src .venv/bin/python bench/console_bulk.py --db postgresql --rows 1000
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from tests.e2e.test_console_browser import new_staff
from tests.support.console import csrf_of
from tests.support.pdfs import make_pdf
from tests.support.served import serve_with_peers

PROGRESS = re.compile(r"(\d+) of (\d+) handled: (\d+) sent, (\d+) failed")


def run(kind: str, rows: int, timeout: float) -> None:
    """One bulk send of ``rows`` patients on a fresh ``kind`` database; print figures."""
    with tempfile.TemporaryDirectory() as tmp, serve_with_peers(Path(tmp), kind) as stack:
        app = stack.app
        email, password = new_staff(app, "operator")
        client = httpx.Client(base_url=app.url, timeout=120.0)
        form = client.get("/console/login?lang=en")
        login = client.post(
            "/console/login",
            data={"email": email, "password": password, "csrf": csrf_of(form.text)},
        )
        assert login.status_code == 303, login.text
        csrf = csrf_of(client.get("/console/bulk?lang=en").text)
        phones = [f"+7990{i:07d}" for i in range(rows)]
        csv = "name,phone\n" + "".join(f"Patient {i},{p}\n" for i, p in enumerate(phones))
        started = time.perf_counter()
        res = client.post(
            "/console/bulk",
            data={"csrf": csrf},
            files=[
                ("files", ("notice.pdf", make_pdf(1), "application/pdf")),
                ("patients", ("patients.csv", csv.encode(), "text/csv")),
            ],
        )
        posted = time.perf_counter() - started
        assert res.status_code == 303, res.text
        progress_url = res.headers["location"] + "?lang=en"
        handled = None
        while time.perf_counter() - started < timeout:
            match = PROGRESS.search(client.get(progress_url).text)
            if match and match.group(1) == match.group(2):
                handled = time.perf_counter() - started
                sent, failed = int(match.group(3)), int(match.group(4))
                break
            time.sleep(0.25)
        if handled is None:
            raise SystemExit(f"not finished within {timeout} s")
        wanted = set(phones)
        while time.perf_counter() - started < timeout:
            if wanted <= {m.to for m in stack.sms.messages}:
                break
            time.sleep(0.25)
        delivered = time.perf_counter() - started
        got = len(wanted & {m.to for m in stack.sms.messages})
        client.close()
    print(
        f"{kind}: {rows} patients — form POST {posted:.2f} s; all rows handled after "
        f"{handled:.2f} s ({sent} sent, {failed} failed; {rows / handled:.0f} envelopes/s); "
        f"{got} invitation SMS at the gateway after {delivered:.2f} s"
    )


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    run(args.db, args.rows, args.timeout)


if __name__ == "__main__":
    main()
