"""PNG files whose image data PDF carries as it is: chunks read and checked by hand.

PNG (W3C Recommendation 2003, ISO/IEC 15948) stores the image as a zlib stream (§10)
split over consecutive IDAT chunks (§11.2.4); every scanline starts with its filter
type byte (§9.2). That is exactly what a PDF /FlateDecode stream with
``/DecodeParms << /Predictor 15 /Colors n /BitsPerComponent b /Columns width >>`` reads
(ISO 32000-1 §7.4.4.4, the predictor values table: 15 = PNG predictors, chosen per row), so a
non-interlaced PNG without transparency is embedded without decoding a pixel: the image
XObject's data is the IDAT chunk data of the upload itself, copied only into the
output file (:class:`~medsign.pdf.objects.Stream` with pieces).

Embedded as is (everything else goes the img2pdf way, :mod:`medsign.pdf.images`):

* non-interlaced (§8.1, interlace method 0), compression and filter method 0;
* colour type 0 (greyscale, bit depth 1, 2, 4, 8, 16) as /DeviceGray, type 2
  (truecolour, 8, 16) as /DeviceRGB, type 3 (indexed-colour, 1, 2, 4, 8) as
  ``[/Indexed /DeviceRGB hival <PLTE>]`` (ISO 32000-1 §8.6.6.3; PLTE §11.2.3 holds
  exactly the RGB triples the lookup string wants);
* no tRNS chunk (§11.3.2.1) and no APNG animation control (acTL);
* an iCCP profile (§11.3.3.3) whose colour space fits the image becomes
  ``[/ICCBased stream]`` (ISO 32000-1 §8.6.5.5, /N = 1 or 3, /Alternate the device
  space), also as the base of /Indexed; gAMA, cHRM, sRGB are ignored, as before.

Every chunk's CRC (§5.3) is checked and the image data inflated once, in small pieces,
to make sure it is complete, passes zlib's Adler-32 check and has valid filter types
(§9.2): a damaged file is refused, as when Pillow decoded it. The pixels themselves
are never kept.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from medsign.errors import InvalidDocument
from medsign.pdf.objects import Name, ObjectSet, PdfValue, Ref, Stream

SIGNATURE = b"\x89PNG\r\n\x1a\n"  # §5.2
_MAX_LENGTH = 2**31 - 1  # §5.3: chunk length and image dimensions
_MAX_PIECES = 16_384  # IDAT chunks kept as views of the upload; more are joined
_FEED = 64 * 1024  # compressed bytes handed to zlib at a time
_OUT = 1024 * 1024  # decompressed bytes asked of zlib at a time
_FILTER_TYPES = bytes(range(5))  # §9.2: None, Sub, Up, Average, Paeth
_KNOWN_CRITICAL = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND"})

# §11.2.2 table 11.1: colour type -> (samples per pixel, bit depths embedded as is)
_LAYOUT: dict[int, tuple[int, frozenset[int]]] = {
    0: (1, frozenset({1, 2, 4, 8, 16})),
    2: (3, frozenset({8, 16})),
    3: (1, frozenset({1, 2, 4, 8})),
}


@dataclass(frozen=True)
class DirectPng:
    """A PNG whose IDAT data becomes a PDF image stream unchanged."""

    width: int
    height: int
    bit_depth: int
    colour_type: int
    palette: bytes  # PLTE data for colour type 3, else empty
    idat: tuple[memoryview, ...]  # the zlib stream, in pieces (views of the upload)
    metadata: bytes  # a 1 x 1 PNG with every other chunk (see :func:`_metadata_png`)

    @property
    def samples(self) -> int:
        """Samples per pixel (§11.2.2): /Colors of the predictor."""
        return _LAYOUT[self.colour_type][0]

    @property
    def row_bytes(self) -> int:
        """Bytes of one scanline after its filter-type byte (§7.2)."""
        return (self.width * self.samples * self.bit_depth + 7) // 8


@dataclass
class _Walk:
    """What :func:`parse` keeps of the chunks: a few facts, no list of every chunk (a
    file of millions of empty chunks must not cost more than its own bytes)."""

    ihdr: int = -1  # offset of IHDR's data, if IHDR is the first chunk and 13 bytes
    idat_first: int = -1  # offset of the first IDAT chunk (its length field)
    idat_end: int = -1  # offset just after the last IDAT chunk's CRC
    idat_count: int = 0
    idat_bytes: int = 0
    idat_split: bool = False  # another chunk between two IDAT chunks (§5.6)
    palette: tuple[int, int] | None = None  # data start and end of the PLTE chunk
    palette_late: bool = False  # a PLTE chunk after IDAT, or a second one
    iend_end: int = -1  # offset just after IEND's CRC
    decoded_only: bool = False  # tRNS, APNG or an unknown critical chunk


MAX_CHUNKS = 100_000
"""Encoders write image data in chunks of 8 kB and more (a 50 MB upload: ~6,400); a
file cut into a million tiny chunks only costs seconds to walk, so it is refused."""


def parse(data: bytes, filename: str) -> DirectPng | None:
    """The chunks of ``data`` (a PNG) checked; a :class:`DirectPng` if PDF can carry its
    image data as it is, None if it must be decoded (interlaced, transparency, APNG,
    alpha channel, no IEND, unusual chunk order...).

    Raises :class:`InvalidDocument` for a damaged file: a CRC that does not match (§5.3),
    a chunk running past the end of the file, a chunk type that is not four letters.
    Nothing is decoded here; the image data is checked by :func:`check_image_data`.
    """
    view = memoryview(data)
    if not data.startswith(SIGNATURE):
        raise InvalidDocument(f"The image {filename!r} is not a PNG file.")
    walk = _Walk()
    position = len(SIGNATURE)
    chunks = 0
    while position < len(data) and walk.iend_end < 0:
        chunks += 1
        if chunks > MAX_CHUNKS:
            raise InvalidDocument(
                f"The image {filename!r} is split into more than {MAX_CHUNKS} pieces "
                "(PNG chunks); open it and save it again, or export it as JPEG."
            )
        if position + 12 > len(data):
            raise _damaged(filename, f"it ends inside a chunk header at byte {position}")
        length, kind = struct.unpack_from(">I4s", data, position)
        start = position + 8
        end = start + length
        if length > _MAX_LENGTH or end + 4 > len(data):
            raise _damaged(filename, f"its {_name(kind)} chunk at byte {position} is cut short")
        if not kind.isalpha():  # §5.4: four ASCII letters
            raise _damaged(filename, f"there is no valid chunk at byte {position}")
        (crc,) = struct.unpack_from(">I", data, end)
        if zlib.crc32(view[start:end], zlib.crc32(kind)) != crc:
            raise _damaged(
                filename,
                f"the checksum (CRC) of its {_name(kind)} chunk at byte {position} does not match",
            )
        _note(walk, kind, position, start, end)
        position = end + 4  # §5.6: IEND is last; bytes after it are not part of the image
    return _direct(data, view, walk)


def _note(walk: _Walk, kind: bytes, position: int, start: int, end: int) -> None:
    """Record what :func:`_direct` needs to know about one (checked) chunk."""
    if position == len(SIGNATURE):
        walk.ihdr = start if kind == b"IHDR" and end - start == 13 else -1
    elif kind == b"IDAT":
        if walk.idat_first < 0:
            walk.idat_first = position
        elif walk.idat_end != position:
            walk.idat_split = True
        walk.idat_end = end + 4
        walk.idat_count += 1
        walk.idat_bytes += end - start
    elif kind == b"PLTE":
        walk.palette_late = walk.palette is not None or walk.idat_first >= 0
        walk.palette = start, end
    elif kind == b"IEND":
        walk.iend_end = end + 4
    elif kind in (b"tRNS", b"acTL", b"fcTL", b"fdAT"):
        walk.decoded_only = True  # transparency (§11.3.2.1), animation (APNG)
    elif kind[0:1].isupper() and kind not in _KNOWN_CRITICAL:
        walk.decoded_only = True  # §5.4: a critical chunk this reader does not know


def _direct(data: bytes, view: memoryview, walk: _Walk) -> DirectPng | None:
    """Whether the checked chunks can be embedded as they are (see the module docstring)."""
    if walk.ihdr < 0 or walk.idat_count == 0 or walk.iend_end < 0 or walk.idat_split:
        return None  # no IHDR first, no image data, no IEND: left to Pillow, as before
    if walk.decoded_only or walk.palette_late:
        return None
    width, height, depth, colour, compression, filtering, interlace = struct.unpack_from(
        ">IIBBBBB", data, walk.ihdr
    )
    if colour not in _LAYOUT or depth not in _LAYOUT[colour][1]:
        return None  # alpha channel (types 4, 6), 16-bit palette, invalid combinations
    if (compression, filtering, interlace) != (0, 0, 0):
        return None  # Adam7 (§8.2) rows are not PDF rows; other methods are undefined
    if not (0 < width <= _MAX_LENGTH and 0 < height <= _MAX_LENGTH):
        return None
    palette = b""
    if colour == 3:
        if walk.palette is None:
            return None
        start, end = walk.palette
        entries, rest = divmod(end - start, 3)
        if rest or not 0 < entries <= 1 << depth:
            return None  # §11.2.3
        palette = bytes(view[start:end])
    return DirectPng(
        width, height, depth, colour, palette, _idat(data, view, walk), _metadata_png(view, walk)
    )


def _idat(data: bytes, view: memoryview, walk: _Walk) -> tuple[memoryview, ...]:
    """The data of the (consecutive, checked) IDAT chunks: views of the upload, or, if
    they are so many that views would cost more than the data, one copy."""
    joined = bytearray(walk.idat_bytes) if walk.idat_count > _MAX_PIECES else None
    pieces = []
    done = 0
    position = walk.idat_first
    while position < walk.idat_end:
        (length,) = struct.unpack_from(">I", data, position)
        piece = view[position + 8 : position + 8 + length]
        if joined is None:
            pieces.append(piece)
        else:
            joined[done : done + length] = piece
        done += length
        position += 12 + length
    return tuple(pieces) if joined is None else (memoryview(joined),)


def _metadata_png(view: memoryview, walk: _Walk) -> bytes:
    """The same PNG with a 1 x 1 image: every chunk but IHDR and IDAT as it is, in place.

    Pillow reads EXIF orientation (eXIf, also after the image data, or XMP) and pHYs
    from this exactly as from the upload, but decodes one pixel instead of all of them
    (``getexif`` loads the image to find chunks after IDAT).
    """
    header = b"\x00\x00\x00\x01\x00\x00\x00\x01" + bytes(view[walk.ihdr + 8 : walk.ihdr + 13])
    depth, colour = view[walk.ihdr + 8], view[walk.ihdr + 9]
    row = 1 + (_LAYOUT[colour][0] * depth + 7) // 8
    pixel = zlib.compress(bytes(row))  # filter type 0, sample 0 (palette index 0)
    return b"".join(
        [
            SIGNATURE,
            _chunk(b"IHDR", header),
            view[walk.ihdr + 17 : walk.idat_first],  # the chunks before IDAT
            _chunk(b"IDAT", pixel),
            view[walk.idat_end : walk.iend_end],  # the chunks after IDAT, IEND included
        ]
    )


def _chunk(kind: bytes, body: bytes) -> bytes:
    """One chunk (§5.3): length, type, data, CRC of type and data."""
    crc = zlib.crc32(body, zlib.crc32(kind))
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def check_image_data(png: DirectPng, filename: str) -> None:
    """Inflate the IDAT stream in small pieces, keeping nothing: refuse it as damaged if
    it is not zlib (RFC 1950/1951), ends before its Adler-32 checksum, is shorter than
    the image (height scanlines of 1 + :attr:`DirectPng.row_bytes` bytes, §7.2) or a
    scanline has a filter type other than 0-4 (§9.2). Data beyond the last scanline is
    not read, as decoders do not read it.

    Call it after the pixel limits are checked: its time grows with the pixel count.
    """
    stride = 1 + png.row_bytes
    expected = stride * png.height
    inflate = zlib.decompressobj()
    done = 0
    try:
        for piece in png.idat:
            for offset in range(0, len(piece), _FEED):
                pending: bytes | memoryview = piece[offset : offset + _FEED]
                while not inflate.eof:
                    out = inflate.decompress(pending, _OUT)
                    wanted = out[: max(0, expected - done)]
                    if wanted[(-done) % stride :: stride].translate(None, _FILTER_TYPES):
                        raise _damaged(filename, "its image data has an invalid filter type")
                    done += len(out)
                    if done > expected:
                        return  # more than the image: trailing data no decoder reads
                    pending = inflate.unconsumed_tail
                    if not pending and len(out) < _OUT:
                        break  # this input is used up (zlib holds no more output)
    except zlib.error as exc:
        raise _damaged(filename, "its image data cannot be decompressed") from exc
    if done < expected or not inflate.eof:
        raise _damaged(filename, "its image data is cut short")


def image_objects(png: DirectPng, icc_profile: bytes | None) -> tuple[ObjectSet, Ref, int]:
    """The image XObject (ISO 32000-1 §8.9.5.1, table 89) showing ``png``, with its ICC
    profile stream if ``icc_profile`` (the decompressed iCCP profile) fits the image:
    the objects, the image's reference and the PDF minor version needed (16 bits per
    component need PDF 1.5, table 89 /BitsPerComponent). The profile is stored
    deflated, as qpdf stored img2pdf's."""
    objects = ObjectSet()
    device = Name("DeviceGray" if png.colour_type == 0 else "DeviceRGB")
    space: PdfValue = device
    if icc_profile is not None and _icc_fits(icc_profile, 1 if png.colour_type == 0 else 3):
        icc = objects.add(
            Stream(
                {
                    "N": 1 if png.colour_type == 0 else 3,
                    "Alternate": device,
                    "Filter": Name("FlateDecode"),
                },
                zlib.compress(icc_profile),
            )
        )
        space = [Name("ICCBased"), icc]
    if png.colour_type == 3:
        space = [Name("Indexed"), space, len(png.palette) // 3 - 1, png.palette]
    ximage: dict[str, PdfValue] = {
        "Type": Name("XObject"),
        "Subtype": Name("Image"),
        "Width": png.width,
        "Height": png.height,
        "ColorSpace": space,
        "BitsPerComponent": png.bit_depth,
        "Filter": Name("FlateDecode"),
        "DecodeParms": {
            "Predictor": 15,
            "Colors": png.samples,
            "BitsPerComponent": png.bit_depth,
            "Columns": png.width,
        },
    }
    ref = objects.add(Stream(ximage, png.idat))
    return objects, ref, 5 if png.bit_depth == 16 else 4


def _icc_fits(profile: bytes, components: int) -> bool:
    """An ICC profile (ICC.1:2010 §7.2: 'acsp' at byte 36, data colour space at 16)
    describing ``components`` colours; another one is ignored rather than embedded
    with a wrong /N (ISO 32000-1 §8.6.5.5)."""
    space = {1: b"GRAY", 3: b"RGB "}[components]
    return len(profile) >= 128 and profile[36:40] == b"acsp" and profile[16:20] == space


def _name(kind: bytes) -> str:
    return kind.decode("ascii") if kind.isalpha() else repr(kind)


def _damaged(filename: str, why: str) -> InvalidDocument:
    return InvalidDocument(
        f"The image {filename!r} is damaged: {why} (PNG, ISO/IEC 15948). Export or scan it again."
    )
