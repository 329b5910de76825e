"""Images (JPEG, PNG, TIFF, WebP, HEIC) to PDF pages: one A4 page per image or frame.

* Pixel limits are checked from the image header, before any pixel is decoded
  (decompression bombs).
* JPEG, PNG and TIFF go through img2pdf, which embeds the encoded data unchanged where
  PDF can carry it (JPEG as /DCTDecode, ISO 32000-1 §7.4.8; PNG and TIFF as /FlateDecode
  with predictors, CCITT G4 as /CCITTFaxDecode) — lossless.
* Images img2pdf cannot embed as they are (alpha channel, 16-bit, odd modes) are decoded
  and re-encoded losslessly as PNG (alpha flattened on white). WebP and HEIC cannot be
  embedded in PDF at all: lossless WebP becomes PNG; lossy WebP and HEIC (already lossy)
  become JPEG at quality 95, so a phone photo does not grow tenfold.
* EXIF orientation (CIPA DC-008 / Exif 2.32 tag 0x0112, all eight values) is honoured
  by the page's transformation matrix (ISO 32000-1 §8.3.4), so the image data itself
  is never rotated or re-encoded for it, and pages carry no /Rotate.
* Each page is A4 (210 x 297 mm; landscape for landscape images) with 10 mm margins,
  the image fitted and centred, never enlarged beyond its own resolution when the
  file states one.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import BinaryIO, cast

import img2pdf
import pikepdf
from PIL import Image, ImageOps, UnidentifiedImageError

from medsign.errors import InvalidDocument, LimitExceeded, UnsupportedFileType
from medsign.pdf import sniff

A4 = (595.2756, 841.8898)  # 210 x 297 mm in points (1 pt = 1/72 in)
MARGIN = 28.3465  # 10 mm

# Unit-square transforms that turn stored pixels into the displayed image for each
# EXIF orientation value (row 0 / column 0 meaning, Exif 2.32 §4.6.4 table 4).
_ORIENT: dict[int, tuple[float, float, float, float, float, float]] = {
    1: (1, 0, 0, 1, 0, 0),
    2: (-1, 0, 0, 1, 1, 0),  # mirrored left-right
    3: (-1, 0, 0, -1, 1, 1),  # rotated 180
    4: (1, 0, 0, -1, 0, 1),  # mirrored top-bottom
    5: (0, -1, -1, 0, 1, 1),  # transposed (mirror + 270)
    6: (0, -1, 1, 0, 0, 1),  # rotate 90 clockwise to view
    7: (0, 1, 1, 0, 0, 0),  # transversed (mirror + 90)
    8: (0, 1, -1, 0, 1, 0),  # rotate 90 counter-clockwise to view
}
_heif_registered = False


@dataclass(frozen=True)
class _Frame:
    orientation: int
    dpi: float | None


def image_to_pdf(
    data: bytes, media_type: str, filename: str, *, max_pixels: int, max_pages: int
) -> pikepdf.Pdf:
    """Pages (one per image frame) for the image in ``data``; the caller closes the Pdf.

    Raises :class:`LimitExceeded` (pixels, frames), :class:`InvalidDocument` (cannot
    be decoded); nothing else.
    """
    try:
        return _image_to_pdf(data, media_type, filename, max_pixels, max_pages)
    except (InvalidDocument, LimitExceeded):
        raise
    except Image.DecompressionBombError as exc:
        raise _pixels_error(filename, max_pixels) from exc
    except Exception as exc:  # decoders on hostile input: any failure is a bad file
        raise InvalidDocument(
            f"The image {filename!r} is damaged or cannot be read ({type(exc).__name__})."
        ) from exc


def _image_to_pdf(
    data: bytes, media_type: str, filename: str, max_pixels: int, max_pages: int
) -> pikepdf.Pdf:
    if media_type == sniff.HEIC:
        _register_heif()
    with warnings.catch_warnings():
        # our own limit below replaces Pillow's DecompressionBombWarning
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except UnidentifiedImageError as exc:
            raise InvalidDocument(f"The image {filename!r} cannot be read.") from exc
        with image:
            frames = _frames(image, filename, max_pixels, max_pages)
            if media_type == sniff.JPEG and len(frames) == 1 and _embeddable_jpeg(image):
                pdf = _jpeg_pdf(data, image)
                _lay_out(pdf, pdf.pages[0], frames[0])
                return pdf
            if media_type in (sniff.JPEG, sniff.PNG, sniff.TIFF):
                encoded = _img2pdf(data)
                if encoded is None:
                    encoded = _reencode(image, len(frames), lossy=False)
                    frames = [_Frame(1, f.dpi) for f in frames]  # exif_transpose applied
            else:
                lossy = media_type == sniff.HEIC or not _webp_lossless(data)
                encoded = _reencode(image, len(frames), lossy=lossy)
                frames = [_Frame(1, f.dpi) for f in frames]  # exif_transpose applied
    pdf = pikepdf.open(io.BytesIO(encoded))
    if len(pdf.pages) != len(frames):
        pdf.close()
        raise InvalidDocument(f"The image {filename!r} could not be converted page by page.")
    for page, frame in zip(pdf.pages, frames, strict=True):
        _lay_out(pdf, page, frame)
    return pdf


def _frames(image: Image.Image, filename: str, max_pixels: int, max_pages: int) -> list[_Frame]:
    """Header facts of every frame; limits checked without decoding pixels."""
    count = getattr(image, "n_frames", 1)
    if count > max_pages:
        raise LimitExceeded(
            f"The image {filename!r} has {count} pages; at most {max_pages} are accepted.",
            limit="max_pages",
        )
    frames = []
    for index in range(count):
        if index:
            image.seek(index)
        width, height = image.size
        if width * height > max_pixels:
            raise _pixels_error(filename, max_pixels, width, height)
        orientation = int(image.getexif().get(0x0112, 1) or 1)
        dpi = image.info.get("dpi")
        x_dpi = float(dpi[0]) if isinstance(dpi, tuple) and dpi and dpi[0] else None
        frames.append(_Frame(orientation if orientation in _ORIENT else 1, x_dpi))
    if count > 1:
        image.seek(0)
    return frames


def _pixels_error(
    filename: str, max_pixels: int, width: int | None = None, height: int | None = None
) -> LimitExceeded:
    size = f" ({width} x {height})" if width and height else ""
    return LimitExceeded(
        f"The image {filename!r}{size} has more than {max_pixels} pixels; "
        "scan or export it at a lower resolution.",
        limit="max_image_pixels",
    )


def _img2pdf(data: bytes) -> bytes | None:
    """img2pdf's lossless embedding, or None when it cannot embed the image as is."""
    try:
        out = img2pdf.convert(data, rotation=img2pdf.Rotation.none)
    except (img2pdf.AlphaChannelError, img2pdf.ImageOpenError, ValueError, TypeError):
        return None
    except Exception:  # img2pdf raises plain Exception for unsupported modes
        return None
    return out if isinstance(out, bytes) else None


