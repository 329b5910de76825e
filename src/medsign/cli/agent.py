"""``medsign agent --watch DIR --out DIR``: the hot folder.

Drop a document (PDF, DOCX, JPEG, ...) in the watched folder together with a sidecar
``<stem>.json`` naming the recipient::

    {"to": "+79991234567", "name": "Maria Ivanova", "kind": "user_agreement",
     "title": "Agreement"}

(or ``"signers": [...]`` in the API's shape instead of ``to``/``name``). Write the
sidecar last, or write files under a temporary name (``.part``/``.tmp`` or starting with
``.``) and rename them: a document is picked up only once its sidecar exists.

- sent documents move to ``OUT/sent/``; when the envelope completes the signed PDF
  appears as ``OUT/<stem>.signed.pdf`` with its evidence (the envelope's final state) in
  ``OUT/<stem>.evidence.json``;
- a refused document (policy, not a PDF, bad sidecar) or an envelope that ends
  declined/expired/voided goes to ``OUT/errors/`` with ``<name>.reason.txt``;
- the agent survives restarts without re-sending: state lives in
  ``OUT/.medsign-agent.sqlite3``, and every request carries an ``Idempotency-Key``
  derived from the file's content, so a crash between "sent" and "noted" replays the
  first answer instead of sending again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import signal
import sqlite3
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from medsign.cli.send import add_connection_flags, connection, recipient
from medsign.client import ApiError, MedsignClient

log = logging.getLogger("medsign.agent")
STATE_FILE = ".medsign-agent.sqlite3"
IGNORED_SUFFIXES = (".json", ".part", ".tmp", ".crdownload")


class BadSidecar(Exception):
    """The sidecar JSON is missing something or malformed."""


class Agent:
    """One hot folder: scan, send, follow, deliver."""

    def __init__(self, api: MedsignClient, watch: Path, out: Path) -> None:
        self.api = api
        self.watch = watch
        self.out = out
        self.sent_dir = out / "sent"
        self.errors = out / "errors"
        for d in (watch, out, self.sent_dir, self.errors):
            d.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(out / STATE_FILE)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS items (sha256 TEXT PRIMARY KEY, name TEXT NOT NULL,"
            " envelope_id TEXT NOT NULL, status TEXT NOT NULL, updated REAL NOT NULL)"
        )
        self.db.commit()

    def close(self) -> None:
        """Close the state file."""
        self.db.close()

    # -- sending ---------------------------------------------------------------------

    def ready_files(self) -> list[tuple[Path, Path]]:
        """Documents whose sidecar exists, oldest first."""
        found = []
        for path in sorted(self.watch.iterdir(), key=lambda p: (p.stat().st_mtime, p.name)):
            if (
                not path.is_file()
                or path.name.startswith(".")
                or path.suffix.lower() in IGNORED_SUFFIXES
            ):
                continue
            sidecar = path.with_suffix(".json")
            if sidecar.is_file():
                found.append((path, sidecar))
        return found

    def send_one(self, path: Path, sidecar: Path) -> None:
        """Send one document (or note that it was sent before a restart)."""
        raw = sidecar.read_bytes()
        data = path.read_bytes()
        sha = hashlib.sha256(data + b"\x00" + raw).hexdigest()
        known = self.db.execute("SELECT envelope_id FROM items WHERE sha256 = ?", (sha,)).fetchone()
        if known is None:
            try:
                meta = _sidecar(raw)
            except BadSidecar as exc:
                self._fail(path, sidecar, f"bad sidecar {sidecar.name}: {exc}")
                return
            try:
                doc = self.api.request(
                    "POST",
                    "/api/v1/documents",
                    files=[("files", (path.name, data, _media_type(path)))],
                    data={"title": meta["title"] or path.stem, "kind": meta["kind"]},
                    idempotency_key=f"agent-{sha}-document",
                )
                env = self.api.create_envelope(
                    doc["id"], meta["signers"], idempotency_key=f"agent-{sha}-envelope"
                )
            except ApiError as exc:
                if exc.status in (408, 409, 425, 429) or exc.status >= 500:
                    raise  # worth another try later
                self._fail(path, sidecar, f"refused ({exc.status} {exc.type}): {exc.detail}")
                return
            self.db.execute(
                "INSERT INTO items VALUES (?, ?, ?, 'sent', ?)",
                (sha, path.name, env["id"], time.time()),
            )
            self.db.commit()
            log.info("sent %s as envelope %s", path.name, env["id"])
        for f in (path, sidecar):
            shutil.move(str(f), self.sent_dir / f.name)

    def _fail(self, path: Path, sidecar: Path | None, reason: str) -> None:
        log.warning("%s: %s", path.name, reason)
        for f in (path, sidecar):
            if f is not None and f.exists():
                shutil.move(str(f), self.errors / f.name)
        (self.errors / f"{path.name}.reason.txt").write_text(reason + "\n", encoding="utf-8")

    # -- following -------------------------------------------------------------------

    def follow(self) -> None:
        """Check envelopes still open; deliver signed PDFs and report failures."""
        rows = self.db.execute("SELECT sha256, name, envelope_id FROM items WHERE status = 'sent'")
        for sha, name, envelope_id in rows.fetchall():
            env: dict[str, Any] = dict(self.api.get_envelope(envelope_id))
            stem = Path(name).stem
            if env["status"] == "completed":
                target = self.out / f"{stem}.signed.pdf"
                tmp = target.with_suffix(".part")
                tmp.write_bytes(self.api.envelope_pdf(envelope_id))
                (self.out / f"{stem}.evidence.json").write_text(
                    json.dumps(env, ensure_ascii=False, indent=2), encoding="utf-8"
                )
                tmp.replace(target)
                status = "done"
                log.info("%s signed: %s", name, target)
            elif env["status"] in ("declined", "expired", "voided"):
                reason = env.get("void_reason") or next(
                    (s.get("decline_reason") for s in env["signers"] if s.get("decline_reason")),
                    None,
                )
                (self.errors / f"{name}.reason.txt").write_text(
                    f"envelope {envelope_id} {env['status']}"
                    + (f": {reason}" if reason else "")
                    + "\n",
                    encoding="utf-8",
                )
                status = "failed"
            else:
                continue
            self.db.execute(
                "UPDATE items SET status = ?, updated = ? WHERE sha256 = ?",
                (status, time.time(), sha),
            )
            self.db.commit()

    def run_once(self) -> None:
        """One pass: send what is ready, then follow what is open."""
        for path, sidecar in self.ready_files():
            try:
                self.send_one(path, sidecar)
            except (ApiError, OSError) as exc:
                log.warning("%s: will retry: %s", path.name, exc)
        try:
            self.follow()
        except (ApiError, OSError) as exc:
            log.warning("could not check envelopes, will retry: %s", exc)


def _media_type(path: Path) -> str:
    return {
        ".pdf": "application/pdf",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".png": "image/png",
        ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    }.get(path.suffix.lower(), "application/octet-stream")


def _sidecar(raw: bytes) -> dict[str, Any]:
    try:
        meta = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadSidecar("not JSON") from exc
    if not isinstance(meta, dict):
        raise BadSidecar("not a JSON object")
    unknown = set(meta) - {"to", "name", "kind", "title", "signers"}
    if unknown:
        raise BadSidecar(f"unknown field(s) {', '.join(sorted(unknown))}")
    signers = meta.get("signers")
    if signers is None:
        to, name = meta.get("to"), meta.get("name")
        if not (isinstance(to, str) and to and isinstance(name, str) and name):
            raise BadSidecar('give "to" (phone or email) and "name", or "signers"')
        signers = [recipient(to, name)]
    elif not isinstance(signers, list) or not signers:
        raise BadSidecar('"signers" must be a non-empty list')
    kind = meta.get("kind", "user_agreement")
    title = meta.get("title")
    if not isinstance(kind, str) or (title is not None and not isinstance(title, str)):
        raise BadSidecar('"kind" and "title" must be strings')
    return {"signers": signers, "kind": kind, "title": title}


def cmd_agent(args: argparse.Namespace) -> int:
    """Run ``medsign agent``."""
    url, token = connection(args)
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    with MedsignClient(url, token) as api:
        agent = Agent(api, Path(args.watch), Path(args.out))
        print(f"medsign agent: watching {args.watch}, results in {args.out}", file=sys.stderr)
        try:
            while True:
                agent.run_once()
                if args.once or stopping:
                    break
                time.sleep(args.interval)
        except KeyboardInterrupt:
            pass
        finally:
            agent.close()
    return 0


def add_agent_parser(sub: Any) -> None:
    """Register ``medsign agent``."""
    agent = sub.add_parser("agent", help="hot folder: send dropped files, collect signed PDFs")
    agent.add_argument("--watch", required=True, help="folder to watch for documents")
    agent.add_argument("--out", required=True, help="folder for signed PDFs and errors/")
    agent.add_argument("--interval", type=float, default=2.0, help="seconds between passes")
    agent.add_argument("--once", action="store_true", help="one pass, then exit")
    add_connection_flags(agent)
    agent.set_defaults(func=cmd_agent)
