"""Bilevel TIFF intake: frames re-encoded one by one as CCITT G4 (medsign.pdf.tiff) must show
what img2pdf showed.

The reference is the previous path itself: with :func:`medsign.pdf.tiff.bilevel` answering
False every TIFF goes through img2pdf as before. Both PDFs are rendered by poppler
(``pdftoppm -gray``) page by page and compared pixel by pixel, exactly (bilevel is
lossless). An independent check that black stays black: a frame black in its top-left
quadrant only must render dark there and light elsewhere.
"""

from __future__ import annotations

import io
import random
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageDraw, ImageOps, TiffImagePlugin

from medsign import errors
from medsign.pdf import tiff
from medsign.pdf.images import image_pages
from medsign.pdf.intake import IntakeLimits, NormalizedPdf, SourceFile, normalize
from medsign.pki import DevCA, SealKey
from tests.unit.pdf.intake_checks import sealed_alone_and_glued

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) missing"
)
SIZES = [(61, 37), (120, 75), (33, 90)]  # odd widths: rows not ending on a byte boundary


def frame(size: tuple[int, int], seed: int) -> Image.Image:
    """Bilevel noise with a black top-left quadrant and a white bottom-right one, so a
    mirrored, turned or inverted page cannot look the same."""
    rnd = random.Random(seed)
    img = Image.frombytes("L", size, rnd.randbytes(size[0] * size[1])).convert("1")
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.rectangle((0, 0, w // 2 - 1, h // 2 - 1), fill=0)
    draw.rectangle((w // 2, h // 2, w - 1, h - 1), fill=1)
    return img


def bilevel_tiff(
    compression: str,
    photometric: int,
    *,
    orientation: int = 1,
    dpi: int | None = 100,
    frames: list[Image.Image] | None = None,
) -> bytes:
    """A multi-page bilevel TIFF in several strips (as scanners write them).

    Pillow 13 cannot write WhiteIsZero bilevel TIFFs (its inversion loop for
    ``tiffinfo={262: 0}`` blackens the image), so the inverted pixels are written as
    BlackIsZero and PhotometricInterpretation is then set to 0 in every IFD: the same
    coded bits, now meaning the original pixels (TIFF 6.0 §3).
    """
    images = frames or [frame(size, seed) for seed, size in enumerate(SIZES)]
    if photometric == 0:
        images = [ImageOps.invert(img.convert("L")).convert("1") for img in images]
    info: dict[int, int] = {}
    if orientation != 1:
        info[274] = orientation
    extra: dict[str, object] = {"dpi": (dpi, dpi)} if dpi else {}
    buf = io.BytesIO()
    images[0].save(
        buf,
        "TIFF",
        compression=compression,
        tiffinfo=info,
        strip_size=64,  # several strips per frame
        save_all=True,
        append_images=images[1:],
        **extra,
    )
    return buf.getvalue() if photometric == 1 else white_is_zero(buf.getvalue())


def white_is_zero(data: bytes) -> bytes:
    """``data`` (little-endian TIFF, BlackIsZero) with PhotometricInterpretation 0 in
    every IFD (TIFF 6.0 §2: 12-byte entries; a SHORT value sits in the entry itself)."""
    out = bytearray(data)
    assert out[:4] == b"II*\x00"
    (ifd,) = struct.unpack_from("<I", out, 4)
    while ifd:
        (count,) = struct.unpack_from("<H", out, ifd)
        for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
            tag, kind, _n, value = struct.unpack_from("<HHIH", out, entry)
            if tag == 262:
                assert (kind, value) == (3, 1)
                struct.pack_into("<H", out, entry + 8, 0)
        (ifd,) = struct.unpack_from("<I", out, ifd + 2 + 12 * count)
    return bytes(out)


# Exif 2.32 §4.6.4 table 4: the operation that shows the stored pixels upright
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def upright_frame(stored: Image.Image, orientation: int) -> Image.Image:
    return stored if orientation == 1 else stored.transpose(_UPRIGHT[orientation])


def run(name: str, data: bytes) -> NormalizedPdf:
    return normalize([SourceFile(name, None, data)], IntakeLimits())


def as_before(monkeypatch: pytest.MonkeyPatch, name: str, data: bytes) -> NormalizedPdf:
    """The PDF of the previous path (img2pdf), for reference."""
    with monkeypatch.context() as patch:
        patch.setattr(tiff, "bilevel", lambda image: False)
        return run(name, data)


def render(data: bytes, path: Path) -> list[Image.Image]:
    """Every page, grey, at 50 dpi."""
    path.mkdir()
    (path / "a.pdf").write_bytes(data)
    subprocess.run(
        ["pdftoppm", "-r", "50", "-gray", str(path / "a.pdf"), str(path / "p")], check=True
    )
    pages = []
    for page in sorted(path.glob("p-*.pgm")):
        with Image.open(page) as img:
            pages.append(img.convert("L"))
    return pages


def contents(data: bytes) -> list[tuple[list[float], bytes]]:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return [([float(v) for v in p.mediabox], p.Contents.read_bytes()) for p in pdf.pages]


CASES = [
    (compression, photometric, orientation)
    for compression in ("group4", "group3", "tiff_lzw", "raw")
    for photometric in (0, 1)
    for orientation in (1, 6)
] + [("group4", 0, o) for o in (2, 3, 4, 5, 7, 8)]


@needs_poppler
@pytest.mark.parametrize(("compression", "photometric", "orientation"), CASES)
def test_bilevel_tiff_is_g4_and_renders_as_before(
    compression: str,
    photometric: int,
    orientation: int,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    qpdf_check: Callable[[bytes], None],
) -> None:
    data = bilevel_tiff(compression, photometric, orientation=orientation)
    with Image.open(io.BytesIO(data)) as img:  # the file is what the case says
        assert isinstance(img, TiffImagePlugin.TiffImageFile)
        assert img.tag_v2[262] == photometric
        assert len(img.tag_v2[273]) > 1 or compression == "raw"  # Pillow: raw in one strip
        assert img.info["compression"] == compression and img.mode == "1"
    result = run("scan.tif", data)
    qpdf_check(result.data)
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        assert len(pdf.pages) == len(SIZES)
        for page, (w, h) in zip(pdf.pages, SIZES, strict=True):
            size = (h, w) if orientation >= 5 else (w, h)  # decoded upright by Pillow
            (ximage,) = page.Resources.XObject.values()
            assert ximage.Filter == pikepdf.Name.CCITTFaxDecode
            assert (int(ximage.Width), int(ximage.Height)) == size
            assert ximage.ColorSpace == pikepdf.Name.DeviceGray
            assert int(ximage.BitsPerComponent) == 1 and "/Decode" not in ximage
            parms = ximage.DecodeParms
            assert (int(parms.K), int(parms.Columns), int(parms.Rows)) == (-1, *size)
            assert bool(parms.get("/BlackIs1", False))  # Pillow writes BlackIsZero
        assert not pdf.get_warnings()
    # the reference: img2pdf's page for the same frames stored upright (Pillow turns a
    # TIFF frame upright when it decodes it, so the old path turned such frames twice)
    upright = [upright_frame(frame(s, seed), orientation) for seed, s in enumerate(SIZES)]
    before = as_before(
        monkeypatch, "scan.tif", bilevel_tiff(compression, photometric, frames=upright)
    )
    assert contents(result.data) == contents(before.data)  # size, dpi and EXIF matrix
    now = render(result.data, tmp_path / "now")
    was = render(before.data, tmp_path / "was")
    assert len(now) == len(was) == len(SIZES)
    for number, (a, b) in enumerate(zip(now, was, strict=True), 1):
        assert a.size == b.size
        assert a.getextrema() == (0, 255), f"page {number} is blank"
        if a.tobytes() != b.tobytes():
            diff = sum(1 for p, q in zip(a.getdata(), b.getdata(), strict=True) if p != q)
            raise AssertionError(f"page {number}: {diff} rendered pixels differ")


def quadrant(photometric: int, compression: str, orientation: int) -> bytes:
    """One 100 x 100 frame at 72 dpi, black in its top-left quadrant only."""
    img = Image.new("1", (100, 100), 1)
    ImageDraw.Draw(img).rectangle((0, 0, 49, 49), fill=0)
    return bilevel_tiff(compression, photometric, orientation=orientation, dpi=72, frames=[img])


@needs_poppler
@pytest.mark.parametrize("compression", ["group4", "raw"])
@pytest.mark.parametrize("photometric", [0, 1])
@pytest.mark.parametrize(("orientation", "black"), [(1, (25, 25)), (6, (75, 25)), (3, (75, 75))])
def test_black_stays_black_and_upright(
    photometric: int, compression: str, orientation: int, black: tuple[int, int], tmp_path: Path
) -> None:
    """Independent of img2pdf: the 100 pt (72 dpi) image sits centred on the A4 page;
    the stored top-left quadrant is black, shown where the orientation puts it (6: turn
    90 degrees clockwise to view, so top-right; 3: bottom-right), the rest white."""
    data = quadrant(photometric, compression, orientation)
    (page,) = render(run("q.tif", data).data, tmp_path / "q")
    px = 50 / 72  # rendered at 50 dpi
    left, top = (595.2756 - 100) / 2, (841.8898 - 100) / 2
    for x, y in ((25, 25), (75, 25), (25, 75), (75, 75)):
        value = page.getpixel((round((left + x) * px), round((top + y) * px)))
        assert value == (0 if (x, y) == black else 255), (x, y)


def test_frames_are_encoded_one_by_one_after_all_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every frame's header is checked first; then each frame is decoded, encoded and
    handed over before the next one is decoded."""
    events: list[str] = []
    encode = tiff.encode_frame
    load = TiffImagePlugin.TiffImageFile.load

    def spy_encode(image: Image.Image) -> tiff.Group4:
        events.append(f"encode {image.tell()}")
        return encode(image)

    def spy_load(self: TiffImagePlugin.TiffImageFile) -> object:
        if self._im is None or self.tile:
            events.append(f"decode {self.tell()}")
        return load(self)

    monkeypatch.setattr(tiff, "encode_frame", spy_encode)
    monkeypatch.setattr(TiffImagePlugin.TiffImageFile, "load", spy_load)
    data = bilevel_tiff("group4", 1)
    group = image_pages(data, "image/tiff", "a.tif", max_pixels=10**6, max_pages=5)
    assert len(group.pages) == len(SIZES)
    assert events == [e for i in range(len(SIZES)) for e in (f"encode {i}", f"decode {i}")]


def test_limits_are_checked_before_any_frame_is_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(image: Image.Image) -> tiff.Group4:
        raise AssertionError("a frame was decoded before the limits were checked")

    monkeypatch.setattr(tiff, "encode_frame", fail)
    big = frame((400, 300), 1)  # the last frame is over the pixel limit
    data = bilevel_tiff("group4", 0, frames=[frame((40, 30), 0), big])
    with pytest.raises(errors.LimitExceeded) as exc:
        image_pages(data, "image/tiff", "a.tif", max_pixels=100_000, max_pages=5)
    assert exc.value.extra["limit"] == "max_image_pixels" and "(400 x 300)" in exc.value.detail
    with pytest.raises(errors.LimitExceeded) as exc:
        image_pages(bilevel_tiff("group4", 1), "image/tiff", "a.tif", max_pixels=10**6, max_pages=2)
    assert exc.value.extra["limit"] == "max_pages"


def test_a_tiff_with_a_grey_frame_keeps_the_previous_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(image: Image.Image) -> tiff.Group4:
        raise AssertionError("re-encoded although not every frame is bilevel")

    monkeypatch.setattr(tiff, "encode_frame", fail)
    grey = Image.new("L", (50, 40), 128)
    buf = io.BytesIO()
    grey.save(buf, "TIFF", save_all=True, append_images=[frame((61, 37), 3)])
    result = run("mixed.tif", buf.getvalue())
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        assert len(pdf.pages) == 2
        assert pdf.pages[0].Resources.XObject.Im0.get("/Filter") != pikepdf.Name.CCITTFaxDecode


def test_bilevel_tiff_glued_with_a_pdf_and_sealed(
    qpdf_check: Callable[[bytes], None], seal_key: SealKey, dev_ca: DevCA
) -> None:
    scan = bilevel_tiff("group4", 0, orientation=8)
    glued = sealed_alone_and_glued("scan.tif", scan, qpdf_check, seal_key, dev_ca)
    assert glued.pages == 2 + len(SIZES)
    with pikepdf.open(io.BytesIO(glued.data)) as pdf:
        assert pdf.pages[2].Resources.XObject.Im0.Filter == pikepdf.Name.CCITTFaxDecode
