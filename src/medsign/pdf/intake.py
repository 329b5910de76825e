"""Intake: any file a clinic has becomes one normalized PDF, or a clear refusal.

:func:`normalize` is the entry point (docs/intake.md tells the rules):

1. cheap checks on every file first — count, total size, file name, the bytes' real
   type (:mod:`medsign.pdf.sniff`), declared type, macros — so nothing expensive is
   parsed for a request that is going to be refused;
2. each file becomes PDF pages: PDFs are opened (decrypted with the ``password``,
   repaired by qpdf when the damage is recoverable), images are laid out
   (:mod:`medsign.pdf.images`), word processor files are converted
   (:mod:`medsign.pdf.convert`); every PDF is checked for pages, active content and
   DocMDP certification;
3. a single sound PDF is kept byte for byte (signatures, forms, PDF/A stay intact);
   images alone are written by :mod:`medsign.pdf.writer` (the image data copied once,
   into the result); anything else is written anew by qpdf (:mod:`medsign.pdf.merge`),
   with one bookmark per source when several files are glued (each source's own
   bookmarks nested under it).

:func:`inspect_pdf` checks one PDF without changing it (used for PDFs medsign signs).
Every failure is a :class:`~medsign.errors.DomainError`; nothing else escapes.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import BinaryIO

import pikepdf

from medsign.errors import (
    ActiveContent,
    CertificateEncrypted,
    CertifiedNoChanges,
    DamagedDocument,
    DomainError,
    EncryptedDocument,
    InvalidDocument,
    InvalidInput,
    LimitExceeded,
    NoPages,
    SignedDocumentMustBeAlone,
    WrongPassword,
)
from medsign.pdf import sniff
from medsign.pdf.convert import office_to_pdf
from medsign.pdf.image_pixels import check_image_pixels
from medsign.pdf.images import image_pages, open_pages
from medsign.pdf.merge import merge_pdfs, rewrite_pdf
from medsign.pdf.writer import PageGroup, write_pdf


@dataclass(frozen=True)
class PdfInfo:
    """Facts about an accepted PDF."""

    pages: int
    sha256: str
    has_signatures: bool


@dataclass(frozen=True)
class IntakeLimits:
    """Configured limits (``MEDSIGN_MAX_*`` settings)."""

    max_bytes: int = 50 * 1024 * 1024
    max_files: int = 20
    max_pages: int = 2000
    max_image_pixels: int = 100_000_000
    conversion_seconds: float = 60.0
    soffice: str | None = None
    max_pdf_nesting: int = 100
    max_pdf_stream_bytes: int = 128 * 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    """One uploaded file as received."""

    filename: str
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class SourceInfo:
    """What is recorded about one source file."""

    filename: str
    media_type: str
    size: int
    sha256: str
    pages: int


@dataclass(frozen=True)
class NormalizedPdf:
    """The one PDF made of the uploaded files."""

    data: bytes
    pages: int
    sources: tuple[SourceInfo, ...]
    kept_as_is: bool
    has_signatures: bool

    @functools.cached_property
    def sha256(self) -> str:
        """SHA-256 of ``data`` (hex), computed on first use: the file store hashes anyway."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class _Part:
    pdf: pikepdf.Pdf | None  # None for an image until it has to be merged with PDFs
    pages: int
    signed: bool
    needs_rewrite: str | None  # why the bytes cannot be kept: "repaired", "decrypted", ...
    images: PageGroup | None = None  # an image's pages, for the writer


