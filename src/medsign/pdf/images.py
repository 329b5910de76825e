"""Images (JPEG, PNG, TIFF, WebP, HEIC) to PDF pages: one A4 page per image or frame.

The result is a :class:`~medsign.pdf.writer.PageGroup` — pages and the image objects
they show — that :mod:`medsign.pdf.writer` writes into the normalized PDF, or that
:func:`open_pages` opens with pikepdf when images are glued with PDFs.

* Pixel limits are checked from the image header, before any pixel is decoded
  (decompression bombs).
* A plain JPEG is embedded as it is, as /DCTDecode (ISO 32000-1 §7.4.8): the uploaded
  bytes are the image's stream data. A non-interlaced PNG without transparency is
  embedded as it is too, as /FlateDecode with PNG predictors (:mod:`medsign.pdf.png`):
  its IDAT chunks in the upload are the stream data. Other JPEGs, PNGs and TIFF go
  through img2pdf, which embeds the encoded data unchanged where PDF can carry it
  (TIFF as /FlateDecode with predictors, CCITT G4 as /CCITTFaxDecode) or re-encodes
  it losslessly (interlaced PNG; transparency as a soft mask); its image objects
  (with /SMask, /DecodeParms, /Decode, ICC profiles) are taken over as they are,
  with their encoded data.
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

import bisect
import functools
import io
import itertools
import warnings
from dataclasses import dataclass
from decimal import Decimal
from typing import BinaryIO, cast

import img2pdf
import pikepdf
from PIL import Image, ImageOps, UnidentifiedImageError

from medsign.errors import InvalidDocument, LimitExceeded, UnsupportedFileType
from medsign.pdf import png, sniff, tiff
from medsign.pdf.objects import Name, ObjectSet, PdfValue, Raw, Ref, Stream
from medsign.pdf.writer import Page, PageGroup, pdf_chunks

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
    bilevel: bool = False  # a TIFF frame of Pillow mode "1" (:mod:`medsign.pdf.tiff`)


def image_pages(
    data: bytes, media_type: str, filename: str, *, max_pixels: int, max_pages: int
) -> PageGroup:
    """Pages (one per image frame) for the image in ``data``, for :mod:`medsign.pdf.writer`.

    Raises :class:`LimitExceeded` (pixels, frames), :class:`InvalidDocument` (cannot
    be decoded); nothing else.
    """
    try:
        return _image_pages(data, media_type, filename, max_pixels, max_pages)
    except (InvalidDocument, LimitExceeded):
        raise
    except Image.DecompressionBombError as exc:
        raise _pixels_error(filename, max_pixels) from exc
    except Exception as exc:  # decoders on hostile input: any failure is a bad file
        raise InvalidDocument(
            f"The image {filename!r} is damaged or cannot be read ({type(exc).__name__})."
        ) from exc


def _image_pages(
    data: bytes, media_type: str, filename: str, max_pixels: int, max_pages: int
) -> PageGroup:
    if media_type == sniff.HEIC:
        _register_heif()
    direct = png.parse(data, filename) if media_type == sniff.PNG else None
    with warnings.catch_warnings():
        # our own limit below replaces Pillow's DecompressionBombWarning
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except UnidentifiedImageError as exc:
            raise InvalidDocument(f"The image {filename!r} cannot be read.") from exc
        with image:
            if direct is not None and image.format == "PNG":
                with Image.open(io.BytesIO(direct.metadata)) as metadata:
                    frames = _frames(image, filename, max_pixels, max_pages, metadata)
                return _png_pages(direct, image, frames[0], filename)
            frames = _frames(image, filename, max_pixels, max_pages)
            if media_type == sniff.JPEG and len(frames) == 1 and _embeddable_jpeg(image):
                return _jpeg_pages(_mpo_primary(image, data), image, frames[0])
            if media_type == sniff.TIFF and all(f.bilevel for f in frames):
                return _bilevel_tiff_pages(image, frames)
            if media_type in (sniff.JPEG, sniff.PNG, sniff.TIFF):
                encoded = _img2pdf(data)
                if encoded is None:
                    encoded = _reencode(image, len(frames), lossy=False)
                    frames = [_Frame(1, f.dpi) for f in frames]  # exif_transpose applied
            else:
                lossy = media_type == sniff.HEIC or not _webp_lossless(data)
                encoded = _reencode(image, len(frames), lossy=lossy)
                frames = [_Frame(1, f.dpi) for f in frames]  # exif_transpose applied
    return _converted_pages(encoded, frames, filename)


def _frames(
    image: Image.Image,
    filename: str,
    max_pixels: int,
    max_pages: int,
    metadata: Image.Image | None = None,
) -> list[_Frame]:
    """Header facts of every frame; limits checked without decoding pixels.

    A Multi-Picture (MPO) photo is one page: phones store a depth map, a preview or
    the other half of a stereo pair after the primary image (CIPA DC-007 §5.2).
    ``metadata`` (one frame), if given, is read for EXIF orientation and dpi instead
    of ``image``: a PNG's 1 x 1 stand-in, as Pillow decodes a PNG in ``getexif`` when
    no eXIf chunk precedes the image data.
    """
    count = 1 if image.format == "MPO" else getattr(image, "n_frames", 1)
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
        facts = image if metadata is None else metadata
        orientation = int(facts.getexif().get(0x0112, 1) or 1)
        if image.format == "TIFF" and _pillow_turns_tiff():
            orientation = 1  # the frame is already upright as Pillow decodes it
        dpi = facts.info.get("dpi")
        x_dpi = float(dpi[0]) if isinstance(dpi, tuple) and dpi and dpi[0] else None
        frames.append(
            _Frame(orientation if orientation in _ORIENT else 1, x_dpi, tiff.bilevel(image))
        )
    if count > 1:
        image.seek(0)
    return frames


@functools.cache
def _pillow_turns_tiff() -> bool:
    """Whether Pillow presents TIFF frames upright (Pillow 13 applies the Orientation
    tag 274, TIFF 6.0 §8, as it opens and decodes a frame). Then the page must not turn
    them again; older Pillow leaves that to the page's matrix. Probed once, with a
    2 x 1 TIFF marked "rotate 90° clockwise to view" (6)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.new("L", (2, 1)).save(buf, "TIFF", exif=exif)
    with Image.open(buf) as probe:
        return probe.size == (1, 2)


