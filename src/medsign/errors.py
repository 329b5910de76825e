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
    """The request breaks the signature policy for the document kind."""

    status = 422
    type_slug = "policy-violation"
    title = "Signature policy violated"


class IdempotencyMismatch(DomainError):
    """An Idempotency-Key was reused with a different request body."""

    status = 422
    type_slug = "idempotency-key-reused"
    title = "Idempotency key reused with a different request"