def normalize(
    files: Sequence[SourceFile], limits: IntakeLimits, *, password: str | None = None
) -> NormalizedPdf:
    """Turn the uploaded ``files`` (in order) into one normalized PDF.

    Raises :class:`~medsign.errors.DomainError` subclasses only (see docs/intake.md).
    """
    if not files:
        raise InvalidInput("Attach the document as the multipart field `files`.", field="files")
    set_pdf_parser_limits(limits.max_pdf_nesting, limits.max_pdf_stream_bytes)
    if len(files) > limits.max_files:
        raise LimitExceeded(
            f"{len(files)} files were sent; at most {limits.max_files} are accepted at once.",
            limit="max_upload_files",
        )
    total = sum(len(f.data) for f in files)
    if total > limits.max_bytes:
        raise LimitExceeded(
            f"The upload is larger than the limit of {limits.max_bytes} bytes.",
            limit="max_upload_bytes",
        )
    names = [sniff.check_filename(f.filename) if f.filename else "document" for f in files]
    kinds = []
    for f, name in zip(files, names, strict=True):
        found = sniff.sniff(f.data, name)
        sniff.check_declared_type(found, f.content_type, name)
        kinds.append(found.media_type)

    with ExitStack() as keep:  # outlives the parsed files: qpdf's output, if any
        spool: BinaryIO | None = None
        with ExitStack() as stack:
            parts: list[_Part] = []
            pages = 0
            # SHA-256 of each source runs beside the parsing (hashlib releases the GIL):
            # for a 10 MB PDF it is as long as everything else together.
            digests = [_Digest(f.data) for f in files]
            for f, name, kind in zip(files, names, kinds, strict=True):
                part = _to_pdf(f.data, kind, name, limits, password, limits.max_pages - pages)
                if part.pdf is not None:
                    stack.callback(part.pdf.close)
                parts.append(part)
                pages += part.pages
                if pages > limits.max_pages:
                    raise _pages_error(pages, limits.max_pages)
            sources = tuple(
                SourceInfo(
                    filename=name,
                    media_type=kind,
                    size=len(f.data),
                    sha256=digest.result(),
                    pages=part.pages,
                )
                for f, name, kind, part, digest in zip(
                    files, names, kinds, parts, digests, strict=True
                )
            )
            signed = any(p.signed for p in parts)
            kept = len(parts) == 1 and parts[0].needs_rewrite is None
            if kept:
                data = files[0].data
            elif signed:
                raise _signed_error(parts, names)
            elif all(p.images is not None for p in parts):
                # images only: written by hand, each image's data copied once
                groups = [
                    (n, p.images) for n, p in zip(names, parts, strict=True) if p.images is not None
                ]
                data = write_pdf(groups, bookmarks=len(parts) > 1)
            else:
                spool = keep.enter_context(tempfile.TemporaryFile(prefix="medsign-intake-"))
                try:
                    _write_with_qpdf(parts, names, spool, stack)
                except (pikepdf.PdfError, pikepdf.DataDecodingError) as exc:
                    # qpdf met a broken object only while writing (read lazily before)
                    raise DamagedDocument(
                        f"The upload ({', '.join(repr(n) for n in names)}) holds a damaged "
                        "file that cannot be written as a new PDF; upload complete, "
                        "readable copies."
                    ) from exc
        if spool is not None:
            # Read back only now that the parsed files are closed and dropped: the copies
            # qpdf made of their streams are freed, so they and the result never coexist.
            del part, parts
            spool.seek(0)
            data = spool.read()
    return NormalizedPdf(
        data=data,
        pages=pages,
        sources=sources,
        kept_as_is=kept,
        has_signatures=signed,
    )


def _write_with_qpdf(parts: list[_Part], names: list[str], out: BinaryIO, stack: ExitStack) -> None:
    """Write the parts with qpdf into ``out``: one PDF repaired/decrypted/converted, or
    several glued with one bookmark each; images are opened from the writer's pieces."""
    pdfs = []
    for part in parts:
        if part.pdf is None:
            assert part.images is not None
            part.pdf = open_pages(part.images)
            stack.callback(part.pdf.close)
        pdfs.append(part.pdf)
    if len(pdfs) == 1:
        rewrite_pdf(pdfs[0], out)
    else:
        merge_pdfs(list(zip(names, pdfs, strict=True)), out)


@functools.cache
def _hash_pool() -> ThreadPoolExecutor:
    """Two threads for hashing large sources (created once, on first use)."""
    return ThreadPoolExecutor(2, thread_name_prefix="medsign-sha256")


class _Digest:
    """A SHA-256 (hex) computed now, or in a thread for large data (see normalize)."""

    def __init__(self, data: bytes) -> None:
        self._value: str | None = None
        self._future: Future[str] | None = None
        if len(data) < 1_000_000:
            self._value = hashlib.sha256(data).hexdigest()
        else:
            self._future = _hash_pool().submit(lambda: hashlib.sha256(data).hexdigest())

    def result(self) -> str:
        """The hex digest (waits for the thread if there is one)."""
        if self._value is None:
            assert self._future is not None
            self._value = self._future.result()
        return self._value


def _signed_error(parts: list[_Part], names: list[str]) -> SignedDocumentMustBeAlone:
    index = next(i for i, p in enumerate(parts) if p.signed)
    why = parts[index].needs_rewrite
    if len(parts) > 1:
        return SignedDocumentMustBeAlone(
            f"The file {names[index]!r} already carries signatures; gluing it with other "
            "files would break them. Send it alone, as a document of its own.",
            file=names[index],
        )
    return SignedDocumentMustBeAlone(
        f"The file {names[index]!r} already carries signatures but would have to be "
        f"{why} to be used, which would break them. Send an intact, unencrypted copy.",
        file=names[index],
    )