def _png_pages(
    direct: png.DirectPng, image: Image.Image, frame: _Frame, filename: str
) -> PageGroup:
    """One page whose image XObject's data is the PNG's IDAT data (:mod:`medsign.pdf.png`),
    with the iCCP profile Pillow decompressed, if any (an undecodable one is ignored, as
    before); the image data is checked only now, after the pixel limits."""
    png.check_image_data(direct, filename)
    icc = image.info.get("icc_profile")
    objects, ref, minor = png.image_objects(direct, icc if isinstance(icc, bytes) else None)
    return PageGroup(
        [_lay_out(direct.width, direct.height, frame, "Im0", ref)], objects, (1, minor)
    )


def _bilevel_tiff_pages(image: Image.Image, frames: list[_Frame]) -> PageGroup:
    """One page per frame, each frame decoded and encoded again as one CCITT Group 4
    strip on its own (:mod:`medsign.pdf.tiff`), after every frame's limits are checked."""
    objects = ObjectSet()
    pages = []
    for index, frame in enumerate(frames):
        image.seek(index)
        g4 = tiff.encode_frame(image)
        ref = objects.add(tiff.image_stream(g4))
        pages.append(_lay_out(g4.width, g4.height, frame, "Im0", ref))
        del g4
    return PageGroup(pages, objects)


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


_JPEG_SPACES = {"L": "DeviceGray", "RGB": "DeviceRGB", "CMYK": "DeviceCMYK"}


def _embeddable_jpeg(image: Image.Image) -> bool:
    """A plain 8-bit baseline or progressive JPEG PDF's /DCTDecode carries as it is."""
    return image.format in ("JPEG", "MPO") and image.mode in _JPEG_SPACES


def _mpo_primary(image: Image.Image, data: bytes) -> bytes:
    """The primary image's own JPEG bytes of an MPO file (CIPA DC-007 §5.2.3.3: the
    first MP entry, at offset 0, of the stated size); any other JPEG as it is."""
    if image.format != "MPO":
        return data
    try:
        size = int(getattr(image, "mpinfo", {})[0xB002][0]["Size"])
    except (KeyError, IndexError, TypeError, ValueError):
        return data
    return data[:size] if 0 < size < len(data) and data[size - 2 : size] == b"\xff\xd9" else data


def _jpeg_pages(data: bytes, image: Image.Image, frame: _Frame) -> PageGroup:
    """One page whose image XObject is ``data`` itself (/DCTDecode, §7.4.8).

    The uploaded bytes are the stream data (not copied): the writer puts them into the
    file as they are. Adobe CMYK JPEGs (APP14) store inverted values, hence
    /Decode [1 0 ...], as img2pdf does.
    """
    width, height = image.size
    ximage: dict[str, PdfValue] = {
        "Type": Name("XObject"),
        "Subtype": Name("Image"),
        "Width": width,
        "Height": height,
        "ColorSpace": Name(_JPEG_SPACES[image.mode]),
        "BitsPerComponent": 8,
    }
    if image.mode == "CMYK" and "adobe" in image.info:
        ximage["Decode"] = [1, 0, 1, 0, 1, 0, 1, 0]
    ximage["Filter"] = Name("DCTDecode")
    objects = ObjectSet()
    ref = objects.add(Stream(ximage, data))
    return PageGroup([_lay_out(width, height, frame, "Im0", ref)], objects)


