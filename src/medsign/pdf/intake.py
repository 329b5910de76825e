"""Intake checks for uploaded PDFs: readable, not encrypted, within limits.

The bytes are inspected, never rewritten: what the patient sees is what is signed.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import pikepdf

from medsign.errors import EncryptedDocument, InvalidDocument, LimitExceeded


@dataclass(frozen=True)
class PdfInfo:
    """Facts about an accepted PDF."""

    pages: int
    sha256: str
    has_signatures: bool


def inspect_pdf(data: bytes, *, max_pages: int = 2000) -> PdfInfo:
    """Check that ``data`` is a sound PDF and describe it.

    Raises :class:`InvalidDocument` (not a PDF, corrupt, no pages),
    :class:`EncryptedDocument` (needs a password or a certificate to open) or
    :class:`LimitExceeded` (more than ``max_pages`` pages); nothing else.
    """
    if b"%PDF-" not in data[:1024]:
        raise InvalidDocument("The file is not a PDF.")
    try:
        return _inspect(data, max_pages)
    except (InvalidDocument, LimitExceeded):
        raise
    except pikepdf.PasswordError as exc:
        raise EncryptedDocument(
            "The PDF is protected with a password; upload an unprotected copy."
        ) from exc
    except (pikepdf.PdfError, pikepdf.DataDecodingError) as exc:
        if b"/Encrypt" in data:
            # e.g. a public-key security handler (ISO 32000-1 §7.6.4) qpdf cannot open
            raise EncryptedDocument(
                "The PDF is encrypted for specific recipients; upload an unprotected copy."
            ) from exc
        raise InvalidDocument("The PDF is damaged and cannot be read.") from exc
    except Exception as exc:  # anything odd from the parser on hostile input
        raise InvalidDocument("The PDF cannot be read.") from exc


def _inspect(data: bytes, max_pages: int) -> PdfInfo:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        if pdf.is_encrypted:
            # Opened with the empty user password: still encrypted content we would
            # have to rewrite to show and sign consistently.
            raise EncryptedDocument("The PDF is encrypted; upload an unprotected copy.")
        try:
            count = len(pdf.pages)
        except Exception as exc:
            raise InvalidDocument("The PDF page tree is damaged.") from exc
        if count == 0:
            raise InvalidDocument("The PDF has no pages.")
        if count > max_pages:
            raise LimitExceeded(
                f"The PDF has {count} pages; at most {max_pages} are accepted.",
                pages=count,
                max_pages=max_pages,
            )
        if pdf.get_warnings() and b"%%EOF" not in data[-1024:]:
            # qpdf rebuilt the cross-reference table of a file cut short (an upload
            # that did not finish): refuse it rather than sign half a document.
            raise InvalidDocument("The PDF is truncated; upload the complete file.")
        has_sigs = _has_signatures(pdf)
    return PdfInfo(pages=count, sha256=hashlib.sha256(data).hexdigest(), has_signatures=has_sigs)


def _has_signatures(pdf: pikepdf.Pdf) -> bool:
    form = pdf.Root.get("/AcroForm")
    if not isinstance(form, pikepdf.Dictionary):
        return False
    todo = list(form.get("/Fields", pikepdf.Array()))
    seen = 0
    while todo and seen < 10000:
        seen += 1
        field = todo.pop()
        if not isinstance(field, pikepdf.Dictionary):
            continue
        if field.get("/FT") == pikepdf.Name.Sig and "/V" in field:
            return True
        todo.extend(field.get("/Kids", pikepdf.Array()))
    return False