def _to_pdf(
    data: bytes,
    kind: str,
    name: str,
    limits: IntakeLimits,
    password: str | None,
    pages_left: int,
) -> _Part:
    if kind == sniff.PDF:
        return open_pdf(
            data,
            name,
            password=password,
            max_pages=pages_left,
            max_image_pixels=limits.max_image_pixels,
        )
    if kind in sniff.IMAGE_TYPES:
        group = image_pages(
            data,
            kind,
            name,
            max_pixels=limits.max_image_pixels,
            max_pages=pages_left,
        )
        return _Part(None, len(group.pages), signed=False, needs_rewrite="converted", images=group)
    converted = office_to_pdf(
        data, kind, name, timeout=limits.conversion_seconds, soffice=limits.soffice
    )
    part = open_pdf(
        converted,
        name,
        password=None,
        max_pages=pages_left,
        max_image_pixels=limits.max_image_pixels,
    )
    part.needs_rewrite = "converted"
    return part


def _pages_error(count: int, limit: int) -> LimitExceeded:
    return LimitExceeded(
        f"The document would have {count} pages; at most {limit} are accepted.",
        limit="max_pages",
        pages=count,
        max_pages=limit,
    )


# --- one PDF -------------------------------------------------------------------------


def inspect_pdf(data: bytes, *, max_pages: int = 2000) -> PdfInfo:
    """Check that ``data`` is a sound PDF that can be signed as it is, and describe it.

    Raises :class:`InvalidDocument` (not a PDF, damaged, no pages, active content, ...),
    :class:`EncryptedDocument` (encrypted in any way: its bytes would have to be
    rewritten) or :class:`LimitExceeded` (more than ``max_pages`` pages); nothing else.
    """
    if b"%PDF-" not in data[:1024]:
        raise InvalidDocument("The file is not a PDF.")
    part = open_pdf(data, "document", password=None, max_pages=max_pages)
    try:
        if part.needs_rewrite == "decrypted":
            raise EncryptedDocument("The PDF is encrypted; upload an unprotected copy.")
        if part.needs_rewrite is not None:
            raise DamagedDocument("The PDF is damaged or truncated; upload the complete file.")
        return PdfInfo(
            pages=part.pages, sha256=hashlib.sha256(data).hexdigest(), has_signatures=part.signed
        )
    finally:
        if part.pdf is not None:  # always set for a PDF
            part.pdf.close()


def open_pdf(
    data: bytes,
    name: str,
    *,
    password: str | None,
    max_pages: int,
    max_image_pixels: int = 100_000_000,
) -> _Part:
    """Open one PDF for intake: decrypt, judge repairs, check pages, images and active
    content.

    The caller closes ``_Part.pdf``.
    """
    pdf = _open(data, name, password)
    try:
        part = _examine(pdf, data, name, max_pages)
        check_image_pixels(pdf, name, max_image_pixels)
        return part
    except DomainError:
        pdf.close()
        raise
    except Exception as exc:  # lazily parsed objects of a hostile file
        pdf.close()
        raise DamagedDocument(f"The PDF {name!r} is damaged and cannot be read.") from exc


_parser_limits: tuple[int, int] | None = None


def set_pdf_parser_limits(nesting: int, stream_bytes: int) -> None:
    """Set qpdf's process-wide parser limits (pikepdf.settings); idempotent and cheap.

    ``nesting``: arrays and dictionaries nested deeper are refused (qpdf's default is
    499; medsign's default of 100 is far above what producers write and keeps pyHanko's
    recursive parser well inside Python's recursion limit). ``stream_bytes``: the most
    one stream may decode to (Flate, PNG predictors, run-length, TIFF, DCT), so a
    compression bomb in a content stream (a few kB that inflate to gigabytes) fails
    fast instead of filling memory. A file over either is refused with the limit named.
    """
    global _parser_limits
    if (nesting, stream_bytes) != _parser_limits:
        pikepdf.settings.set_qpdf_limits(
            parser_max_nesting=nesting,
            flate_max_memory=stream_bytes,
            png_max_memory=stream_bytes,
            run_length_max_memory=stream_bytes,
            tiff_max_memory=stream_bytes,
            dct_max_memory=stream_bytes,
        )
        _parser_limits = (nesting, stream_bytes)


