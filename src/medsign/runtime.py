"""The runtime: everything a process builds once from its settings and hands to services.

Built by ``create_app()`` and by the CLI, never at import time.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from medsign.audit.note import LogIdentity, NoteKey
from medsign.db.engine import READ_MOSTLY, make_engine, make_session_factory
from medsign.documents.page_images import PageImages
from medsign.domain.otp import OtpRules
from medsign.domain.tokens import Keyring
from medsign.jobs.wakeup import Doorbell, install
from medsign.pdf.intake import set_pdf_parser_limits
from medsign.pdf.timestamp import Timestamper, make_timestamper
from medsign.pki import (
    ClinicianCa,
    SealKey,
    load_clinician_ca_files,
    load_or_create_clinician_ca,
    load_or_create_dev_ca,
    load_seal_key_files,
)
from medsign.pki.seal_upload import load_uploaded_seal, uploaded_seal_version
from medsign.settings import Settings
from medsign.storage.factory import open_blob_store
from medsign.storage.ports import BlobStore

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The real time, aware UTC."""
    return datetime.now(UTC)


def _load_or_create_secret(path: Path) -> bytes:
    """Read the deployment secret, creating it (0600) on first start.

    Written to a temporary file and linked into place, so a second process starting
    at the same moment either sees no file or the whole key, never an empty one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # fails if another process won the race: keep theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip().encode()


@dataclass
class SealKeys:
    """Hands out the seal key of an organization (configured files or the dev CA)."""

    settings: Settings
    root: Path | None = None  # default: <data_dir>/keys
    _cache: dict[str, SealKey] = field(default_factory=dict)
    _slot_cache: dict[tuple[str, int], SealKey] = field(default_factory=dict)
    _uploaded_cache: dict[str, tuple[int, SealKey]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _timestamper: Timestamper | None = None
    _clinician_ca: ClinicianCa | None = None

    @property
    def keys_dir(self) -> Path:
        """Where the development CA and per-organization seals live."""
        return self.root or self.settings.data_dir / "keys"

    def trust_roots(self) -> list[x509.Certificate]:
        """Certificates a verifier should trust (the dev CA or the configured chain root).

        With configured seal keys and the built-in TSA, the dev CA (which issues the
        TSA's certificate) is trusted too.
        """
        clinicians = self.clinician_ca().root  # devices' certificates chain to it
        if self.settings.seal_key_file is not None:
            key = self.for_organization("*", "")
            roots: list[x509.Certificate] = [key.chain[-1]] if key.chain else [key.certificate]
            if not self.settings.tsa_url:
                roots.append(load_or_create_dev_ca(self.keys_dir).certificate)
            return [*roots, clinicians] if clinicians not in roots else roots
        return [load_or_create_dev_ca(self.keys_dir).certificate, clinicians]

    def clinician_ca(self) -> ClinicianCa:
        """The CA that certifies clinicians' device keys: ``MEDSIGN_CLINICIAN_CA_*`` files
        or the development clinician CA beside the development CA (cached)."""
        with self._lock:
            if self._clinician_ca is None:
                s = self.settings
                if s.clinician_ca_key_file is not None and s.clinician_ca_cert_file is not None:
                    self._clinician_ca = load_clinician_ca_files(
                        s.clinician_ca_key_file,
                        s.clinician_ca_cert_file,
                        s.clinician_ca_chain_files,
                    )
                else:
                    self._clinician_ca = load_or_create_clinician_ca(self.keys_dir)
            return self._clinician_ca

    def timestamper(self) -> Timestamper:
        """The RFC 3161 timestamper: ``MEDSIGN_TSA_URL`` or the built-in TSA (cached)."""
        with self._lock:
            if self._timestamper is None:
                s = self.settings
                self._timestamper = make_timestamper(
                    s.tsa_url, self.keys_dir, timeout=s.tsa_timeout_seconds
                )
            return self._timestamper

    def organization_dir(self, organization_id: str) -> Path:
        """Where an organization's seal files live (its development seal, its uploaded one)."""
        return self.keys_dir / "orgs" / organization_id

    def _uploaded(self, organization_id: str) -> SealKey | None:
        """The organization's uploaded seal (:mod:`medsign.pki.seal_upload`), re-read when
        the file changes, so every process uses a new upload from its next signature."""
        directory = self.organization_dir(organization_id)
        version = uploaded_seal_version(directory)
        if version is None:
            return None
        cached = self._uploaded_cache.get(organization_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        key = load_uploaded_seal(directory)
        if key is not None:
            self._uploaded_cache[organization_id] = (version, key)
        return key

    def for_organization(self, organization_id: str, organization_name: str) -> SealKey:
        """The seal key used for ``organization_id``: the one its admin uploaded, else the
        configured key files, else a seal from the development CA."""
        with self._lock:
            uploaded = self._uploaded(organization_id)
            if uploaded is not None:
                return uploaded
            cached = self._cache.get(organization_id)
            if cached is not None:
                return cached
            s = self.settings
            if s.seal_key_file is not None and s.seal_cert_file is not None:
                key = load_seal_key_files(s.seal_key_file, s.seal_cert_file, s.seal_chain_files)
            else:
                ca = load_or_create_dev_ca(self.keys_dir)
                key = ca.issue_seal(
                    self.organization_dir(organization_id), organization_id, organization_name
                )
            self._cache[organization_id] = key
            return key

    def for_signature(self, organization_id: str, organization_name: str, slot: int) -> SealKey:
        """The seal key for signature ``slot`` (0, 1, ...) of one of the organization's documents.

        Configured seal key files: always :meth:`for_organization`. With the development
        CA each slot gets its own certificate for the same key (see
        :meth:`~medsign.pki.DevCA.seal_for_slot`: a workaround for poppler 22.12, which
        does not trust the 2nd, 4th, ... of several time-stamped signatures sharing one
        certificate). The same object is returned for the same slot, so per-key caches
        (the CMS template) keep working.
        """
        s = self.settings
        configured = s.seal_key_file is not None and s.seal_cert_file is not None
        uploaded = uploaded_seal_version(self.organization_dir(organization_id)) is not None
        if slot <= 0 or configured or uploaded:
            return self.for_organization(organization_id, organization_name)
        with self._lock:
            cached = self._slot_cache.get((organization_id, slot))
            if cached is not None:
                return cached
            ca = load_or_create_dev_ca(self.keys_dir)
            key = ca.seal_for_slot(
                self.organization_dir(organization_id), organization_id, organization_name, slot
            )
            self._slot_cache[(organization_id, slot)] = key
            return key


@dataclass
class Runtime:
    """Settings plus the objects built from them, shared by every request and job."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keyring: Keyring
    files: BlobStore
    seal_keys: SealKeys
    clock: Clock = system_clock
    # Rung after every commit that queued jobs (medsign.jobs.wakeup); workers wait on it.
    job_ready: Doorbell = field(default_factory=Doorbell)

    @classmethod
    def build(cls, settings: Settings, clock: Clock = system_clock) -> Runtime:
        """Create the data dir, engine, keyring and blob store for ``settings``."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # qpdf's parser limits are process-wide: set once for every PDF read here
        set_pdf_parser_limits(settings.max_pdf_nesting, settings.max_pdf_stream_bytes)
        secret = (
            settings.secret_key.get_secret_value().encode()
            if settings.secret_key is not None
            else _load_or_create_secret(settings.data_dir / "secret.key")
        )
        engine = make_engine(settings.resolved_database_url)
        sessions = make_session_factory(engine)
        doorbell = Doorbell()
        install(sessions, doorbell, notify=engine.dialect.name == "postgresql")
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            job_ready=doorbell,
            keyring=Keyring(secret),
            files=open_blob_store(settings),
            seal_keys=SealKeys(settings),
            clock=clock,
        )

    @property
    def otp_rules(self) -> OtpRules:
        """Code limits from the settings."""
        from datetime import timedelta

        s = self.settings
        return OtpRules(
            ttl=timedelta(seconds=s.otp_ttl_seconds),
            max_attempts=s.otp_max_attempts,
            resend_interval=timedelta(seconds=s.otp_resend_interval_seconds),
            max_sends=s.otp_max_sends,
            max_sends_per_contact=s.otp_max_sends_per_contact,
        )

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error.

        ``write=False`` for work that mostly reads (a GET): on SQLite it does not take the
        single write lock up front (db/engine.py); PostgreSQL makes no difference.
        """
        with self.sessions() as session, session.begin():
            if not write:
                session.connection(execution_options={READ_MOSTLY: True})
            yield session

    @cached_property
    def audit_log(self) -> LogIdentity:
        """Who signs the audit log's checkpoints: the key derived from the deployment
        secret, and the origin line (the public host) that names the log."""
        host = urlsplit(self.settings.public_url).netloc or "medsign"
        return LogIdentity(NoteKey.from_keyring(self.keyring), f"{host}/audit")

    @cached_property
    def page_images(self) -> PageImages:
        """Page images of documents for the viewer, kept under ``<data_dir>/cache/pages``
        within ``MEDSIGN_PAGE_IMAGE_CACHE_MB``."""
        return PageImages(
            self.files,
            self.settings.data_dir / "cache" / "pages",
            max_bytes=self.settings.page_image_cache_mb * 1024 * 1024,
        )

    def signing_url(self, token: str, base: str | None = None) -> str:
        """The public link a signer opens (``base``: the organization's own address)."""
        return f"{(base or self.settings.public_url).rstrip('/')}/s/{token}"

    def cabinet_url(self) -> str:
        """The public address of the patient cabinet."""
        return f"{self.settings.public_url.rstrip('/')}/cabinet"

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()