_JPEG_SPACES = {"L": "/DeviceGray", "RGB": "/DeviceRGB", "CMYK": "/DeviceCMYK"}


def _embeddable_jpeg(image: Image.Image) -> bool:
    """A plain 8-bit baseline or progressive JPEG PDF's /DCTDecode carries as it is."""
    return image.format == "JPEG" and image.mode in _JPEG_SPACES


def _jpeg_pdf(data: bytes, image: Image.Image) -> pikepdf.Pdf:
    """A one-page PDF whose image XObject is ``data`` itself (/DCTDecode, §7.4.8).

    The file is read lazily by qpdf from the uploaded bytes (:class:`_Joined`), so
    the JPEG is never copied before the normalized PDF is written. Adobe CMYK JPEGs
    (APP14) store inverted values, hence /Decode [1 0 ...], as img2pdf does.
    """
    width, height = image.size
    decode = " /Decode [1 0 1 0 1 0 1 0]" if image.mode == "CMYK" and "adobe" in image.info else ""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.4f %.4f] "
        b"/Resources << /XObject << /Im0 4 0 R >> >> >>" % A4,
    ]
    head = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(head))
        head += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    offsets.append(len(head))
    head += (
        f"4 0 obj\n<< /Type /XObject /Subtype /Image /Width {width} /Height {height} "
        f"/ColorSpace {_JPEG_SPACES[image.mode]} /BitsPerComponent 8{decode} "
        f"/Filter /DCTDecode /Length {len(data)} >>\nstream\n"
    ).encode()
    tail = bytearray(b"\nendstream\nendobj\n")
    xref = len(head) + len(data) + len(tail)
    tail += b"xref\n0 5\n0000000000 65535 f \n"
    for offset in offsets:
        tail += b"%010d 00000 n \n" % offset
    tail += b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return pikepdf.open(cast(BinaryIO, _Joined(bytes(head), data, bytes(tail))))