def _read(data: bytes, password: str) -> pikepdf.Pdf:
    """qpdf's reader over ``data``, from an unlinked temporary file when possible.

    qpdf reads a real file two to three times faster than a Python stream (each of its
    many small reads of a ``BytesIO`` is a call back into Python), and a file in the
    page cache does not count against the process's memory. The name is removed as
    soon as qpdf has the file open, so nothing is left behind, even after a crash.
    """
    try:
        with tempfile.NamedTemporaryFile(prefix="medsign-intake-", suffix=".pdf") as spool:
            spool.write(data)
            spool.flush()
            return pikepdf.open(spool.name, password=password)
    except OSError:  # no usable temporary directory: read from memory
        return pikepdf.open(io.BytesIO(data), password=password)


def _open(data: bytes, name: str, password: str | None) -> pikepdf.Pdf:
    try:
        try:
            return _read(data, password or "")
        except pikepdf.PasswordError:
            if not password:
                raise EncryptedDocument(
                    f"The PDF {name!r} is protected with a password; send it in the "
                    "`password` form field, or upload an unprotected copy."
                ) from None
            try:  # an owner-password-only file opens with the empty user password
                return _read(data, "")
            except pikepdf.PasswordError:
                raise WrongPassword(
                    f"The password does not open the PDF {name!r}; check it and try again."
                ) from None
    except DomainError:
        raise
    except (pikepdf.PdfError, pikepdf.DataDecodingError) as exc:
        if b"/Adobe.PubSec" in data and b"/Encrypt" in data:
            # Public-key security handler (ISO 32000-1 §7.6.4): only the recipients'
            # private keys open it; medsign never holds them. qpdf refuses its filter,
            # so the bytes are searched only then, not for every upload.
            raise CertificateEncrypted(
                f"The PDF {name!r} is encrypted for specific certificate holders; "
                "ask its author for an unencrypted copy."
            ) from exc
        if b"/Encrypt" in data:
            raise EncryptedDocument(
                f"The PDF {name!r} uses an encryption medsign cannot open; "
                "upload an unprotected copy."
            ) from exc
        raise DamagedDocument(
            f"The PDF {name!r} is damaged beyond repair; upload a complete, readable copy."
        ) from exc
    except Exception as exc:
        raise DamagedDocument(f"The PDF {name!r} cannot be read.") from exc


def _examine(pdf: pikepdf.Pdf, data: bytes, name: str, max_pages: int) -> _Part:
    try:
        count = len(pdf.pages)
    except Exception as exc:
        raise DamagedDocument(f"The page tree of {name!r} is damaged.") from exc
    if count == 0:
        raise NoPages(f"The PDF {name!r} has no pages.")
    if count > max_pages:
        raise _pages_error(count, max_pages)
    # qpdf reads objects lazily: an object at a wrong xref offset (ISO 32000-1 §7.5.4),
    # or in an object stream it has to guess at, shows only when it is read (qpdf then
    # warns and rebuilds the table). Read every object now, so that a file is only
    # called sound, and kept byte for byte, when all of it was read without a repair.
    objects = len(pdf.objects)
    plain_names = _check_pages(pdf, name)
    warned = _structural(pdf, pdf.get_warnings())  # after the page walk and object read
    if any("parser-max-nesting" in w for w in warned):
        raise LimitExceeded(
            f"The PDF {name!r} nests arrays or dictionaries more than "
            f"{_parser_limits[0] if _parser_limits else 499} "
            "levels deep; print it to a new PDF and upload that.",
            limit="max_pdf_nesting",
        )
    repaired = (
        bool(warned)
        or b"%%EOF" not in data[-1024:]
        or not plain_names
        or not _xref_intact(pdf, data)
    )
    if repaired:
        _check_encryption_kept(pdf, name)
        _check_repair(pdf, name, count)
    # Walking the objects costs ~10 µs each, the byte scan ~1.5 ms per MB: a file of
    # few, large objects (scans, images) is walked straight away.
    walk = repaired or objects < len(data) // 8000
    reason = _active_content(pdf, data, scan_all=walk)
    if reason:
        raise ActiveContent(
            f"The PDF {name!r} contains {reason}, which could change what is shown after "
            "signing. Print it to a new PDF (or export it without scripts) and upload that."
        )
    _check_docmdp(pdf, name)
    signed = _has_signatures(pdf)
    if pdf.is_encrypted:
        why: str | None = "decrypted"
    elif repaired:
        why = "repaired"
    else:
        why = None
    return _Part(pdf, count, signed=signed, needs_rewrite=why)


_INVALID_ID = "invalid /ID in trailer dictionary"


