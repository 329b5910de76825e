"""Domain error tree.

Services raise these; ``medsign.web`` maps each class once to an RFC 9457 problem
response (``application/problem+json``).  This module imports nothing of ours.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error a service raises on purpose.

    ``type_slug`` becomes the problem ``type`` (``/problems/<slug>``), ``status`` the
    HTTP status; ``detail`` is a human sentence that says what to do next.
    """

    status: ClassVar[int] = 400
    type_slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    @property
    def slug(self) -> str:
        """The problem ``type`` after ``/problems/`` (a subclass may refine it per case)."""
        return self.type_slug


class InvalidInput(DomainError):
    """The request is well-formed but a value in it is not acceptable."""

    status = 422
    type_slug = "invalid-input"
    title = "Invalid input"


class InvalidDocument(DomainError):
    """An uploaded file is not a document medsign can sign (not a PDF, corrupt, ...)."""

    status = 422
    type_slug = "invalid-document"
    title = "The file is not a usable document"


class EncryptedDocument(InvalidDocument):
    """The PDF is encrypted and cannot be opened without a password."""

    type_slug = "encrypted-document"
    title = "The document is encrypted"


class LimitExceeded(DomainError):
    """An upload is over a configured limit (size, pages, pixels)."""

    status = 413
    type_slug = "limit-exceeded"
    title = "Upload over a limit"


class Unauthorized(DomainError):
    """No valid API token."""

    status = 401
    type_slug = "unauthorized"
    title = "Unauthorized"


class Forbidden(DomainError):
    """A valid token that may not do this (e.g. a branch token managing branches)."""

    status = 403
    type_slug = "forbidden"
    title = "Forbidden"


class NotFound(DomainError):
    """The object does not exist or belongs to another organization."""

    status = 404
    type_slug = "not-found"
    title = "Not found"


class Conflict(DomainError):
    """The object is in a state that does not allow the action."""

    status = 409
    type_slug = "conflict"
    title = "Conflict"


class LinkExpired(DomainError):
    """A signing link is unknown, expired or no longer usable."""

    status = 410
    type_slug = "link-expired"
    title = "The link is no longer valid"


class CodeRejected(DomainError):
    """A one-time code is wrong, expired or locked after too many tries."""

    status = 422
    type_slug = "code-rejected"
    title = "The code was not accepted"


class TooManyRequests(DomainError):
    """A rate limit (for example code resends) was hit."""

    status = 429
    type_slug = "too-many-requests"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after


class PolicyViolation(DomainError):
    """The request breaks the signature policy for the document kind.

    The problem ``type`` names the rule (``/problems/policy/<rule>``), ``rule`` and
    ``accepted_methods`` say what would satisfy it.
    """

    status = 422
    type_slug = "policy-violation"
    title = "Signature policy violated"

    @property
    def slug(self) -> str:
        """``policy/<rule>``."""
        return f"policy/{self.extra.get('rule', 'violation')}"


class IdempotencyMismatch(DomainError):
    """An Idempotency-Key was reused with a different request body."""

    status = 422
    type_slug = "idempotency-key-reused"
    title = "Idempotency key reused with a different request"


# --- intake (issue 3): one subclass per reason an upload is refused -------------------


class EmptyFile(InvalidDocument):
    """An uploaded file has no bytes."""

    type_slug = "empty-file"
    title = "The file is empty"


class UnsupportedFileType(InvalidDocument):
    """The bytes are not a format medsign takes (HTML, a plain ZIP, garbage, ...)."""

    status = 415
    type_slug = "unsupported-file-type"
    title = "The file type is not supported"


class ContentTypeMismatch(InvalidDocument):
    """The declared content type names another kind of file than the bytes are."""

    type_slug = "content-type-mismatch"
    title = "The content type does not match the file"


class InvalidFilename(InvalidDocument):
    """A file name carries path separators or control characters."""

    type_slug = "invalid-filename"
    title = "The file name is not acceptable"


class DamagedDocument(InvalidDocument):
    """A PDF is damaged beyond what a safe repair can restore."""

    type_slug = "damaged-document"
    title = "The document is damaged"


class NoPages(InvalidDocument):
    """A PDF without a single page."""

    type_slug = "no-pages"
    title = "The document has no pages"


class ActiveContent(InvalidDocument):
    """A PDF carries JavaScript or launch actions (what is shown could change)."""

    type_slug = "active-content"
    title = "The document contains scripts or actions"


class MacroDocument(InvalidDocument):
    """An office document carries macros (VBA / Basic)."""

    type_slug = "macro-document"
    title = "The document contains macros"


class WrongPassword(EncryptedDocument):
    """The password given for an encrypted PDF does not open it."""

    type_slug = "wrong-password"
    title = "The password is wrong"


class CertificateEncrypted(EncryptedDocument):
    """A PDF encrypted for certificate holders (public-key security handler)."""

    type_slug = "certificate-encrypted"
    title = "The document is encrypted for specific recipients"


class CertifiedNoChanges(InvalidDocument):
    """A certified PDF whose DocMDP permissions forbid any change, signatures included."""

    type_slug = "certified-no-changes"
    title = "The document is certified against any change"


class SignedDocumentMustBeAlone(InvalidDocument):
    """A signed PDF would have to be rewritten (merged, repaired, decrypted)."""

    type_slug = "signed-document-must-be-alone"
    title = "A signed document cannot be changed"


class ConverterUnavailable(InvalidDocument):
    """The converter a format needs (LibreOffice) is not installed on this server."""

    type_slug = "converter-unavailable"
    title = "This server cannot convert the file"


