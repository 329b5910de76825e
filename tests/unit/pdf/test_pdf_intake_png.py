"""PNG intake: image data embedded as it is (medsign.pdf.png) must show what img2pdf showed.

The reference is the previous path itself: with :func:`medsign.pdf.png.parse` answering
None every PNG goes through img2pdf as before. Both PDFs are rendered by poppler
(``pdftoppm``) and compared pixel by pixel, exactly (PNG is lossless).
"""

from __future__ import annotations

import functools
import io
import random
import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageCms, ImageOps, PngImagePlugin

from medsign import errors
from medsign.pdf import png
from medsign.pdf.images import image_pages
from medsign.pdf.intake import IntakeLimits, NormalizedPdf, SourceFile, normalize
from medsign.pdf.objects import Stream
from medsign.pki import DevCA, SealKey
from tests.unit.pdf import intake_samples as samples
from tests.unit.pdf.intake_checks import sealed_alone_and_glued

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) missing"
)
SIZE = (61, 37)  # odd sizes: rows that do not end on a byte boundary at low bit depths


# --- building PNG files ----------------------------------------------------------------


def chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(body, zlib.crc32(kind))
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk of a PNG."""
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        out.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def assemble(parts: list[tuple[bytes, bytes]]) -> bytes:
    return png.SIGNATURE + b"".join(chunk(kind, body) for kind, body in parts)


def idat(data: bytes) -> bytes:
    return b"".join(body for kind, body in chunks(data) if kind == b"IDAT")


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _filter(kind: int, row: bytes, prev: bytes, bpp: int) -> bytes:
    """One scanline filtered with filter type ``kind`` (PNG §9.2)."""
    out = bytearray([kind])
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        predictor = (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]
        out.append((x - predictor) & 0xFF)
    return bytes(out)


def encode(
    size: tuple[int, int],
    colour: int,
    depth: int,
    rows: list[bytes],
    *,
    palette: bytes = b"",
    idat_size: int = 1 << 30,
) -> bytes:
    """A PNG by hand; scanline i uses filter type i % 5, so every predictor is exercised."""
    channels = {0: 1, 2: 3, 3: 1}[colour]
    bpp = max(1, channels * depth // 8)
    prev = bytes(len(rows[0]))
    raw = bytearray()
    for i, row in enumerate(rows):
        raw += _filter(i % 5, row, prev, bpp)
        prev = row
    stream = zlib.compress(bytes(raw))
    ihdr = struct.pack(">IIBBBBB", size[0], size[1], depth, colour, 0, 0, 0)
    parts = [(b"IHDR", ihdr)]
    if palette:
        parts.append((b"PLTE", palette))
    parts += [(b"IDAT", stream[i : i + idat_size]) for i in range(0, len(stream), idat_size)]
    return assemble([*parts, (b"IEND", b"")])


def random_rows(size: tuple[int, int], bits_per_pixel: int, seed: int) -> list[bytes]:
    rnd = random.Random(seed)
    width = (size[0] * bits_per_pixel + 7) // 8
    pad = (-size[0] * bits_per_pixel) % 8
    rows = []
    for _ in range(size[1]):
        row = bytearray(rnd.randbytes(width))
        if pad:
            row[-1] &= 0xFF << pad & 0xFF  # PNG leaves unused low bits of a row 0
        rows.append(bytes(row))
    return rows


def pillow_png(img: Image.Image, **save: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **save)
    return buf.getvalue()


def noise(mode: str, seed: int = 1) -> Image.Image:
    bands = {"L": 1, "RGB": 3}[mode]
    return Image.frombytes(mode, SIZE, random.Random(seed).randbytes(SIZE[0] * SIZE[1] * bands))


@functools.cache
def srgb() -> bytes:
    """An sRGB profile from LittleCMS, made once: its header carries the time it was made
    (ICC.1 §7.2.8), so two made a second apart differ."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))  # ICC s15Fixed16Number