def _structural(pdf: pikepdf.Pdf, warnings: list[str]) -> list[str]:
    """qpdf's warnings that tell of a repair: all but the one about an encrypted file's /ID.

    The standard security handler's key is derived from the first element of the
    trailer's /ID (ISO 32000-1 §7.6.3.3, Algorithm 2 step d; §7.5.5: /ID is required
    when the file is encrypted). Producers of RC4 files (R 2 and 3, empty user password)
    sometimes leave it out or write something else; qpdf then derives the key from an
    empty string, as poppler does, and warns. Nothing was rebuilt or read differently:
    the file opened with that key (its /U entry checked it, Algorithms 4 and 5), so
    it is decrypted and rewritten like any encrypted file, not judged as a repair.
    """
    if not pdf.is_encrypted:
        return warnings
    return [w for w in warnings if not w.endswith(_INVALID_ID)]


def _check_encryption_kept(pdf: pikepdf.Pdf, name: str) -> None:
    """Refuse a repaired file that lost its encryption: its streams would be ciphertext.

    The /Encrypt entry lives only in the trailer (ISO 32000-1 §7.5.5, §7.6.1). When
    the trailer is damaged beyond reading, qpdf rebuilds one from the catalog it finds,
    without /Encrypt, and reads the still encrypted strings and streams as they are:
    the pages would show noise, yet every check of the repair passes. qpdf's own
    command line refuses such a file ("unable to find trailer dictionary"). Told by an
    encryption dictionary left among the objects (§7.6.1 table 20: a /Filter with the
    standard handler's /O and /U, §7.6.3.2, or the public-key handler's /Recipients or
    crypt filters, §7.6.4); the bytes are not searched for "/Encrypt", which an
    embedded file may hold.
    """
    if not pdf.is_encrypted and any(_is_encryption_dict(obj) for obj in pdf.objects):
        raise DamagedDocument(
            f"The PDF {name!r} is encrypted, but its trailer, which says how, is damaged: "
            "its content cannot be decrypted. Upload a complete, readable copy."
        )


def _is_encryption_dict(obj: pikepdf.Object) -> bool:
    """True for a dictionary shaped like an encryption dictionary (§7.6.1, table 20)."""
    if not isinstance(obj, pikepdf.Dictionary) or not isinstance(obj.get("/Filter"), pikepdf.Name):
        return False
    return ("/O" in obj and "/U" in obj) or "/Recipients" in obj or "/CF" in obj


def _check_pages(pdf: pikepdf.Pdf, name: str) -> bool:
    """Refuse pages without a usable size; say whether every key is plain ASCII.

    Every page needs a /MediaBox, and a /CropBox if it has one, of four numbers
    enclosing an area (ISO 32000-1 §7.7.3.3, §14.11.2): the signature block is drawn
    inside the crop box, and a page without a size is not shown alike by all readers,
    so such a file is refused as damaged.

    The return value is False when a key of the trailer, catalog, form or a page is not
    printable ASCII: ISO 32000-2 §7.3.5 wants bytes outside ``!``..``~`` in names written
    ``#xx``; qpdf reads raw ones, but pyHanko refuses the object, so such a file is
    rewritten (qpdf escapes them). One pass over the pages, boxes read as PDF syntax
    and resolved through pikepdf only when they are not plain numbers.
    """
    form = pdf.Root.get("/AcroForm")
    plain = all(_plain(key) for key in pdf.trailer.keys())  # noqa: SIM118
    plain = plain and all(_plain(key) for key in pdf.Root.keys())  # noqa: SIM118
    if isinstance(form, pikepdf.Dictionary):
        plain = plain and all(_plain(key) for key in form.keys())  # noqa: SIM118
    for number, page in enumerate(pdf.pages, start=1):
        obj = page.obj
        plain = plain and all(_plain(key) for key in obj.keys())  # noqa: SIM118
        if _box_area(obj.get("/MediaBox")) and (
            "/CropBox" not in obj or _box_area(obj.get("/CropBox"))
        ):
            continue
        try:  # inherited (§7.7.3.4), indirect or odd: let pikepdf resolve it
            boxes = [[float(v) for v in box] for box in (page.mediabox, page.cropbox)]
        except Exception as exc:  # missing, null or non-numeric entries
            raise _no_size(name, number) from exc
        if not all(len(box) == 4 and _has_area(*box) for box in boxes):
            raise _no_size(name, number)
    return plain