def _converted_pages(encoded: bytes, frames: list[_Frame], filename: str) -> PageGroup:
    """The image XObjects of img2pdf's one-image-per-page PDF, laid out by :func:`_lay_out`.

    Each page's image (with its /SMask, ICC profile, /DecodeParms, /Decode) is copied
    object by object with its still encoded data; img2pdf's page geometry, content and
    document info are not kept.
    """
    objects = ObjectSet()
    pages = []
    with pikepdf.open(io.BytesIO(encoded)) as pdf:
        if len(pdf.pages) != len(frames):
            raise InvalidDocument(f"The image {filename!r} could not be converted page by page.")
        copied: dict[tuple[int, int], Ref] = {}
        for page, frame in zip(pdf.pages, frames, strict=True):
            xobjects = page.obj.Resources.XObject
            names = list(xobjects.keys())
            if len(names) != 1:
                raise InvalidDocument("Unexpected image conversion result.")
            ximage = xobjects[names[0]]
            ref = _copy(ximage, objects, copied)
            assert isinstance(ref, Ref)
            width, height = int(ximage.Width), int(ximage.Height)
            pages.append(_lay_out(width, height, frame, names[0][1:], ref))
        major, _, minor = str(pdf.pdf_version).partition(".")
        version = (int(major), int(minor or 0))
    return PageGroup(pages, objects, version)


def _copy(obj: object, objects: ObjectSet, copied: dict[tuple[int, int], Ref]) -> PdfValue:
    """A pikepdf object as a :mod:`medsign.pdf.objects` value; indirect ones become
    objects of ``objects`` (once each), streams with their raw (encoded) data."""
    if isinstance(obj, pikepdf.Object) and obj.is_indirect:
        known = copied.get(obj.objgen)
        if known is not None:
            return known
        ref = objects.reserve()
        copied[obj.objgen] = ref
        if isinstance(obj, pikepdf.Stream):
            dictionary = {
                key[1:]: _copy(value, objects, copied)
                for key, value in obj.stream_dict.items()
                if key != "/Length"
            }
            objects.set(ref, Stream(dictionary, obj.read_raw_bytes()))
        else:
            objects.set(ref, _copy_direct(obj, objects, copied))
        return ref
    return _copy_direct(obj, objects, copied)


def _copy_direct(obj: object, objects: ObjectSet, copied: dict[tuple[int, int], Ref]) -> PdfValue:
    if obj is None or isinstance(obj, bool | int):
        return obj
    if isinstance(obj, Decimal):  # a real number, written as it was read
        return Raw(format(obj, "f").encode("ascii"))
    if isinstance(obj, pikepdf.Name):
        return Name(str(obj)[1:])
    if isinstance(obj, pikepdf.String):
        return bytes(obj)
    if isinstance(obj, pikepdf.Array):
        return [_copy(item, objects, copied) for item in obj]
    if isinstance(obj, pikepdf.Dictionary):
        return {key[1:]: _copy(value, objects, copied) for key, value in obj.items()}
    raise InvalidDocument(f"Unexpected image conversion result ({type(obj).__name__}).")


def open_pages(group: PageGroup) -> pikepdf.Pdf:
    """``group`` as a one-source PDF opened by pikepdf, to be merged with other PDFs.

    The file is read lazily by qpdf from the writer's pieces (:class:`_Joined`), so the
    image data is not copied before the merged PDF is written. The caller closes it.
    """
    return pikepdf.open(cast(BinaryIO, _Joined(*pdf_chunks([("", group)], bookmarks=False))))


class _Joined(io.RawIOBase):
    """A read-only, seekable file made of buffers laid end to end, never joined."""

    def __init__(self, *parts: bytes | memoryview) -> None:
        super().__init__()
        self._parts = [memoryview(p).cast("B") for p in parts]
        self._starts = [0, *itertools.accumulate(p.nbytes for p in self._parts)]
        self._size = self._starts[-1]
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
        index = bisect.bisect_right(self._starts, self._pos) - 1  # the part holding _pos
        while done < len(out) and 0 <= index < len(self._parts):
            start = self._pos - self._starts[index]
            chunk = self._parts[index][start : start + len(out) - done]
            out[done : done + len(chunk)] = chunk
            done += len(chunk)
            self._pos += len(chunk)
            index += 1
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


def _lay_out(width: int, height: int, frame: _Frame, name: str, image: Ref) -> Page:
    """An A4 page with margins showing ``image`` (``width`` x ``height`` pixels), oriented
    per EXIF: the transformation matrix (§8.3.4) turns the stored pixels upright."""
    shown_w, shown_h = float(width), float(height)
    if frame.orientation >= 5:
        shown_w, shown_h = shown_h, shown_w  # displayed size after a quarter turn
    page_w, page_h = A4 if shown_h >= shown_w else (A4[1], A4[0])
    box_w, box_h = page_w - 2 * MARGIN, page_h - 2 * MARGIN
    scale = min(box_w / shown_w, box_h / shown_h)
    if frame.dpi and frame.dpi >= 72:
        scale = min(scale, 72.0 / frame.dpi)
    draw_w, draw_h = shown_w * scale, shown_h * scale
    x, y = (page_w - draw_w) / 2, (page_h - draw_h) / 2
    a, b, c, d, e, f = _ORIENT[frame.orientation]
    content = (
        f"q {draw_w:.4f} 0 0 {draw_h:.4f} {x:.4f} {y:.4f} cm "
        f"{a} {b} {c} {d} {e} {f} cm /{name} Do Q"
    ).encode()
    return Page(round(page_w, 4), round(page_h, 4), content, {"XObject": {name: image}})


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