def grey_icc() -> bytes:
    """A minimal greyscale ICC v2 display profile (ICC.1:2001-04: header, desc, wtpt,
    kTRC gamma 2.2, cprt), as scanners embed them; Pillow has no maker for one."""
    text = b"medsign test grey gamma 2.2\x00"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(4 + 4 + 2 + 1 + 67)
    tags = [
        (b"desc", desc),
        (b"wtpt", b"XYZ " + bytes(4) + _s15(0.9642) + _s15(1.0) + _s15(0.8249)),
        (b"kTRC", b"curv" + bytes(4) + struct.pack(">IH", 1, 0x0233)),
        (b"cprt", b"text" + bytes(4) + b"no copyright\x00"),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data + bytes(-len(data) % 4)
    header = (
        struct.pack(">I", offset + len(body))
        + b"lcms"
        + struct.pack(">I", 0x02100000)
        + b"mntrGRAYXYZ "
        + bytes(12)  # date
        + b"acspAPPL"
        + bytes(24)  # flags, manufacturer, model, attributes, intent
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)  # D50
        + bytes(48)  # creator, id, reserved
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def exif(orientation: int) -> bytes:
    tags = Image.Exif()
    tags[0x0112] = orientation
    return tags.tobytes()


def move_after_idat(data: bytes, kind: bytes) -> bytes:
    """The same PNG with its ``kind`` chunks moved after the image data (allowed for
    eXIf and text chunks; Pillow only finds them when it decodes the image)."""
    parts = chunks(data)
    moved = [p for p in parts if p[0] == kind]
    rest = [p for p in parts if p[0] != kind]
    return assemble([*rest[:-1], *moved, rest[-1]])


# --- the cases ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    data: bytes
    colour: int  # IHDR colour type expected
    depth: int


def _cases() -> Iterator[tuple[str, Callable[[], Case]]]:
    def grey8() -> Case:
        return Case(pillow_png(noise("L"), dpi=(150, 150)), 0, 8)

    def rgb8() -> Case:
        return Case(pillow_png(noise("RGB")), 2, 8)

    def grey16() -> Case:
        raw = random.Random(3).randbytes(SIZE[0] * SIZE[1] * 2)
        return Case(pillow_png(Image.frombytes("I;16", SIZE, raw)), 0, 16)

    def bilevel() -> Case:
        return Case(pillow_png(noise("L").convert("1")), 0, 1)

    def palette(bits: int) -> Callable[[], Case]:
        def make() -> Case:
            img = noise("RGB").quantize(1 << bits)
            return Case(pillow_png(img, bits=bits), 3, bits)

        return make

    def by_hand(colour: int, depth: int) -> Callable[[], Case]:
        def make() -> Case:
            channels = {0: 1, 2: 3, 3: 1}[colour]
            rows = random_rows(SIZE, channels * depth, seed=depth * 10 + colour)
            plte = random.Random(9).randbytes(3 << depth) if colour == 3 else b""
            return Case(
                encode(SIZE, colour, depth, rows, palette=plte, idat_size=97), colour, depth
            )

        return make

    def icc_rgb() -> Case:
        return Case(pillow_png(noise("RGB"), icc_profile=srgb()), 2, 8)

    def icc_grey() -> Case:
        return Case(pillow_png(noise("L"), icc_profile=grey_icc()), 0, 8)

    def icc_palette() -> Case:
        return Case(pillow_png(noise("RGB").quantize(200), icc_profile=srgb()), 3, 8)

    def exif_rotated(orientation: int, after: bool = False) -> Callable[[], Case]:
        def make() -> Case:
            data = pillow_png(noise("RGB"), exif=exif(orientation), dpi=(96, 96))
            return Case(move_after_idat(data, b"eXIf") if after else data, 2, 8)

        return make

    def xmp_rotated() -> Case:
        info = PngImagePlugin.PngInfo()
        info.add_itxt(
            "XML:com.adobe.xmp",
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
            '02/22-rdf-syntax-ns#"><rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/"'
            ' tiff:Orientation="8"/></rdf:RDF></x:xmpmeta>',
        )
        data = pillow_png(noise("L"), pnginfo=info)
        return Case(move_after_idat(data, b"iTXt"), 0, 8)

    yield "grey-8", grey8
    yield "rgb-8", rgb8
    yield "grey-16", grey16
    yield "grey-1", bilevel
    yield "grey-2-filters", by_hand(0, 2)
    yield "grey-4-filters", by_hand(0, 4)
    yield "grey-8-filters", by_hand(0, 8)
    yield "rgb-16-filters", by_hand(2, 16)
    yield "rgb-8-filters", by_hand(2, 8)
    yield "palette-1", palette(1)
    yield "palette-2", palette(2)
    yield "palette-4", palette(4)
    yield "palette-8", palette(8)
    yield "palette-2-filters", by_hand(3, 2)
    yield "icc-rgb", icc_rgb
    yield "icc-grey", icc_grey
    yield "icc-palette", icc_palette
    yield "exif-6", exif_rotated(6)
    yield "exif-5", exif_rotated(5)
    yield "exif-8-after-idat", exif_rotated(8, after=True)
    yield "xmp-8-after-idat", xmp_rotated


CASES = dict(_cases())


def run(name: str, data: bytes) -> NormalizedPdf:
    return normalize([SourceFile(name, None, data)], IntakeLimits())


def as_before(monkeypatch: pytest.MonkeyPatch, name: str, data: bytes) -> NormalizedPdf:
    """The PDF of the previous path (img2pdf), for reference."""
    with monkeypatch.context() as patch:
        patch.setattr(png, "parse", lambda data, filename: None)
        return run(name, data)


def render(data: bytes, path: Path) -> Image.Image:
    path.with_suffix(".pdf").write_bytes(data)
    subprocess.run(
        ["pdftoppm", "-r", "30", "-png", "-singlefile", str(path.with_suffix(".pdf")), str(path)],
        check=True,
    )
    with Image.open(path.with_suffix(".png")) as img:
        return img.convert("RGB")


def assert_same_pixels(a: Image.Image, b: Image.Image) -> None:
    assert a.size == b.size
    assert ImageOps.invert(a).getbbox() is not None  # not a blank page
    if a.tobytes() != b.tobytes():
        diff = sum(1 for p, q in zip(a.getdata(), b.getdata(), strict=True) if p != q)
        raise AssertionError(f"{diff} of {a.width * a.height} rendered pixels differ")


def assert_geometry(data: bytes, content: bytes) -> None:
    """The page draws the image per Pillow's own reading of the whole file (decoded, so
    chunks after IDAT count): EXIF/XMP orientation (Exif 2.32 §4.6.4 table 4) and dpi."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        orientation = int(img.getexif().get(0x0112, 1))
        dpi = img.info.get("dpi")
        width, height = img.size
    ops = content.split()
    assert ops[0] == b"q" and ops[7] == ops[14] == b"cm" and ops[15:] == [b"/Im0", b"Do", b"Q"]
    matrix = {
        1: "1 0 0 1 0 0",
        2: "-1 0 0 1 1 0",
        3: "-1 0 0 -1 1 1",
        4: "1 0 0 -1 0 1",
        5: "0 -1 -1 0 1 1",
        6: "0 -1 1 0 0 1",
        7: "0 1 1 0 0 0",
        8: "0 1 -1 0 1 0",
    }[orientation]
    assert b" ".join(ops[8:14]).decode() == matrix
    shown = (height, width) if orientation >= 5 else (width, height)
    drawn = (float(ops[1]), float(ops[4]))
    if dpi:  # small images at their stated size
        assert drawn == pytest.approx((shown[0] * 72 / dpi[0], shown[1] * 72 / dpi[1]), abs=1e-3)
    else:  # fitted to the A4 box: same aspect ratio
        assert drawn[0] / drawn[1] == pytest.approx(shown[0] / shown[1], rel=1e-3)


def page_facts(data: bytes) -> tuple[list[float], bytes]:
    """The page's size and content stream (where and how the image is drawn)."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        (page,) = pdf.pages
        return [float(v) for v in page.mediabox], page.Contents.read_bytes()


# --- tests -------------------------------------------------------------------------------


@needs_poppler
@pytest.mark.parametrize("name", list(CASES))
def test_png_is_embedded_as_is_and_renders_as_before(
    name: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    qpdf_check: Callable[[bytes], None],
) -> None:
    case = CASES[name]()
    assert (case.data[25], case.data[24]) == (case.colour, case.depth)  # IHDR as intended
    result = run(f"{name}.png", case.data)
    qpdf_check(result.data)
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        (ximage,) = pdf.pages[0].Resources.XObject.values()
        assert ximage.read_raw_bytes() == idat(case.data)  # the IDAT data, not re-encoded
        assert ximage.Filter == pikepdf.Name.FlateDecode
        assert int(ximage.DecodeParms.Predictor) == 15
        assert int(ximage.BitsPerComponent) == case.depth
        assert pdf.pdf_version == ("1.5" if case.depth == 16 else "1.4")
        assert not pdf.get_warnings()

    box, content = page_facts(result.data)
    assert_geometry(case.data, content)
    before = as_before(monkeypatch, f"{name}.png", case.data)
    box_before, content_before = page_facts(before.data)
    assert (box, content) == (box_before, content_before)  # size, dpi and EXIF matrix
    assert_same_pixels(render(result.data, tmp_path / "now"), render(before.data, tmp_path / "was"))


@pytest.mark.parametrize("name", ["grey-8", "rgb-8", "grey-16", "grey-1", "palette-8"])
def test_decoded_stream_is_the_pixels_pillow_reads(name: str) -> None:
    """qpdf undoes /FlateDecode and the PNG predictors with our /DecodeParms: the samples
    must be Pillow's (wrong /Colors, /Columns or /BitsPerComponent scramble them)."""
    case = CASES[name]()
    with Image.open(io.BytesIO(case.data)) as img:
        expected = img.tobytes("raw", "I;16B") if img.mode == "I;16" else img.tobytes()
    with pikepdf.open(io.BytesIO(run("a.png", case.data).data)) as pdf:
        (ximage,) = pdf.pages[0].Resources.XObject.values()
        assert ximage.read_bytes() == expected


def test_hand_made_rows_decode_to_themselves() -> None:
    """Every filter type at 2, 4 and 16 bits per sample, many small IDAT chunks."""
    for colour, depth in ((0, 2), (0, 4), (2, 16), (3, 4)):
        channels = 3 if colour == 2 else 1
        rows = random_rows(SIZE, channels * depth, seed=7)
        plte = bytes(range(48)) if colour == 3 else b""
        data = encode(SIZE, colour, depth, rows, palette=plte, idat_size=50)
        with pikepdf.open(io.BytesIO(run("a.png", data).data)) as pdf:
            (ximage,) = pdf.pages[0].Resources.XObject.values()
            assert ximage.read_bytes() == b"".join(rows), (colour, depth)
            if colour == 3:
                assert list(ximage.ColorSpace)[:3] == ["/Indexed", "/DeviceRGB", 15]
                assert bytes(ximage.ColorSpace[3]) == plte


def test_icc_profile_becomes_iccbased() -> None:
    for name, profile, n, device in (
        ("icc-rgb", srgb(), 3, "/DeviceRGB"),
        ("icc-palette", srgb(), 3, "/DeviceRGB"),
        ("icc-grey", grey_icc(), 1, "/DeviceGray"),
    ):
        with pikepdf.open(io.BytesIO(run("a.png", CASES[name]().data).data)) as pdf:
            (ximage,) = pdf.pages[0].Resources.XObject.values()
            space = ximage.ColorSpace
            if name == "icc-palette":  # ISO 32000-1 §8.6.6.3: any CIE-based base space
                assert space[0] == "/Indexed"
                space = space[1]
            assert space[0] == "/ICCBased"
            assert int(space[1].N) == n and space[1].Alternate == device
            assert space[1].read_bytes() == profile


def test_icc_profile_of_another_colour_space_is_ignored() -> None:
    """An RGB profile in a greyscale PNG (ImageMagick did this) would be an /ICCBased
    space with the wrong /N (ISO 32000-1 §8.6.5.5): DeviceGray instead."""
    data = pillow_png(noise("L"), icc_profile=srgb())
    with pikepdf.open(io.BytesIO(run("a.png", data).data)) as pdf:
        (ximage,) = pdf.pages[0].Resources.XObject.values()
        assert ximage.ColorSpace == "/DeviceGray"
        assert ximage.read_raw_bytes() == idat(data)


def test_image_data_is_not_copied_before_the_file_is_written() -> None:
    data = encode(SIZE, 0, 8, random_rows(SIZE, 8, 1), idat_size=100)
    group = image_pages(data, "image/png", "a.png", max_pixels=10**6, max_pages=5)
    (stream,) = [o for o in group.objects.objects if isinstance(o, Stream)]
    assert isinstance(stream.data, tuple) and len(stream.data) > 10
    assert all(isinstance(p, memoryview) and p.obj is data for p in stream.data)


def test_pixels_are_never_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the 1 x 1 stand-in is loaded (for eXIf after IDAT): never the upload's pixels."""
    load = PngImagePlugin.PngImageFile.load
    loaded: list[tuple[int, int]] = []

    def spy(self: PngImagePlugin.PngImageFile) -> object:
        loaded.append(self.size)
        return load(self)

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", spy)
    for name in ("rgb-8", "exif-8-after-idat", "xmp-8-after-idat", "icc-palette"):
        run("a.png", CASES[name]().data)
    assert loaded and set(loaded) == {(1, 1)}


def test_thousands_of_tiny_idat_chunks_are_joined_once(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode(SIZE, 0, 8, random_rows(SIZE, 8, 1), idat_size=20)
    write_with_views = run("a.png", data).data
    monkeypatch.setattr(png, "_MAX_PIECES", 10)
    group = image_pages(data, "image/png", "a.png", max_pixels=10**6, max_pages=5)
    (stream,) = [o for o in group.objects.objects if isinstance(o, Stream)]
    assert isinstance(stream.data, tuple) and len(stream.data) == 1
    assert stream.joined() == idat(data)
    assert run("a.png", data).data == write_with_views


def test_png_glued_with_a_pdf_and_sealed(
    qpdf_check: Callable[[bytes], None], seal_key: SealKey, dev_ca: DevCA
) -> None:
    """Glued with a PDF the PNG page is read by qpdf from the writer's pieces (many
    IDAT views); the result is sound and can be sealed."""
    scan = encode(SIZE, 2, 8, random_rows(SIZE, 24, 5), idat_size=64)
    glued = sealed_alone_and_glued("scan.png", scan, qpdf_check, seal_key, dev_ca)
    assert glued.pages == 3
    with pikepdf.open(io.BytesIO(glued.data)) as pdf:
        (ximage,) = pdf.pages[2].Resources.XObject.values()
        assert ximage.read_raw_bytes() == idat(scan)


# --- damage --------------------------------------------------------------------------------


def _with_idat(data: bytes, stream: bytes) -> bytes:
    parts = [p for p in chunks(data) if p[0] != b"IDAT"]
    return assemble([*parts[:-1], (b"IDAT", stream), parts[-1]])


def _damaged_cases() -> Iterator[tuple[str, bytes, str]]:
    good = encode(SIZE, 0, 8, random_rows(SIZE, 8, 2))
    stream = idat(good)
    at = good.index(b"IDAT") + 20
    flipped = good[:at] + bytes([good[at] ^ 0x01]) + good[at + 1 :]  # CRC no longer fits
    yield "crc", flipped, "checksum (CRC) of its IDAT chunk"
    bad = bytearray(stream)
    bad[len(bad) // 2] ^= 0xFF
    yield "zlib", _with_idat(good, bytes(bad)), "cannot be decompressed"
    raw = zlib.decompress(stream)
    yield "short", _with_idat(good, zlib.compress(raw[: len(raw) // 2])), "cut short"
    yield "no-adler", _with_idat(good, stream[:-4]), "cut short"
    row = 1 + SIZE[0]
    wrong = raw[: 3 * row] + b"\x07" + raw[3 * row + 1 :]
    yield "filter", _with_idat(good, zlib.compress(wrong)), "invalid filter type"
    yield "truncated", good[: len(good) * 2 // 3], "cut short"
    header_crc = bytearray(good)
    header_crc[20] ^= 0x01  # IHDR width
    yield "ihdr-crc", bytes(header_crc), "checksum (CRC) of its IHDR chunk"


@pytest.mark.parametrize(("name", "data", "why"), list(_damaged_cases()))
def test_damaged_png_is_refused_with_a_clear_message(name: str, data: bytes, why: str) -> None:
    with pytest.raises(errors.InvalidDocument) as exc:
        run("scan.png", data)
    assert "'scan.png' is damaged" in exc.value.detail and why in exc.value.detail, name


def test_pixel_limit_is_checked_before_the_image_data_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(direct: png.DirectPng, filename: str) -> None:
        raise AssertionError("image data inflated before the pixel limit was checked")

    monkeypatch.setattr(png, "check_image_data", fail)
    with pytest.raises(errors.LimitExceeded):
        run("bomb.png", samples.png_bomb(30000, 30000))


# --- what still goes the img2pdf way -----------------------------------------------------------


def _adam7(size: tuple[int, int], rows: list[bytes]) -> bytes:
    """The same grey 8-bit image stored interlaced (PNG §8.2, Adam7; filter type 0)."""
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2)]
    passes.append((0, 1, 1, 2))
    raw = bytearray()
    for x0, y0, dx, dy in passes:
        if x0 < size[0] and y0 < size[1]:
            for y in range(y0, size[1], dy):
                raw += b"\x00" + rows[y][x0::dx]
    ihdr = struct.pack(">IIBBBBB", size[0], size[1], 8, 0, 0, 0, 1)
    return assemble([(b"IHDR", ihdr), (b"IDAT", zlib.compress(bytes(raw))), (b"IEND", b"")])


@needs_poppler
def test_interlaced_png_is_decoded_and_shows_the_same(tmp_path: Path) -> None:
    rows = random_rows(SIZE, 8, 4)
    plain = encode(SIZE, 0, 8, rows)
    interlaced = _adam7(SIZE, rows)
    assert png.parse(interlaced, "a.png") is None and png.parse(plain, "a.png") is not None
    result = run("a.png", interlaced)
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        (ximage,) = pdf.pages[0].Resources.XObject.values()
        assert ximage.read_bytes() == b"".join(rows)  # re-encoded, not interlaced
    assert_same_pixels(
        render(result.data, tmp_path / "i"), render(run("a.png", plain).data, tmp_path / "p")
    )


def test_transparency_and_animation_keep_the_previous_path() -> None:
    rgba = pillow_png(Image.new("RGBA", SIZE, (200, 30, 30, 128)))
    keyed = pillow_png(noise("RGB"), transparency=(0, 0, 0))
    indexed = pillow_png(noise("RGB").quantize(16), transparency=0)
    for data in (rgba, keyed, indexed):
        assert png.parse(data, "a.png") is None
        with pikepdf.open(io.BytesIO(run("a.png", data).data)) as pdf:
            (ximage,) = pdf.pages[0].Resources.XObject.values()
            assert "/SMask" in ximage  # img2pdf's soft mask, as before
    frames = [Image.new("RGB", SIZE, c) for c in ("red", "green")]
    buf = io.BytesIO()
    frames[0].save(buf, "PNG", save_all=True, append_images=frames[1:])
    assert png.parse(buf.getvalue(), "a.png") is None
    with pytest.raises(errors.InvalidDocument):  # as before: one page made of two frames
        run("anim.png", buf.getvalue())


def test_a_png_cut_into_too_many_chunks_is_refused_quickly() -> None:
    """A hostile file of a million tiny IDAT chunks would cost seconds to walk."""
    data = samples.image("PNG", (64, 64))
    parts = chunks(data)
    stream = b"".join(body for kind, body in parts if kind == b"IDAT")
    tiny = [(b"IDAT", stream[i : i + 1]) for i in range(len(stream))]
    tiny += [(b"IDAT", b"")] * (png.MAX_CHUNKS + 1 - len(tiny))
    head = [p for p in parts if p[0] not in (b"IDAT", b"IEND")]
    hostile = assemble([*head, *tiny, (b"IEND", b"")])
    with pytest.raises(errors.InvalidDocument, match="more than 100000 pieces"):
        normalize([SourceFile("tiny.png", None, hostile)], IntakeLimits())
    fine = assemble([*head, *tiny[: len(stream)], (b"IEND", b"")])
    assert normalize([SourceFile("ok.png", None, fine)], IntakeLimits()).pages == 1
