"""What an uploaded file really is, from its bytes (never from its name or declared type).

Each format is recognised by its signature ("magic number"): PDF (ISO 32000-1 §7.5.2),
JPEG (ITU T.81 SOI marker), PNG (ISO 15948 §5.2), TIFF (TIFF 6.0 §2), WebP (RIFF/WEBP),
HEIF/HEIC (ISO/IEC 23008-12 ``ftyp`` brands), OOXML (ECMA-376 Part 2 package with
``[Content_Types].xml``), ODF (OASIS ODF 1.2 Part 3 §3.3 ``mimetype`` first entry),
OLE2 compound files (MS-CFB §2.2) holding a ``WordDocument`` stream, and RTF (``{\\rtf``).
Macro carriers are detected here too, so refusal happens before any conversion.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from dataclasses import dataclass

from medsign.errors import (
    ContentTypeMismatch,
    EmptyFile,
    InvalidFilename,
    LimitExceeded,
    MacroDocument,
    UnsupportedFileType,
)

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
TIFF = "image/tiff"
WEBP = "image/webp"
HEIC = "image/heic"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"
DOC = "application/msword"
RTF = "application/rtf"

IMAGE_TYPES = frozenset({JPEG, PNG, TIFF, WEBP, HEIC})
OFFICE_TYPES = frozenset({DOCX, ODT, DOC, RTF})
EXTENSIONS = {DOCX: "docx", ODT: "odt", DOC: "doc", RTF: "rtf"}

# Declared types that say nothing about the content (browsers, curl, MIS defaults).
_GENERIC = frozenset(
    {
        "",
        "application/octet-stream",
        "binary/octet-stream",
        "application/x-download",
        "application/force-download",
        "application/unknown",
        "application/binary",
    }
)
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif")
_MAX_ZIP_ENTRIES = 10_000
_ZIP_RATIO = 200  # uncompressed/compressed beyond this is treated as a zip bomb


@dataclass(frozen=True)
class Sniffed:
    """The media type the bytes are."""

    media_type: str

    @property
    def family(self) -> str:
        """``pdf``, ``image`` or ``office``."""
        return _family(self.media_type) or "other"


def check_filename(name: str) -> str:
    """Return ``name`` if it is a plain file name; raise :class:`InvalidFilename` otherwise.

    Path separators (``/``, ``\\``) and control characters (Unicode category Cc/Cf,
    e.g. NUL, newlines, bidi overrides that disguise an extension) are refused.
    """
    if len(name) > 255:
        raise InvalidFilename("The file name is longer than 255 characters; shorten it.")
    if "/" in name or "\\" in name:
        raise InvalidFilename(
            "The file name contains a path separator (/ or \\); send the bare file name."
        )
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        raise InvalidFilename(
            "The file name contains control or invisible formatting characters; rename the file."
        )
    if name in (".", ".."):
        raise InvalidFilename("The file name is not a file name; rename the file.")
    return name


def sniff(data: bytes, filename: str = "") -> Sniffed:
    """Identify ``data``; refuse what medsign does not take, and macro-enabled documents."""
    if not data:
        raise EmptyFile(f"The file {filename!r} is empty; attach the document itself.")
    head = data[:1024]
    if head.startswith(b"%PDF-") or b"%PDF-" in head:
        return Sniffed(PDF)
    if data.startswith(b"\xff\xd8\xff"):
        return Sniffed(JPEG)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed(PNG)
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return Sniffed(TIFF)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return Sniffed(WEBP)
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return Sniffed(HEIC)
    if data.startswith(b"PK\x03\x04"):
        return Sniffed(_sniff_zip(data, filename))
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return Sniffed(_sniff_ole(data, filename))
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{\\rtf"):
        return Sniffed(RTF)
    lowered = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml", b"<svg")):
        raise UnsupportedFileType(
            f"The file {filename!r} is HTML/XML markup, not a document; "
            "print it to PDF and upload the PDF."
        )
    raise UnsupportedFileType(
        f"The file {filename!r} is not a PDF, an image (JPEG, PNG, TIFF, WebP, HEIC) "
        "or a text document (DOCX, DOC, ODT, RTF)."
    )


def check_declared_type(sniffed: Sniffed, declared: str | None, filename: str) -> None:
    """Refuse a declared content type that names another family than the bytes are.

    The bytes decide what is done with the file; the declared type is only checked:
    a generic or missing type is fine, a type within the same family (``image/png``
    for JPEG bytes) is fine, but ``application/pdf`` on a Word document or
    ``image/jpeg`` on a PDF means the sender mixed up files, and is refused.
    """
    media = (declared or "").split(";", 1)[0].strip().lower()
    if media in _GENERIC:
        return
    claimed = _family(media)
    if sniffed.media_type == RTF and media == "text/plain":
        return  # RTF is text; some clients guess text/plain
    if sniffed.family == "office" and media in ("application/zip", "application/x-zip-compressed"):
        return  # DOCX/ODT are ZIP packages; some clients say so
    if claimed is None or claimed != sniffed.family:
        raise ContentTypeMismatch(
            f"The file {filename!r} was sent as {media!r} but its content is "
            f"{sniffed.media_type}; send the right file or leave the type unset.",
            declared_type=media,
            detected_type=sniffed.media_type,
        )


def _family(media: str) -> str | None:
    if media in (PDF, "application/x-pdf", "application/acrobat", "text/pdf"):
        return "pdf"
    if media.startswith("image/"):
        return "image"
    if (
        media in (DOC, RTF, "text/rtf", "application/x-rtf", ODT)
        or media.startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
        or media.startswith("application/vnd.ms-word")
        or media.startswith("application/vnd.oasis.opendocument.text")
    ):
        return "office"
    return None


def _sniff_zip(data: bytes, filename: str) -> str:
    """DOCX or ODT inside a ZIP package; anything else in a ZIP is refused."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > _MAX_ZIP_ENTRIES:
                raise LimitExceeded(
                    f"The file {filename!r} holds more than {_MAX_ZIP_ENTRIES} entries.",
                    limit="zip_entries",
                )
            unpacked = sum(i.file_size for i in infos)
            if unpacked > max(len(data) * _ZIP_RATIO, 50_000_000):
                raise LimitExceeded(
                    f"The file {filename!r} unpacks to {unpacked} bytes (a zip bomb?).",
                    limit="zip_ratio",
                )
            names = {i.filename for i in infos}
            lowered = {n.lower() for n in names}
            if "[content_types].xml" in lowered:
                types = archive.read(_exact(names, "[content_types].xml")).decode(
                    "utf-8", "replace"
                )
                if "vbaproject" in " ".join(lowered) or "macroenabled" in types.lower():
                    raise MacroDocument(
                        f"The file {filename!r} is a macro-enabled Office document; "
                        "save it as a plain .docx or PDF (macros are never run or signed)."
                    )
                if "word/document.xml" in lowered:
                    return DOCX
            elif "mimetype" in names:
                mimetype = archive.read("mimetype")[:100].decode("ascii", "replace").strip()
                if mimetype.startswith(ODT):
                    if any(n.startswith(("Basic/", "Scripts/")) for n in names):
                        raise MacroDocument(
                            f"The file {filename!r} contains macros (Basic or scripts); "
                            "save it without macros or as PDF."
                        )
                    return ODT
    except (zipfile.BadZipFile, KeyError, ValueError, NotImplementedError, EOFError) as exc:
        raise UnsupportedFileType(
            f"The file {filename!r} is a damaged ZIP archive, not a document."
        ) from exc
    raise UnsupportedFileType(
        f"The file {filename!r} is a ZIP archive but not a Word (DOCX) or OpenDocument "
        "text (ODT) document; upload the documents themselves, not an archive."
    )


def _exact(names: set[str], lowered: str) -> str:
    return next(n for n in names if n.lower() == lowered)


def _sniff_ole(data: bytes, filename: str) -> str:
    """A Word 97-2003 document (OLE2 compound file with a ``WordDocument`` stream).

    Directory entry names are UTF-16LE (MS-CFB §2.6.1); VBA projects live in a
    ``Macros`` storage with a ``_VBA_PROJECT`` stream (MS-OVBA §2.2).
    """
    if "_VBA_PROJECT".encode("utf-16-le") in data or "Macros".encode("utf-16-le") in data:
        raise MacroDocument(
            f"The file {filename!r} is a Word document with macros; "
            "save it as a plain .docx or PDF (macros are never run or signed)."
        )
    if "WordDocument".encode("utf-16-le") in data:
        return DOC
    raise UnsupportedFileType(
        f"The file {filename!r} is an Office 97-2003 file but not a Word document "
        "(spreadsheets and presentations: export them to PDF first)."
    )