class ConversionFailed(InvalidDocument):
    """The converter ran but produced no usable PDF."""

    type_slug = "conversion-failed"
    title = "The file could not be converted"


class ConversionTimeLimit(LimitExceeded):
    """A conversion took longer than the configured limit."""

    status = 422


# --- storage (issue [scale]): what a request meets when document storage fails -------


class StorageUnavailable(DomainError):
    """Document storage (disk or S3-compatible) does not answer now; try again later.

    503 with ``Retry-After`` (RFC 9110 §15.6.4, §10.2.3); nothing was written.
    """

    status = 503
    type_slug = "storage-unavailable"
    title = "Document storage is unavailable"

    def __init__(self, detail: str, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after


class StoredFileLost(DomainError):
    """A file medsign stored is missing or no longer matches its SHA-256.

    A fault on the server's side that retrying does not fix: the operator must restore
    the file from a backup (the problem names its digest).
    """

    status = 500
    type_slug = "stored-file-lost"
    title = "A stored file is missing or damaged"


# --- bounded work on public endpoints ([harden]) ----------------------------------------


class VerificationLimit(LimitExceeded):
    """Checking an uploaded PDF would take more work than one request may (the
    ``limit`` extra names the setting: signatures, time or memory)."""

    status = 422
    type_slug = "verification-limit"
    title = "The file needs more checking than one request may do"


class ServiceBusy(DomainError):
    """Every slot for CPU-heavy work is taken; the client should retry later."""

    status = 503
    type_slug = "busy"
    title = "The service is busy"

    def __init__(self, detail: str, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after


# --- identity providers ([idp]) ---------------------------------------------------------


class ProviderUnavailable(DomainError):
    """An identity provider did not answer in time or answered with an error; the
    patient may try again later (503 with ``Retry-After``, RFC 9110 §15.6.4)."""

    status = 503
    type_slug = "identity-provider-unavailable"
    title = "The identity provider is unavailable"

    def __init__(self, detail: str, retry_after: int = 60, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after


class SmsProviderUnavailable(DomainError):
    """The SMS provider could not be asked about a delivery report now; it may post the
    callback again (503 with ``Retry-After``, RFC 9110 §15.6.4); nothing was written."""

    status = 503
    type_slug = "sms-provider-unavailable"
    title = "The SMS provider is unavailable"

    def __init__(self, detail: str, retry_after: int = 60, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after


class LoginRejected(DomainError):
    """A login at an identity provider cannot sign: cancelled, out of date, forged,
    replayed or someone else's. ``reason`` names which; nothing was signed."""

    status = 403
    type_slug = "login-rejected"
    title = "The login cannot be used to sign"

    def __init__(self, detail: str, reason: str, **extra: Any) -> None:
        super().__init__(detail, reason=reason, **extra)
        self.reason = reason


# --- usage metering ([notify]) ----------------------------------------------------------


class PlanLimitReached(DomainError):
    """The organization used its monthly allowance of a metric (``metric``, ``limit``,
    ``used``, ``resets_on``). 402 Payment Required (RFC 9110 §15.5.3): waiting a few
    seconds does not help, raising the limit or the next month does."""

    status = 402
    type_slug = "plan-limit"
    title = "Plan limit reached"


# --- clinician devices (issue [clinician]) --------------------------------------------


class ProofOfPossessionFailed(InvalidInput):
    """A certificate request whose self-signature does not verify (RFC 2986 §3)."""

    type_slug = "proof-of-possession-failed"
    title = "Proof of possession failed"


class SignatureInvalid(InvalidInput):
    """A device's signature does not verify against its certificate over what was asked."""

    type_slug = "signature-invalid"
    title = "Signature does not verify"


class DeviceRevoked(Forbidden):
    """The device's certificate is revoked or expired: it must be enrolled again."""

    type_slug = "device-revoked"
    title = "Device revoked"


class WrongWorkplace(Forbidden):
    """A device asked to act on a request for another device or workplace."""

    type_slug = "wrong-workplace"
    title = "Another workplace's request"


class RequestExpired(LinkExpired):
    """A signing request past its time, or whose envelope can no longer be signed."""

    type_slug = "request-expired"
    title = "Request expired"


class RequestDecided(Conflict):
    """A signing request that was already approved or declined (a replay)."""

    type_slug = "request-decided"
    title = "Request already decided"


class DocumentChanged(Conflict):
    """Another signature landed on the PDF after the request was prepared; a new
    request is prepared on the new PDF and the old ``to_sign`` is refused."""

    type_slug = "document-changed"
    title = "Document changed"


class AuthenticatorRejected(Forbidden):
    """A WebAuthn registration or assertion did not verify: missing, made over something
    else, from an unknown credential, without user verification, or replayed."""

    type_slug = "authenticator-rejected"
    title = "The authenticator's confirmation was not accepted"


# --- external qualified signatures ([clinician] point 5) --------------------------------


class ExternalSignatureRejected(DomainError):
    """An uploaded external signature (signed PDF or detached CMS) cannot be accepted;
    ``reason`` names why (docs/external-signatures.md lists them). Nothing was recorded."""

    status = 422
    type_slug = "external-signature-rejected"
    title = "The external signature cannot be accepted"

    def __init__(self, detail: str, reason: str, **extra: Any) -> None:
        super().__init__(detail, reason=reason, **extra)
        self.reason = reason


class SigningServiceUnavailable(DomainError):
    """A remote signing service (CSC API) did not answer or refused the request; nothing
    was signed (502: the upstream failed, RFC 9110 §15.6.3)."""

    status = 502
    type_slug = "signing-service-failed"
    title = "The remote signing service failed"
