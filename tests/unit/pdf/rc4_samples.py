"""RC4-encrypted PDFs written by hand (ISO 32000-1 §7.6.3), so the trailer's /ID can be
missing or malformed while the file is still encrypted as qpdf will decrypt it.

qpdf (and pikepdf) always write a fresh, well-formed /ID when they encrypt, so such files
cannot be made with them: the standard security handler is done here instead — the file
key (Algorithm 2), /O (Algorithm 3), /U (Algorithms 4 and 5) and each string's and
stream's RC4 key (Algorithm 1).
"""

from __future__ import annotations

import hashlib
import struct
import zlib

# ISO 32000-1 §7.6.3.3, Algorithm 2 step a: the 32-byte padding string.
PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
PERMISSIONS = -3904  # Table 22: every bit set except print (3) and high-quality print (12)
PAGE_TEXT = b"Informed consent - page 2"
TITLE = b"Consent form"
BOOKMARK = b"Signatures"

# Trailer /ID entries that qpdf reads as no ID (it derives the key from an empty string
# and warns "invalid /ID in trailer dictionary"), and the one where the first element is
# an empty string (read without a warning).
NO_ID: dict[str, bytes] = {
    "missing": b"",
    "empty-array": b"/ID []",
    "one-element": b"/ID [<0f88455ebb8b4e2ee3518ebbf9ed40fe>]",
    "three-elements": b"/ID [<0f88> <60232e6c> <01>]",
    "not-an-array": b"/ID <0f88455ebb8b4e2ee3518ebbf9ed40fe>",
    "numbers": b"/ID [1 2]",
    "null": b"/ID null",
    "first-a-name": b"/ID [/A <60232e6ce75fbef3ee77bd24a0095467>]",
    "dictionary": b"/ID << /A (b) >>",
    "dangling-reference": b"/ID 99 0 R",
    "empty-first-element": b"/ID [<> <60232e6ce75fbef3ee77bd24a0095467>]",
}


def rc4(key: bytes, data: bytes) -> bytes:
    """RC4 (the cipher of ISO 32000-1 §7.6.2 for /V 1 and 2): symmetric, so it both
    encrypts and decrypts."""
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) & 0xFF
        s[i], s[j] = s[j], s[i]
    out = bytearray(len(data))
    i = j = 0
    for n, byte in enumerate(data):
        i = (i + 1) & 0xFF
        j = (j + s[i]) & 0xFF
        s[i], s[j] = s[j], s[i]
        out[n] = byte ^ s[(s[i] + s[j]) & 0xFF]
    return bytes(out)


def _md5(data: bytes) -> bytes:
    """MD5, which the standard security handler prescribes (not a choice made here)."""
    return hashlib.md5(data, usedforsecurity=False).digest()


def _padded(password: bytes) -> bytes:
    return (password + PAD)[:32]


def _rounds(key: bytes, data: bytes) -> bytes:
    """Revision 3's 19 extra RC4 passes, key XOR 1..19 (Algorithm 3 step g, 5 step e)."""
    for i in range(1, 20):
        data = rc4(bytes(b ^ i for b in key), data)
    return data


def security(
    revision: int, first_id: bytes, owner: bytes = b"owner", user: bytes = b""
) -> tuple[bytes, bytes, bytes]:
    """(file key, /O, /U) of the standard security handler, revision 2 or 3.

    ``first_id`` is the first element of the trailer's /ID the key is derived from
    (Algorithm 2 step d) — empty when the file has none.
    """
    n = 5 if revision == 2 else 16  # /Length 40 for R 2, 128 for R 3
    digest = _md5(_padded(owner))  # Algorithm 3 steps a-b
    if revision >= 3:
        for _ in range(50):  # step c
            digest = _md5(digest[:n])
    o = rc4(digest[:n], _padded(user))  # steps d-f
    if revision >= 3:
        o = _rounds(digest[:n], o)
    digest = _md5(
        _padded(user) + o + struct.pack("<i", PERMISSIONS) + first_id
    )  # Algorithm 2 steps a-e
    if revision >= 3:
        for _ in range(50):  # step f
            digest = _md5(digest[:n])
    key = digest[:n]
    if revision == 2:
        return key, o, rc4(key, PAD)  # Algorithm 4
    # Algorithm 5: 16 bytes that matter, 16 arbitrary
    return key, o, _rounds(key, rc4(key, _md5(PAD + first_id))) + bytes(16)


def _object_key(key: bytes, number: int) -> bytes:
    """Algorithm 1: the RC4 key of object ``number`` (generation 0)."""
    salted = key + struct.pack("<I", number)[:3] + b"\0\0"
    return _md5(salted)[: min(len(key) + 5, 16)]


def rc4_pdf(
    trailer_id: bytes,
    *,
    revision: int = 3,
    key_id: bytes = b"",
    owner: bytes = b"owner",
    user: bytes = b"",
    blank_page: bool = True,
) -> bytes:
    """A two-page PDF encrypted with RC4 whose trailer holds ``trailer_id`` verbatim
    (``b""``: no /ID), its key derived from ``key_id`` (Algorithm 2).

    Page 1 is blank: it has no /Contents, which ISO 32000-1 §7.7.3.3 (table 30) allows
    ("the page shall be empty"), as scanners write separator pages. Page 2 shows
    :data:`PAGE_TEXT` from a Flate-compressed, encrypted content stream; the document
    information /Title and a bookmark's title are encrypted strings. Without
    ``blank_page``, page 1 shows the same content stream as page 2.
    """
    key, o, u = security(revision, key_id, owner, user)

    def string(number: int, text: bytes) -> bytes:
        return b"<%s>" % rc4(_object_key(key, number), text).hex().encode()

    content = rc4(
        _object_key(key, 5), zlib.compress(b"BT /F1 18 Tf 72 770 Td (%s) Tj ET" % PAGE_TEXT)
    )
    text_page = (
        b"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 6 0 R >> >> /Contents 5 0 R >>"
    )
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R /Outlines 8 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 /MediaBox [0 0 595 842] >>",
        b"<< /Type /Page /Parent 2 0 R /Resources << >> >>" if blank_page else text_page,
        text_page,
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title %s /Producer %s >>" % (string(7, TITLE), string(7, b"hand-made RC4")),
        b"<< /Type /Outlines /First 9 0 R /Last 9 0 R /Count 1 >>",
        b"<< /Title %s /Parent 8 0 R /Dest [4 0 R /Fit] >>" % string(9, BOOKMARK),
        b"<< /Filter /Standard /V %d /R %d /Length %d /O <%s> /U <%s> /P %d >>"
        % (
            1 if revision == 2 else 2,
            revision,
            len(key) * 8,
            o.hex().encode(),
            u.hex().encode(),
            PERMISSIONS,
        ),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 7 0 R /Encrypt 10 0 R %s >>\n" % (
        len(bodies) + 1,
        trailer_id,
    )
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
