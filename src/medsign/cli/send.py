"""``medsign send FILE... --to PHONE|EMAIL --name NAME --kind KIND [--wait]``.

Uploads the files as one document and sends it to one patient (SMS code for a phone
number, email code for an address) through the API, with ``medsign.client``. The
server comes from ``--url``/``MEDSIGN_URL``, the token from ``--token``/``MEDSIGN_TOKEN``.
With ``--wait`` it shows progress until the envelope ends and saves the signed PDF.
Exit status: 0 sent (or completed), 1 declined/expired/voided, 2 refused or failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from medsign.client import ApiError, MedsignClient

TERMINAL = ("completed", "declined", "expired", "voided")


def connection(args: argparse.Namespace) -> tuple[str, str]:
    """(base URL, token) from the flags or the environment; exits 2 when missing."""
    url = args.url or os.environ.get("MEDSIGN_URL") or "http://127.0.0.1:8000"
    token = args.token or os.environ.get("MEDSIGN_TOKEN")
    if not token:
        print("medsign: give a token with --token or MEDSIGN_TOKEN", file=sys.stderr)
        raise SystemExit(2)
    return url, token


def recipient(to: str, name: str) -> dict[str, Any]:
    """A patient signer: ``sms_otp`` for a phone number, ``email_otp`` for an address."""
    signer: dict[str, Any] = {"role": "patient", "name": name}
    if "@" in to:
        signer.update(email=to, method="email_otp")
    else:
        signer.update(phone=to, method="sms_otp")
    return signer


def _progress(env: dict[str, Any]) -> str:
    signers = env.get("signers", [])
    done = sum(1 for s in signers if s.get("status") == "signed")
    return f"{env['status']}: {done}/{len(signers)} signed"


def wait(
    api: MedsignClient, envelope_id: str, *, interval: float, timeout: float
) -> dict[str, Any]:
    """Poll the envelope until it ends (or ``timeout``), printing progress on stderr."""
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        env: dict[str, Any] = dict(api.get_envelope(envelope_id))
        line = _progress(env)
        if line != last:
            print(f"medsign: {line}", file=sys.stderr, flush=True)
            last = line
        if env["status"] in TERMINAL or time.monotonic() > deadline:
            return env
        time.sleep(interval)


def cmd_send(args: argparse.Namespace) -> int:
    """Run ``medsign send``."""
    url, token = connection(args)
    files = [Path(f) for f in args.files]
    for f in files:
        if not f.is_file():
            print(f"medsign: no such file: {f}", file=sys.stderr)
            return 2
    try:
        with MedsignClient(url, token) as api:
            doc = api.upload_document(files, title=args.title or files[0].stem, kind=args.kind)
            env: dict[str, Any] = dict(
                api.create_envelope(doc["id"], [recipient(args.to, args.name)])
            )
            if args.wait:
                env = wait(api, env["id"], interval=args.interval, timeout=args.timeout)
                if env["status"] == "completed":
                    out = Path(args.output or f"{files[0].stem}.signed.pdf")
                    out.write_bytes(api.envelope_pdf(env["id"]))
                    print(f"medsign: signed PDF saved to {out}", file=sys.stderr)
    except ApiError as exc:
        print(f"medsign: {exc.detail} ({exc.status})", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"medsign: cannot reach {url}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(env, ensure_ascii=False))
    return 1 if env["status"] in ("declined", "expired", "voided") else 0


def add_connection_flags(parser: argparse.ArgumentParser) -> None:
    """``--url`` and ``--token`` (defaults from MEDSIGN_URL and MEDSIGN_TOKEN)."""
    parser.add_argument("--url", help="medsign base URL (default: $MEDSIGN_URL)")
    parser.add_argument("--token", help="API token (default: $MEDSIGN_TOKEN)")


def add_send_parser(sub: Any) -> None:
    """Register ``medsign send``."""
    send = sub.add_parser("send", help="send files to a patient for signing")
    send.add_argument("files", nargs="+", metavar="FILE")
    send.add_argument("--to", required=True, help="phone (+7999...) or email of the patient")
    send.add_argument("--name", required=True, help="the patient's name")
    send.add_argument("--kind", default="user_agreement", help="document kind (policy)")
    send.add_argument("--title", help="document title (default: the first file's name)")
    send.add_argument("--wait", action="store_true", help="wait until signed or ended")
    send.add_argument("--interval", type=float, default=3.0, help="poll interval, seconds")
    send.add_argument("--timeout", type=float, default=3600.0, help="give up waiting after")
    send.add_argument("--output", help="where --wait saves the signed PDF")
    add_connection_flags(send)
    send.set_defaults(func=cmd_send)