def _plain(key: str) -> bool:
    """A name qpdf decoded that every reader reads as written: printable ASCII, and no
    ``#`` (qpdf keeps a ``#`` not followed by two hex digits as it is; pyHanko refuses)."""
    return key.isascii() and key.isprintable() and "#" not in key


def _box_area(box: object) -> bool:
    """True for a direct array of four plain numbers enclosing an area."""
    if not isinstance(box, pikepdf.Array) or box.is_indirect:
        return False
    items = box.unparse()[1:-1].split()
    if len(items) != 4:
        return False
    try:
        a, b, c, d = (float(v) for v in items)
    except ValueError:
        return False
    return _has_area(a, b, c, d)


def _has_area(a: float, b: float, c: float, d: float) -> bool:
    return abs(c - a) >= 1 and abs(d - b) >= 1


def _no_size(name: str, number: int) -> DamagedDocument:
    return DamagedDocument(
        f"The PDF {name!r} is damaged: page {number} has no usable size. "
        "Upload a complete, readable copy."
    )


_STARTXREF = re.compile(rb"startxref\s+(\d+)")
_OBJ_HEAD = re.compile(rb"\s*(\d+)\s+(\d+)\s+obj\b")
_TABLE_HEAD = re.compile(rb"\s*xref\s*")
_SUBSECTION = re.compile(rb"(\d+)[ \t]+(\d+)[ \t]*(?:\r\n|\r|\n)")
_ENTRY = re.compile(rb"\d{10} \d{5} [fn][ \r\n]{1,2}")
_TRAILER = re.compile(rb"\s*trailer\s*<<")
_PREV = re.compile(rb"/Prev\s+(\d+)")


def _xref_intact(pdf: pikepdf.Pdf, data: bytes) -> bool:
    """False when a cross-reference section is malformed in a way qpdf tolerates silently.

    qpdf reads a table entry with garbled digits (ISO 32000-1 §7.5.4: ten digits, a
    space, five digits, a space, ``n`` or ``f``, two end-of-line bytes) and a stream
    (§7.5.8) whose zlib data fails its Adler-32 check (RFC 1950 §2.2) without a
    warning; stricter readers (pyHanko) refuse such a file, so a signature over it
    could not be checked everywhere. Such a file is rewritten like any repaired one.
    Follows /Prev from the last ``startxref``, and a hybrid file's /XRefStm (§7.5.8.4).
    """
    found = list(_STARTXREF.finditer(data, max(0, len(data) - 1024)))
    if not found:
        return False
    offsets = [int(found[-1][1])]
    stm = pdf.trailer.get("/XRefStm")
    if isinstance(stm, int):
        offsets.append(stm)
    seen: set[int] = set()
    while offsets:
        offset = offsets.pop()
        if offset in seen:
            continue
        if len(seen) >= 256 or not 0 <= offset < len(data):
            return False
        seen.add(offset)
        table = _TABLE_HEAD.match(data, offset)
        prev = _table_intact(data, table.end()) if table else _stream_intact(pdf, data, offset)
        if prev is False:
            return False
        if isinstance(prev, int) and prev is not True:
            offsets.append(prev)
    return True


def _table_intact(data: bytes, at: int) -> int | bool:
    """Check a classic table's subsections from ``at``; its trailer's /Prev, or True."""
    while (sub := _SUBSECTION.match(data, at)) is not None:
        at = sub.end()
        for _ in range(int(sub[2])):
            entry = _ENTRY.match(data, at)
            if entry is None:
                return False
            at = entry.end()
    trailer = _TRAILER.match(data, at)
    if trailer is None:
        return False
    end = data.find(b"startxref", trailer.end(), trailer.end() + 65536)
    end = end if end > 0 else trailer.end() + 4096
    if not _hex_strings_clean(data[trailer.end() : end]):
        return False
    prev = _PREV.search(data, trailer.end(), end)
    return int(prev[1]) if prev else True


_HEX_STRING = re.compile(rb"(?<!<)<(?!<)([^<>]*)>")
_HEX_BODY = re.compile(rb"[0-9A-Fa-f\x00\t\n\x0c\r ]*")


def _hex_strings_clean(trailer: bytes) -> bool:
    """Hex strings (the /ID) of a trailer hold only hex digits and white-space (§7.3.4.3).

    qpdf skips other bytes silently; pyHanko refuses the whole file.
    """
    return all(_HEX_BODY.fullmatch(m[1]) for m in _HEX_STRING.finditer(trailer))


