"""Bilevel TIFF frames as CCITT Group 4 image XObjects, one frame at a time.

A scanner's TIFF is typically bilevel (TIFF 6.0 §3, "Bilevel Images": BitsPerSample 1,
PhotometricInterpretation 0 or 1), CCITT T.6 (Group 4) compressed (TIFF 6.0 §11,
Compression = 4) and cut into many strips (§3, RowsPerStrip). PDF's /CCITTFaxDecode
filter (ISO 32000-1 §7.4.6) reads one Group 4 stream per image, so strips — each
coded on its own, from an imaginary white reference line — cannot simply be laid end
to end; img2pdf builds a whole PDF in memory instead, decoding every frame.

Here each frame is decoded alone (Pillow, mode "1") and encoded again by libtiff as a
one-strip Group 4 TIFF; the strip (StripOffsets / StripByteCounts of that file) is the
image stream, with ``/DecodeParms << /K -1 /Columns w /Rows h /BlackIs1 b >>``
(ISO 32000-1 §7.4.6, table 11: K < 0 is pure two-dimensional coding, T.6) and
``/ColorSpace /DeviceGray /BitsPerComponent 1`` (§8.9.5.1, table 89). The frame's
raster is dropped before the next frame is decoded, so memory holds the upload, one
frame's pixels and the Group 4 data made so far. This is what img2pdf does for a
bilevel image it cannot carry as is (``transcode_monochrome``), so the pages show the
same pixels.

Black stays black: libtiff codes runs of 0 bits with the "white" code words of T.4/T.6
(the codes do not know colours; TIFF's PhotometricInterpretation says what a 0 bit
means, TIFF 6.0 §3: 0 = WhiteIsZero, 1 = BlackIsZero). /CCITTFaxDecode turns white
code words into 1 bits unless /BlackIs1 is true, and /DeviceGray shows 1 as white;
so a BlackIsZero strip needs ``/BlackIs1 true`` and a WhiteIsZero one the default
(false). The re-encoded file states which it is; the upload's own interpretation was
already applied by Pillow when it decoded the frame (0 = black in mode "1").

Orientation (TIFF 6.0 §8, tag 274, the EXIF values) is the page's business
(:mod:`medsign.pdf.images` knows whether the installed Pillow already turns a frame
upright as it decodes it).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, TiffImagePlugin

from medsign.pdf.objects import Name, PdfValue, Stream

# TIFF 6.0 tags (§8, Baseline Fields; §11 for T6Options)
_WIDTH, _LENGTH, _COMPRESSION, _PHOTOMETRIC, _FILL_ORDER = 256, 257, 259, 262, 266
_STRIP_OFFSETS, _ROWS_PER_STRIP, _STRIP_BYTE_COUNTS, _T6_OPTIONS = 273, 278, 279, 293
_GROUP4 = 4  # Compression: CCITT T.6 bi-level encoding


@dataclass(frozen=True)
class Group4:
    """One frame as a single CCITT T.6 (Group 4) stream."""

    width: int
    height: int
    black_is_zero: bool  # PhotometricInterpretation 1 (TIFF 6.0 §3)
    data: bytes


def bilevel(image: Image.Image) -> bool:
    """Whether the current frame of ``image`` (a TIFF, not decoded) is bilevel."""
    return image.format == "TIFF" and image.mode == "1"


def encode_frame(image: Image.Image) -> Group4:
    """The current frame of ``image`` (mode "1") decoded and encoded again as one Group 4
    strip. Call it after the pixel limits are checked: it decodes the frame.

    The pixels are handed to the encoder as a plain image sharing the decoded raster
    (no copy), without the upload's tags: Pillow would otherwise pass every tag of the
    uploaded frame on to libtiff (img2pdf makes a fresh image for the same reason).
    """
    assert isinstance(image, TiffImagePlugin.TiffImageFile)
    image.load()
    plain = image._new(image.im)  # same pixels, no TIFF tags
    plain.info = {}
    width, height = plain.size
    stride = (width + 7) // 8
    out = io.BytesIO()
    # libtiff writes strips of ``strip_size`` raw bytes (64 kB by default): one strip
    # holding every row (Pillow >= 8.4; rows_per_strip = strip_size // stride).
    plain.save(out, "TIFF", compression="group4", strip_size=stride * height)
    del plain
    return _strip(out.getvalue(), width, height)


def _strip(encoded: bytes, width: int, height: int) -> Group4:
    """The one strip of a TIFF written by :func:`encode_frame`, its facts checked."""
    with Image.open(io.BytesIO(encoded)) as written:
        assert isinstance(written, TiffImagePlugin.TiffImageFile)
        tags = written.tag_v2
        offsets, counts = tags.get(_STRIP_OFFSETS, ()), tags.get(_STRIP_BYTE_COUNTS, ())
        photometric = tags.get(_PHOTOMETRIC)
        facts = (
            tags.get(_WIDTH),
            tags.get(_LENGTH),
            tags.get(_COMPRESSION),
            tags.get(_FILL_ORDER, 1),
            tags.get(_T6_OPTIONS, 0),
            len(offsets),
            len(counts),
        )
    if facts != (width, height, _GROUP4, 1, 0, 1, 1) or photometric not in (0, 1):
        # FillOrder 1: most significant bit first, as /CCITTFaxDecode reads (§7.4.6);
        # T6Options 0: no uncompressed mode, which the filter's parameters cannot state
        raise ValueError(f"unexpected Group 4 re-encoding {facts!r}, photometric {photometric}")
    start, length = int(offsets[0]), int(counts[0])
    if start + length > len(encoded) or length <= 0:
        raise ValueError("Group 4 strip outside the re-encoded file")
    return Group4(width, height, photometric == 1, encoded[start : start + length])


def image_stream(frame: Group4) -> Stream:
    """The image XObject (ISO 32000-1 §8.9.5.1) showing ``frame``: /CCITTFaxDecode with
    /K -1 (T.6), /Columns, /Rows and /BlackIs1 (§7.4.6, table 11)."""
    parms: dict[str, PdfValue] = {"K": -1, "Columns": frame.width, "Rows": frame.height}
    if frame.black_is_zero:
        parms["BlackIs1"] = True
    ximage: dict[str, PdfValue] = {
        "Type": Name("XObject"),
        "Subtype": Name("Image"),
        "Width": frame.width,
        "Height": frame.height,
        "ColorSpace": Name("DeviceGray"),
        "BitsPerComponent": 1,
        "Filter": Name("CCITTFaxDecode"),
        "DecodeParms": parms,
    }
    return Stream(ximage, frame.data)
