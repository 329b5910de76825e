"""Service settings, read from the environment (``MEDSIGN_*``) and an optional ``.env``.

Built once, in ``create_app()`` or by the CLI; never at import time. The names and
defaults of the documented variables are part of the stable contract (shared/API.md).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from medsign.storage.location import parse_storage_url


class Settings(BaseSettings):
    """Everything configurable about one medsign process."""

    model_config = SettingsConfigDict(env_prefix="MEDSIGN_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./medsign-data")
    # The page images drawn for the viewer (data_dir/cache/pages) are kept under this
    # many MiB, least recently used documents removed first (docs/operations.md);
    # 0: no limit.
    page_image_cache_mb: int = Field(default=1024, ge=0)
    database_url: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    smtp_url: SecretStr | None = None
    smtp_from: str = "medsign <no-reply@medsign.localhost>"
    sms_url: str | None = None
    sms_token: SecretStr | None = None
    # Notifications (docs/notifications.md): DKIM signing of email (RFC 6376) when a key
    # file is set; SMS provider by MEDSIGN_SMS_URL scheme (docs/sms-gateway.md); Telegram
    # bot; how long each channel may take to report "delivered" before the next one is
    # tried (0: the channel's acceptance counts as delivered).
    dkim_key_file: Path | None = None
    dkim_selector: str = "medsign"
    dkim_domain: str | None = None
    sms_from: str | None = None
    # Secret (whsec_...) with which the HTTP gateway signs delivery reports (Standard
    # Webhooks); Twilio and SMS.ru reports are checked with MEDSIGN_SMS_TOKEN instead, and
    # Kavenegar's are confirmed by its status lookup with that key.
    sms_callback_secret: SecretStr | None = None
    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_bot_name: str | None = None
    notify_deadline_push_seconds: float = Field(default=300.0, ge=0)
    notify_deadline_telegram_seconds: float = Field(default=0.0, ge=0)
    notify_deadline_email_seconds: float = Field(default=0.0, ge=0)
    notify_deadline_sms_seconds: float = Field(default=900.0, ge=0)
    # A channel's retryable failures are retried (worker backoff) this many times, then
    # the next channel is tried.
    notify_channel_attempts: int = Field(default=5, ge=1, le=12)
    webhook_allow_private: bool = False
    # Identity providers ([idp]): allow http:// issuers on loopback (development, tests),
    # and how long one request to a provider may take before the patient is told to retry.
    idp_allow_http: bool = False
    idp_timeout_seconds: float = Field(default=10.0, gt=0)
    # External qualified signatures (docs/external-signatures.md): the CAs whose
    # certificates medsign accepts (a PEM/DER file or a directory of them); unset: none.
    external_trust_roots: Path | None = None
    # CSC remote signing services: http:// base URLs on loopback (development, tests),
    # base URLs on loopback/private/link-local addresses (tests, on-premises services;
    # refused otherwise, like webhook URLs), and how long one call may take.
    csc_allow_http: bool = False
    csc_allow_private: bool = False
    csc_timeout_seconds: float = Field(default=30.0, gt=0)
    webhook_backoff: float = 5.0
    # Each webhook attempt waits this long for an answer (a timeout is retried).
    webhook_timeout_seconds: float = 10.0
    # Deliveries are retried for this long after they were queued, then dead-lettered.
    webhook_retry_hours: float = 72.0
    # Keyed hashes of tokens, links and codes use this key; generated under data_dir
    # on first start when unset (every process of one deployment must share it).
    secret_key: SecretStr | None = None
    # Production seal keys (PEM files); unset -> a development CA and a seal per
    # organization are created under data_dir/keys.
    seal_key_file: Path | None = None
    seal_cert_file: Path | None = None
    seal_chain_files: list[Path] = Field(default_factory=list)
    # Clinician devices (docs/clinician-devices.md): the CA that certifies device keys
    # (unset: a development clinician CA under data_dir/keys/clinician-ca), how long a
    # device certificate is valid, how long an enrollment link and a signing request live.
    clinician_ca_key_file: Path | None = None
    clinician_ca_cert_file: Path | None = None
    clinician_ca_chain_files: list[Path] = Field(default_factory=list)
    clinician_certificate_days: int = Field(default=365, ge=1, le=825)
    clinician_enrollment_hours: float = Field(default=72.0, gt=0)
    device_request_ttl_hours: float = Field(default=24.0, gt=0)
    # RFC 3161 time-stamping authority for PAdES B-T; unset -> the built-in TSA, whose
    # certificate is issued by the development CA under data_dir/keys/tsa.
    tsa_url: str | None = None
    tsa_timeout_seconds: float = 10.0
    # Requests per minute and API token to /api/v1 (bursts up to the same number).
    api_rate_per_minute: int = 600
    # Requests per minute and client address to the public verification endpoints.
    verify_rate_per_minute: int = 60
    # Console login attempts per client address and minute, per web process (docs/console.md).
    console_login_per_minute: int = Field(default=20, ge=1)
    # Console sends whose files are larger in all, or need LibreOffice, are converted by
    # a job whose status the page polls (docs/console.md).
    console_convert_job_bytes: int = Field(default=5 * 1024 * 1024, ge=0)
    # Bounded work per verification (medsign.pdf.isolated): signature fields examined,
    # time and memory of the child process that checks one file, children at once.
    verify_max_signatures: int = Field(default=50, ge=1, le=10_000)
    verify_time_limit_seconds: float = Field(default=20.0, gt=0)
    verify_memory_mb: int = Field(default=1024, ge=64)
    verify_processes: int = Field(default=2, ge=1)
    max_upload_bytes: int = 50 * 1024 * 1024
    max_pages: int = 2000
    # Intake limits (docs/intake.md), checked before expensive parsing.
    max_upload_files: int = 20
    max_image_pixels: int = 100_000_000
    max_conversion_seconds: float = 60.0
    # Arrays/dictionaries nested deeper than this in a PDF are refused (qpdf's parser).
    max_pdf_nesting: int = Field(default=100, ge=10, le=10_000)
    # The most one PDF stream may decode to (compression bombs), bytes.
    max_pdf_stream_bytes: int = Field(default=128 * 1024 * 1024, ge=1024 * 1024)
    # Path of LibreOffice's ``soffice``; unset -> looked up on PATH.
    soffice_path: str | None = None
    envelope_ttl_days: int = 14
    # Reminders to signers who have not acted: hours after the invitation, comma-separated.
    reminder_hours: str = "24,72,168"
    otp_ttl_seconds: int = 600
    otp_max_attempts: int = 5
    otp_resend_interval_seconds: int = 30
    otp_max_sends: int = 5
    # Codes per phone or email in 24 hours, across every link (a resend renews a
    # signer's allowance; this cap keeps that from becoming a guessing path).
    otp_max_sends_per_contact: int = Field(default=20, ge=1)
    # An idle worker looks for jobs this often when no wake-up arrives (a commit in this
    # process, or a PostgreSQL NOTIFY from another: docs/operations.md).
    worker_poll_seconds: float = 0.5
    # Jobs one worker runs at once, in threads (SMS, email and webhooks wait on the network).
    worker_concurrency: int = Field(default=8, ge=1, le=256)
    # Processes for the CPU-bound jobs (seal, evidence); unset: one per core; 0: none,
    # they run in the worker's threads.
    worker_processes: int | None = Field(default=None, ge=0, le=256)
    # A claimed job whose worker died is taken again after this many seconds.
    worker_lease_seconds: float = 120.0
    # Jobs that finished successfully are deleted after this many days (dead ones stay).
    job_retention_days: float = Field(default=7.0, gt=0)
    in_process_worker: bool = True
    # Patient cabinet (docs/cabinet.md): attach codes live this long; a device stays
    # logged in this many days after its last visit; login codes per client address
    # and hour; wrong attach codes allowed per account and per address before a lockout
    # of ``cabinet_attach_lockout_minutes``; attach codes per patient card and day.
    cabinet_attach_code_ttl_hours: float = Field(default=72.0, gt=0)
    cabinet_session_days: float = Field(default=30.0, gt=0)
    cabinet_codes_per_ip_per_hour: int = Field(default=30, ge=1)
    cabinet_attach_failures_per_account: int = Field(default=5, ge=1)
    cabinet_attach_failures_per_ip: int = Field(default=20, ge=1)
    cabinet_attach_lockout_minutes: float = Field(default=60.0, gt=0)
    cabinet_attach_codes_per_patient_per_day: int = Field(default=10, ge=1)
    # An online slot stays held for the patient this long after "Book" while they sign
    # the telemedicine consent (docs/cabinet.md "Online visits").
    telemedicine_hold_minutes: float = Field(default=15.0, gt=0)
    default_lang: Literal["en", "ru", "fa"] = "ru"
    # IANA time zone in which signature blocks show the signing time (with its offset).
    time_zone: str = "Europe/Moscow"
    demo: bool = False
    # Where documents are stored: unset -> data_dir/files; s3://bucket/prefix -> S3-compatible
    # object storage, reached at s3_endpoint_url (unset: AWS), credentials as boto3 reads them.
    storage_url: str | None = None
    s3_endpoint_url: str | None = None

    @field_validator("storage_url")
    @classmethod
    def _check_storage_url(cls, value: str | None) -> str | None:
        parse_storage_url(value)  # ValueError names MEDSIGN_STORAGE_URL and what is wrong
        return value

    @field_validator("external_trust_roots")
    @classmethod
    def _check_trust_roots(cls, value: Path | None) -> Path | None:
        if value is not None and not value.exists():
            raise ValueError(f"MEDSIGN_EXTERNAL_TRUST_ROOTS: {value} does not exist")
        return value

    @field_validator("s3_endpoint_url")
    @classmethod
    def _check_s3_endpoint_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("MEDSIGN_S3_ENDPOINT_URL must be an http:// or https:// URL")
        return value or None

    # Show messages (with their codes) at /dev/outbox; `serve --demo` turns it on. Never
    # when a real channel is set, never to a request that came through a proxy.
    enable_dev_outbox: bool = Field(
        default=False, validation_alias=AliasChoices("enable_dev_outbox", "MEDSIGN_DEV_OUTBOX")
    )

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL; defaults to a SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'medsign.sqlite3').resolve()}"

    @property
    def reminder_delays(self) -> list[timedelta]:
        """The reminder schedule; empty when ``reminder_hours`` is empty."""
        return [timedelta(hours=float(h)) for h in self.reminder_hours.split(",") if h.strip()]

    @property
    def dev_outbox(self) -> bool:
        """True when the dev outbox is enabled (``MEDSIGN_DEV_OUTBOX``) and no real
        channel is set: messages (with their codes) are shown at ``/dev/outbox``
        (shared/API.md). With one channel set, the other's messages are only logged."""
        return self.enable_dev_outbox and self.smtp_url is None and self.sms_url is None