def _stream_intact(pdf: pikepdf.Pdf, data: bytes, offset: int) -> int | bool:
    """Check a cross-reference stream at ``offset``; its /Prev, or True."""
    head = _OBJ_HEAD.match(data, offset)
    if head is None:
        return False
    try:
        stream = pdf.get_object(int(head[1]), int(head[2]))
    except (ValueError, pikepdf.PdfError):
        return False
    if not isinstance(stream, pikepdf.Stream) or stream.get("/Type") != pikepdf.Name.XRef:
        return False
    body_end = data.find(b"stream", head.end(), head.end() + 65536)
    if not _hex_strings_clean(data[head.end() : body_end if body_end > 0 else head.end()]):
        return False
    if stream.get("/Filter") == pikepdf.Name.FlateDecode:
        try:
            zlib.decompress(stream.read_raw_bytes())
        except zlib.error:
            return False
    prev = stream.get("/Prev")
    return prev if isinstance(prev, int) and not isinstance(prev, bool) else True


def _check_repair(pdf: pikepdf.Pdf, name: str, count: int) -> None:
    """Accept qpdf's repair only when no page lost anything.

    qpdf rebuilds a broken cross-reference table by scanning for objects
    (ISO 32000-1 §7.5.4 offsets that are wrong, a missing trailer, startxref or %%EOF,
    stream /Length values that are off). A file cut short loses objects; a page that
    then misses its content, or a resource that points nowhere, means the document
    is not complete, and signing it would sign half a document.
    """
    declared = pdf.Root.get("/Pages", pikepdf.Dictionary()).get("/Count")
    if declared is not None and int(declared) != count:
        raise DamagedDocument(
            f"The PDF {name!r} is truncated or damaged: {count} of {int(declared)} pages "
            "could be recovered. Upload the complete file."
        )
    for number, page in enumerate(pdf.pages, start=1):
        contents = page.obj.get("/Contents")
        streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
        if not streams or any(not isinstance(s, pikepdf.Stream) for s in streams):
            raise _lost(name, number)
        for stream in streams:
            assert isinstance(stream, pikepdf.Stream)
            try:
                stream.read_bytes()
            except Exception as exc:
                if "memory limit exceeded" in str(exc):
                    raise _stream_too_big(name, number) from exc
                raise _lost(name, number) from exc
        resources = page.obj.get("/Resources")
        if not isinstance(resources, pikepdf.Dictionary):
            continue
        for category in ("/Font", "/XObject", "/ExtGState", "/ColorSpace", "/Pattern"):
            group = resources.get(category)
            if isinstance(group, pikepdf.Dictionary):
                for _key, value in group.items():
                    if value is None:  # a reference to an object that is gone
                        raise _lost(name, number)


def _stream_too_big(name: str, number: int) -> LimitExceeded:
    limit = _parser_limits[1] if _parser_limits else 0
    return LimitExceeded(
        f"A content stream on page {number} of {name!r} decodes to more than {limit} "
        "bytes (a compression bomb, or a damaged file); print it to a new PDF.",
        limit="max_pdf_stream_bytes",
    )


def _lost(name: str, number: int) -> DamagedDocument:
    return DamagedDocument(
        f"The PDF {name!r} is truncated or damaged: page {number} lost part of its "
        "content. Upload the complete file."
    )


_SCRIPT_MARKERS = (b"/JavaScript", b"/JS", b"/Launch", b"/XFA")
_ESCAPED_NAME = re.compile(rb"/[A-Za-z]*#[0-9A-Fa-f]{2}")


def _active_content(pdf: pikepdf.Pdf, data: bytes, *, scan_all: bool = False) -> str | None:
    """JavaScript, launch actions or dynamic XFA anywhere in the file, else None.

    Actions are dictionaries with /S (ISO 32000-1 §12.6.2): /JavaScript (§12.6.4.16)
    and /Launch (§12.6.4.5); document-level scripts sit in the /JavaScript name tree
    (§7.7.4). A byte scan decides first: only files whose objects may hide these names
    (object streams, #-escaped names) or that mention them are walked object by object.
    ``scan_all`` always walks: for a file that needed a repair (qpdf also reads
    compressed object streams, §7.5.7, that lack ``/Type /ObjStm``, with a warning, so a
    repaired file's bytes may hide objects without any of these names), and when the
    walk is cheaper than the scan.
    """
    if (
        not scan_all
        and b"/ObjStm" not in data
        and not any(m in data for m in _SCRIPT_MARKERS)
        and not _ESCAPED_NAME.search(data)
    ):
        return None
    names = pdf.Root.get("/Names")
    if isinstance(names, pikepdf.Dictionary) and "/JavaScript" in names:
        return "document JavaScript"
    form = pdf.Root.get("/AcroForm")
    dynamic = bool(pdf.Root.get("/NeedsRendering", False))
    if isinstance(form, pikepdf.Dictionary) and "/XFA" in form:
        if dynamic:
            return "a dynamic XFA form"
        if _xfa_scripts(form["/XFA"]):
            return "scripts in its XFA form"
    for obj in _objects(pdf):
        action = obj.get("/S")
        if action == pikepdf.Name.JavaScript or "/JS" in obj:
            return "JavaScript"
        if action == pikepdf.Name.Launch:
            return "an action that launches programs"
    return None


