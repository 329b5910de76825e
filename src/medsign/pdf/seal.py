"""Sealing entry points: the fast path, the pyHanko reference path, reading evidence."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pikepdf

from medsign.errors import InvalidDocument
from medsign.pdf.block import SignatureBlock
from medsign.pdf.incremental import Unsupported, seal_incremental
from medsign.pdf.parts import EVIDENCE_RE, SealRequest
from medsign.pdf.reference import run_sync, seal_with_pyhanko
from medsign.pdf.timestamp import Timestamper, TimestampError
from medsign.pki import SealKey

__all__ = ["SealRequest", "SignatureBlock", "read_evidence", "seal_pdf", "seal_pdf_reference"]

log = logging.getLogger(__name__)


def seal_pdf(
    pdf: bytes, key: SealKey, request: SealRequest, timestamper: Timestamper | None = None
) -> bytes:
    """Seal ``pdf`` with a visible block and embedded evidence.

    PAdES B-B, or B-T with a ``timestamper`` (RFC 3161 signature-time-stamp,
    ETSI EN 319 142-1 §6.3). Takes the fast path (:mod:`medsign.pdf.incremental`)
    and falls back to :func:`seal_pdf_reference` for inputs it does not handle.
    A TSA that cannot be reached raises :class:`TimestampError`.
    """
    try:
        return seal_incremental(pdf, key, request, timestamper)
    except Unsupported as exc:
        log.info("fast sealing path not applicable (%s); using pyHanko", exc)
        return seal_pdf_reference(pdf, key, request, timestamper)


def seal_pdf_reference(
    pdf: bytes, key: SealKey, request: SealRequest, timestamper: Timestamper | None = None
) -> bytes:
    """Seal with pyHanko (same block and evidence); the fallback and the test oracle."""
    try:
        return run_sync(seal_with_pyhanko(pdf, key, request, timestamper))
    except TimestampError:
        raise
    except (InvalidDocument, ValueError) as exc:
        raise InvalidDocument(f"The document cannot be signed: {exc}") from exc
    except Exception as exc:
        from pyhanko.pdf_utils.misc import PdfError

        if isinstance(exc, PdfError):
            raise InvalidDocument(f"The document cannot be signed: {exc}") from exc
        raise


def read_evidence(pdf: bytes) -> dict[str, dict[str, Any]]:
    """Evidence JSON of every medsign signature in the file, by signature field name.

    Looks at the associated files (/AF) of each signature widget's appearance and,
    for robustness, of file attachment annotations.
    """
    result: dict[str, dict[str, Any]] = {}
    try:
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            for spec in _candidate_filespecs(doc):
                item = _evidence_of(spec)
                if item is not None:
                    result.setdefault(item[0], item[1])
    except pikepdf.PdfError as exc:
        raise InvalidDocument("The file is not a readable PDF.") from exc
    return result


def _candidate_filespecs(doc: pikepdf.Pdf) -> Iterator[pikepdf.Object]:
    form = doc.Root.get("/AcroForm")
    if not isinstance(form, pikepdf.Dictionary):
        return
    todo = list(form.get("/Fields", pikepdf.Array()))
    seen = 0
    while todo and seen < 100_000:
        seen += 1
        field = todo.pop()
        if not isinstance(field, pikepdf.Dictionary):
            continue
        todo.extend(field.get("/Kids", pikepdf.Array()))
        yield from _filespecs_of_annot(field)


def _filespecs_of_annot(annot: pikepdf.Dictionary) -> Iterator[pikepdf.Object]:
    if annot.get("/Subtype") == pikepdf.Name.FileAttachment and "/FS" in annot:
        yield annot["/FS"]
    ap = annot.get("/AP")
    normal = ap.get("/N") if isinstance(ap, pikepdf.Dictionary) else None
    if isinstance(normal, pikepdf.Stream):
        associated = normal.get("/AF")
        if isinstance(associated, pikepdf.Array):
            yield from associated


def _evidence_of(spec: pikepdf.Object) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(spec, pikepdf.Dictionary):
        return None
    name = str(spec.get("/UF", spec.get("/F", "")))
    match = EVIDENCE_RE.match(name)
    ef = spec.get("/EF")
    if match is None or not isinstance(ef, pikepdf.Dictionary):
        return None
    stream = ef.get("/UF", ef.get("/F"))
    if not isinstance(stream, pikepdf.Stream):
        return None
    try:
        data = json.loads(stream.read_bytes())
    except (ValueError, pikepdf.PdfError):
        return None
    if not isinstance(data, dict):
        return None
    return match.group(1), data