class _Joined(io.RawIOBase):
    """A read-only, seekable file made of byte strings laid end to end, never joined."""

    def __init__(self, *parts: bytes) -> None:
        super().__init__()
        self._parts = [memoryview(p) for p in parts]
        self._size = sum(len(p) for p in parts)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        out = memoryview(buffer).cast("B")
        done = 0
        start = 0
        for part in self._parts:
            end = start + len(part)
            if self._pos < end and done < len(out):
                chunk = part[self._pos - start : self._pos - start + len(out) - done]
                out[done : done + len(chunk)] = chunk
                done += len(chunk)
                self._pos += len(chunk)
            start = end
        return done


def _reencode(image: Image.Image, count: int, *, lossy: bool) -> bytes:
    """Decode every frame, apply EXIF orientation, re-encode (PNG, or JPEG q95 if lossy)."""
    blobs = []
    for index in range(count):
        image.seek(index)
        frame = ImageOps.exif_transpose(image.copy())
        if frame.mode in ("RGBA", "LA", "PA") or (
            frame.mode == "P" and "transparency" in frame.info
        ):
            rgba = frame.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            frame = flat
        elif frame.mode not in ("RGB", "L", "1"):
            frame = frame.convert("RGB")
        buf = io.BytesIO()
        if lossy and frame.mode != "1":
            frame.save(buf, "JPEG", quality=95, subsampling=0)
        else:
            frame.save(buf, "PNG", optimize=False)
        blobs.append(buf.getvalue())
    out = img2pdf.convert(blobs, rotation=img2pdf.Rotation.none)
    assert isinstance(out, bytes)
    return out


def _webp_lossless(data: bytes) -> bool:
    # RIFF chunk after the WEBP fourcc: VP8L is the lossless bitstream; VP8X extended
    # files carry VP8L or VP8 later on (WebP container spec §"Extended file format").
    return data[12:16] == b"VP8L" or (data[12:16] == b"VP8X" and b"VP8L" in data[:4096])


def _lay_out(pdf: pikepdf.Pdf, page: pikepdf.Page, frame: _Frame) -> None:
    """Put the page's one image on an A4 page with margins, oriented per EXIF."""
    xobjects = page.obj.Resources.XObject
    names = list(xobjects.keys())
    if len(names) != 1:
        raise InvalidDocument("Unexpected image conversion result.")
    ximage = xobjects[names[0]]
    width, height = float(ximage.Width), float(ximage.Height)
    if frame.orientation >= 5:
        width, height = height, width  # displayed size after a quarter turn
    page_w, page_h = A4 if height >= width else (A4[1], A4[0])
    box_w, box_h = page_w - 2 * MARGIN, page_h - 2 * MARGIN
    scale = min(box_w / width, box_h / height)
    if frame.dpi and frame.dpi >= 72:
        scale = min(scale, 72.0 / frame.dpi)
    draw_w, draw_h = width * scale, height * scale
    x, y = (page_w - draw_w) / 2, (page_h - draw_h) / 2
    a, b, c, d, e, f = _ORIENT[frame.orientation]
    content = (
        f"q {draw_w:.4f} 0 0 {draw_h:.4f} {x:.4f} {y:.4f} cm "
        f"{a} {b} {c} {d} {e} {f} cm {names[0]} Do Q"
    ).encode()
    page.obj.MediaBox = pikepdf.Array([0, 0, round(page_w, 4), round(page_h, 4)])
    for key in ("/CropBox", "/Rotate", "/UserUnit", "/TrimBox", "/ArtBox", "/BleedBox"):
        if key in page.obj:
            del page.obj[key]
    page.obj.Contents = pdf.make_stream(content)


def _register_heif() -> None:
    """Teach Pillow HEIF/HEIC (pillow-heif), once; without it HEIC is refused clearly."""
    global _heif_registered
    if _heif_registered:
        return
    try:
        import pillow_heif
    except ImportError as exc:  # pragma: no cover - it is a dependency
        raise UnsupportedFileType(
            "HEIC photos are not supported on this server; send JPEG instead."
        ) from exc
    pillow_heif.register_heif_opener()
    _heif_registered = True