def find_active_content(pdf: pikepdf.Pdf, data: bytes) -> str | None:
    """What :func:`_active_content` finds walking every object of an opened ``pdf``
    (e.g. a signed version uploaded for an external signer), else None."""
    return _active_content(pdf, data, scan_all=True)


_MAX_NODES = 2_000_000
_MAX_XFA_BYTES = 20_000_000
_XFA_SCRIPT = re.compile(rb"<(?:[A-Za-z0-9_.-]+:)?script\b", re.I)


def _xfa_scripts(xfa: pikepdf.Object) -> bool:
    """True when the XFA packets hold a <script> element (XFA 3.3 §"Scripting").

    Even a static XFA form (no /NeedsRendering) carries its template, and Adobe readers
    run the template's scripts on open and on events, which could change what the form
    shows after signing. /XFA is one stream or an array of (name, stream) pairs
    (ISO 32000-1 §12.7.8, table 218); an unreadable packet counts as a script.
    """
    streams = [xfa] if isinstance(xfa, pikepdf.Stream) else []
    if isinstance(xfa, pikepdf.Array):
        streams = [item for item in xfa if isinstance(item, pikepdf.Stream)]
    budget = _MAX_XFA_BYTES
    for stream in streams:
        try:
            packet = stream.read_bytes()
        except Exception:  # a packet that does not decode cannot be cleared
            return True
        budget -= len(packet)
        if budget < 0 or _XFA_SCRIPT.search(packet):
            return True
    return False


def _objects(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Object]:
    """Every dictionary in the file: indirect objects and the direct ones nested in them.

    Indirect references are not followed (each indirect object is visited once from
    the object table); nesting depth is bounded by qpdf's parser.
    """
    seen = 0
    for top in pdf.objects:
        todo = [top]
        while todo:
            obj = todo.pop()
            seen += 1
            if seen > _MAX_NODES:
                raise LimitExceeded("The PDF has too many objects to check.", limit="pdf_objects")
            if isinstance(obj, pikepdf.Stream):
                obj = obj.stream_dict
            if isinstance(obj, pikepdf.Dictionary):
                yield obj
                children = list(obj.values())
            elif isinstance(obj, pikepdf.Array):
                children = list(obj)
            else:
                continue
            todo.extend(
                c
                for c in children
                if (isinstance(c, pikepdf.Dictionary) or isinstance(c, pikepdf.Array))  # noqa: SIM101
                and not c.is_indirect
            )


def _check_docmdp(pdf: pikepdf.Pdf, name: str) -> None:
    """Refuse a certified PDF whose DocMDP P is 1: no changes, no further signatures.

    The certification signature is /Perms /DocMDP (ISO 32000-1 §12.8.4); its signature
    reference's /TransformParams /P (§12.8.2.2, table 254) is 1, 2 or 3 (default 2).
    """
    perms = pdf.Root.get("/Perms")
    if not isinstance(perms, pikepdf.Dictionary):
        return
    sig = perms.get("/DocMDP")
    if not isinstance(sig, pikepdf.Dictionary):
        return
    refs = sig.get("/Reference", pikepdf.Array())
    for ref in refs if isinstance(refs, pikepdf.Array) else []:
        if not isinstance(ref, pikepdf.Dictionary):
            continue
        if ref.get("/TransformMethod") != pikepdf.Name.DocMDP:
            continue
        params = ref.get("/TransformParams", pikepdf.Dictionary())
        level = params.get("/P", 2) if isinstance(params, pikepdf.Dictionary) else 2
        if int(level) == 1:
            raise CertifiedNoChanges(
                f"The PDF {name!r} is certified by its author with 'no changes allowed', "
                "which forbids adding signatures. Ask the author for an uncertified copy."
            )


def _has_signatures(pdf: pikepdf.Pdf) -> bool:
    """True when a signature field carries a value (ISO 32000-1 §12.7.4.5)."""
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
