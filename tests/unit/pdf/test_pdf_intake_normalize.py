"""normalize(): every kind of input becomes one PDF or a specific DomainError."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageCms, ImageOps

from medsign import errors
from medsign.pdf import seal_pdf, validate_pdf
from medsign.pdf.convert import find_soffice
from medsign.pdf.intake import (
    IntakeLimits,
    NormalizedPdf,
    SourceFile,
    normalize,
    set_pdf_parser_limits,
)
from medsign.pki import DevCA, SealKey
from tests.support.pdfs import encrypted_pdf, make_pdf
from tests.unit.pdf import intake_samples as samples
from tests.unit.pdf.test_pdf_seal import request as seal_request

LIMITS = IntakeLimits()


def run(*files: tuple[str, bytes] | tuple[str, bytes, str], **kw: object) -> NormalizedPdf:
    limits = kw.pop("limits", LIMITS)
    assert isinstance(limits, IntakeLimits)
    password = kw.pop("password", None)
    assert password is None or isinstance(password, str)
    sources = [SourceFile(f[0], f[2] if len(f) == 3 else None, f[1]) for f in files]
    return normalize(sources, limits, password=password)


def outline_titles(data: bytes) -> list[tuple[str, int]]:
    with pikepdf.open(io.BytesIO(data)) as pdf, pdf.open_outline() as outline:
        pages: list[object] = [p.objgen for p in pdf.pages]
        result = []
        for item in outline.root:
            dest = item.destination
            assert isinstance(dest, pikepdf.Array)
            result.append((str(item.title), pages.index(dest[0].objgen)))
        return result


# --- PDFs --------------------------------------------------------------------------


def test_sound_pdf_is_kept_byte_for_byte() -> None:
    data = make_pdf(pages=3)
    result = run(("consent.pdf", data, "application/pdf"))
    assert result.kept_as_is and result.data == data and result.pages == 3
    (src,) = result.sources
    assert (src.filename, src.media_type, src.size, src.pages) == (
        "consent.pdf",
        "application/pdf",
        len(data),
        3,
    )


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[: d.rfind(b"%%EOF")],  # no %%EOF
        lambda d: d[: d.rfind(b"startxref")] + b"startxref\n99999\n%%EOF\n",  # bad offset
        lambda d: d[: d.rfind(b"trailer")],  # trailer, startxref and %%EOF gone
        lambda d: d.replace(b"/Length 43", b"/Length 60", 1),  # wrong stream length
    ],
    ids=["no-eof", "bad-startxref", "no-trailer", "bad-length"],
)
def test_recoverable_damage_is_repaired(
    damage: Callable[[bytes], bytes], qpdf_check: Callable[[bytes], None]
) -> None:
    data = damage(make_pdf(pages=3))
    result = run(("damaged.pdf", data))
    assert result.pages == 3
    qpdf_check(result.data)
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        assert not pdf.get_warnings()


@pytest.mark.parametrize("fraction", [0.1, 1 / 3, 1 / 2])
def test_truncated_pdf_is_refused(fraction: float) -> None:
    data = make_pdf(pages=3)
    with pytest.raises(errors.DamagedDocument):
        run(("cut.pdf", data[: int(len(data) * fraction)]))


def test_password_protected_pdf() -> None:
    data = encrypted_pdf()
    with pytest.raises(errors.EncryptedDocument) as exc:
        run(("locked.pdf", data))
    assert type(exc.value) is errors.EncryptedDocument and "password" in exc.value.detail
    with pytest.raises(errors.WrongPassword):
        run(("locked.pdf", data), password="nope")
    result = run(("locked.pdf", data), password="secret")
    assert not result.kept_as_is and result.pages == 1
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        assert not pdf.is_encrypted


def test_owner_password_only_is_decrypted() -> None:
    result = run(("owner.pdf", samples.owner_only_pdf()))
    assert result.pages == 2 and not result.kept_as_is
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        assert not pdf.is_encrypted
    # a wrong password does not matter when none is needed
    assert run(("owner.pdf", samples.owner_only_pdf()), password="x").pages == 2


def test_certificate_encryption_is_refused() -> None:
    with pytest.raises(errors.CertificateEncrypted):
        run(("pubsec.pdf", samples.pubsec_pdf()))


@pytest.mark.parametrize("maker", [samples.javascript_pdf, samples.launch_pdf])
def test_active_content_is_refused(maker: Callable[[], bytes]) -> None:
    with pytest.raises(errors.ActiveContent):
        run(("active.pdf", maker()))


def test_docmdp_no_changes_is_refused_but_form_filling_level_is_fine() -> None:
    with pytest.raises(errors.CertifiedNoChanges):
        run(("certified.pdf", samples.certified_pdf(1)))
    assert run(("certified.pdf", samples.certified_pdf(2))).pages == 1


def test_zero_pages_and_garbage() -> None:
    with pytest.raises(errors.NoPages):
        run(("empty.pdf", samples.zero_page_pdf()))
    with pytest.raises(errors.DamagedDocument):
        run(("garbage.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 100))
    with pytest.raises(errors.UnsupportedFileType):
        run(("garbage.pdf", b"this is not a pdf at all"))


def test_signed_pdf_alone_is_kept_and_never_merged(seal_key: SealKey) -> None:
    signed = seal_pdf(make_pdf(), seal_key, seal_request(0))
    result = run(("signed.pdf", signed))
    assert result.kept_as_is and result.data == signed and result.has_signatures
    with pytest.raises(errors.SignedDocumentMustBeAlone) as exc:
        run(("signed.pdf", signed), ("more.pdf", make_pdf()))
    assert "alone" in exc.value.detail
    with pytest.raises(errors.SignedDocumentMustBeAlone):
        run(("signed.pdf", signed[: signed.rfind(b"%%EOF")]))


# --- merging and images ------------------------------------------------------------


def test_merge_in_order_with_one_bookmark_per_file(qpdf_check: Callable[[bytes], None]) -> None:
    files = [
        ("consent.pdf", make_pdf(pages=2)),
        ("photo.jpg", samples.image("JPEG")),
        ("scan.png", samples.image("PNG", alpha=True)),
        ("pages.tiff", samples.tiff_pages(3)),
        ("lossless.webp", samples.image("WEBP", lossless=True)),
        ("lossy.webp", samples.image("WEBP", quality=80)),
        ("phone.heic", samples.image("HEIF")),
    ]
    result = run(*files)
    assert result.pages == 2 + 1 + 1 + 3 + 1 + 1 + 1
    assert [s.media_type for s in result.sources] == [
        "application/pdf",
        "image/jpeg",
        "image/png",
        "image/tiff",
        "image/webp",
        "image/webp",
        "image/heic",
    ]
    qpdf_check(result.data)
    assert outline_titles(result.data) == [
        ("consent.pdf", 0),
        ("photo.jpg", 2),
        ("scan.png", 3),
        ("pages.tiff", 4),
        ("lossless.webp", 7),
        ("lossy.webp", 8),
        ("phone.heic", 9),
    ]
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        for page in list(pdf.pages)[2:]:
            width, height = (float(v) for v in page.mediabox[2:])
            assert sorted((round(width), round(height))) == [595, 842]  # A4
            assert "/Rotate" not in page.obj


def test_jpeg_is_embedded_losslessly() -> None:
    jpeg = samples.image("JPEG", (640, 480))
    result = run(("photo.jpg", jpeg))
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        (ximage,) = pdf.pages[0].Resources.XObject.values()
        assert ximage.Filter == pikepdf.Name.DCTDecode
        assert ximage.read_raw_bytes() == jpeg  # the JPEG itself, not re-encoded


def test_images_alone_are_written_without_qpdf(
    qpdf_check: Callable[[bytes], None], seal_key: SealKey, dev_ca: DevCA
) -> None:
    """Images only: medsign's writer, with img2pdf's objects (soft mask, ICC, /Decode)."""
    jpeg = samples.image("JPEG", (640, 480))
    cmyk = io.BytesIO()
    Image.new("CMYK", (300, 400), (0, 200, 200, 0)).save(cmyk, "JPEG")  # Adobe APP14
    icc = io.BytesIO()
    Image.new("RGB", (50, 40), (1, 2, 3)).save(
        icc, "PNG", icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    )
    files = [
        ("photo.jpg", jpeg),
        ("cmyk.jpg", cmyk.getvalue()),
        ("alpha.png", samples.image("PNG", alpha=True)),
        ("icc.png", icc.getvalue()),
        ("pages.tiff", samples.tiff_pages(2)),
        ("phone.heic", samples.image("HEIF")),
    ]
    result = run(*files)
    assert result.pages == 7 and not result.kept_as_is
    assert result.data == run(*files).data  # deterministic, /ID included
    qpdf_check(result.data)
    assert outline_titles(result.data) == [
        ("photo.jpg", 0),
        ("cmyk.jpg", 1),
        ("alpha.png", 2),
        ("icc.png", 3),
        ("pages.tiff", 4),
        ("phone.heic", 6),
    ]
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        assert not pdf.get_warnings()
        images = [next(iter(p.Resources.XObject.values())) for p in pdf.pages]
        assert images[0].read_raw_bytes() == jpeg
        assert images[1].read_raw_bytes() == cmyk.getvalue()
        assert list(images[1].Decode) == [1, 0, 1, 0, 1, 0, 1, 0]
        assert images[2].SMask.Width == 400 and "/DecodeParms" in images[2].SMask
        assert images[3].ColorSpace[0] == pikepdf.Name.ICCBased
        assert int(images[3].ColorSpace[1].N) == 3
        assert images[6].Filter == pikepdf.Name.DCTDecode  # HEIC became JPEG
        for page in pdf.pages:
            assert sorted(round(float(v)) for v in page.mediabox[2:]) == [595, 842]
            assert "/Rotate" not in page.obj
    sealed = seal_pdf(result.data, seal_key, seal_request(0))
    assert validate_pdf(sealed, [dev_ca.certificate]).valid


def test_one_image_has_no_outline_and_matrix_follows_exif() -> None:
    result = run(("photo.jpg", samples.quadrant_jpeg(6)))  # stored 200 x 100, shown 100 x 200
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        assert "/Outlines" not in pdf.Root
        (page,) = pdf.pages
        assert [round(float(v), 4) for v in page.mediabox] == [0, 0, 595.2756, 841.8898]
        ops = page.Contents.read_bytes().split()
        assert ops[:7] == [b"q", b"100.0000", b"0", b"0", b"200.0000", b"247.6378", b"320.9449"]
        assert ops[7:15] == [b"cm", b"0", b"-1", b"1", b"0", b"0", b"1", b"cm"]


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) missing")
@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_honoured(orientation: int, fmt: str, tmp_path: Path) -> None:
    """JPEG (EXIF) and TIFF (tag 274, TIFF 6.0 §8) orientation: the page shows the image
    the way it is meant to be seen, turned once (Pillow 13 turns TIFF frames itself)."""
    jpeg = samples.quadrant_jpeg(orientation)
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(jpeg))).convert("RGB")
    if fmt == "TIFF":
        # light grey, not white: a lossless image must stand out from the white page
        stored = Image.new("RGB", (200, 100), (230, 230, 230))
        stored.paste((255, 0, 0), (0, 0, 100, 50))
        exif = Image.Exif()
        exif[0x0112] = orientation
        buf = io.BytesIO()
        stored.save(buf, "TIFF", exif=exif, compression="tiff_lzw")
        result = run(("scan.tiff", buf.getvalue()))
    else:
        result = run(("photo.jpg", jpeg))
    (tmp_path / "p.pdf").write_bytes(result.data)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "20",
            "-png",
            "-singlefile",
            str(tmp_path / "p.pdf"),
            str(tmp_path / "p"),
        ],
        check=True,
    )
    page = Image.open(tmp_path / "p.png").convert("RGB")
    bbox = ImageOps.invert(page).getbbox()  # the image area (the page is white)
    assert bbox is not None
    shown = page.crop(bbox)
    assert (shown.width > shown.height) == (expected.width > expected.height)

    def red_quadrant(img: Image.Image) -> tuple[bool, bool]:
        w, h = img.size
        for right in (False, True):
            for bottom in (False, True):
                r, g, _b = img.getpixel(
                    (int(w * (0.75 if right else 0.25)), int(h * (0.75 if bottom else 0.25)))
                )  # type: ignore[misc]
                if r > 200 and g < 80:
                    return right, bottom
        raise AssertionError("no red quadrant")

    assert red_quadrant(shown) == red_quadrant(expected)


def test_image_pixel_limit_checked_before_decoding() -> None:
    # 30000 x 30000 = 900 MP; compressed it is tiny, decoded it would be 2.7 GB
    bomb = samples.png_bomb(30000, 30000)
    with pytest.raises(errors.LimitExceeded) as exc:
        run(("bomb.png", bomb))
    assert exc.value.extra["limit"] == "max_image_pixels"
    with pytest.raises(errors.LimitExceeded):
        run(
            ("photo.jpg", samples.image("JPEG", (200, 200))),
            limits=IntakeLimits(max_image_pixels=100),
        )


# --- limits, names, types ----------------------------------------------------------


def test_limits_name_themselves() -> None:
    pdf = make_pdf(pages=3)
    cases: list[tuple[IntakeLimits, list[tuple[str, bytes]], str]] = [
        (IntakeLimits(max_files=2), [("a.pdf", pdf)] * 3, "max_upload_files"),
        (IntakeLimits(max_bytes=len(pdf) * 2), [("a.pdf", pdf)] * 3, "max_upload_bytes"),
        (IntakeLimits(max_pages=5), [("a.pdf", pdf)] * 2, "max_pages"),
        (IntakeLimits(max_pages=2), [("a.tiff", samples.tiff_pages(3))], "max_pages"),
    ]
    for limits, files, name in cases:
        with pytest.raises(errors.LimitExceeded) as exc:
            run(*files, limits=limits)
        assert exc.value.extra["limit"] == name


@pytest.mark.parametrize(
    "name",
    ["../etc/passwd.pdf", "dir\\file.pdf", "a\x00.pdf", "line\nbreak.pdf", "cod\u202efdp.exe"],
)
def test_bad_filenames(name: str) -> None:
    with pytest.raises(errors.InvalidFilename):
        run((name, make_pdf()))


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("empty.pdf", b"", errors.EmptyFile),
        ("page.html", b"<!DOCTYPE html><html><body>hi</body></html>", errors.UnsupportedFileType),
        ("renamed.docx", samples.plain_zip(), errors.UnsupportedFileType),
        ("macro.docm", samples.docx(macro=True), errors.MacroDocument),
        ("macro.odt", samples.odt(macro=True), errors.MacroDocument),
        (
            "macro.doc",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "Macros".encode("utf-16-le") + b"\x00" * 64,
            errors.MacroDocument,
        ),
        (
            "sheet.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "Workbook".encode("utf-16-le") + b"\x00" * 64,
            errors.UnsupportedFileType,
        ),
    ],
)
def test_refused_inputs(name: str, data: bytes, error: type[errors.DomainError]) -> None:
    with pytest.raises(error) as exc:
        run((name, data))
    assert exc.value.detail and 400 <= exc.value.status < 500


def test_declared_type_is_checked_against_the_bytes() -> None:
    jpeg = samples.image("JPEG")
    assert run(("a.png", jpeg, "image/png")).sources[0].media_type == "image/jpeg"
    assert run(("a.bin", make_pdf(), "application/octet-stream")).pages == 1
    with pytest.raises(errors.ContentTypeMismatch):
        run(("a.jpg", make_pdf(), "image/jpeg"))
    with pytest.raises(errors.ContentTypeMismatch):
        run(("a.pdf", jpeg, "application/pdf"))
    with pytest.raises(errors.ContentTypeMismatch):
        run(("a.pdf", make_pdf(), "text/html"))


# --- word processor documents (LibreOffice) ----------------------------------------

needs_soffice = pytest.mark.skipif(find_soffice() is None, reason="LibreOffice is not installed")


def pdf_text(data: bytes, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        return "Informed consent"
    (tmp_path / "t.pdf").write_bytes(data)
    return subprocess.run(
        ["pdftotext", str(tmp_path / "t.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture(scope="session")
def word97(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A .doc made by LibreOffice from RTF (there is no other way to make one offline)."""
    soffice = find_soffice()
    if soffice is None:
        pytest.skip("LibreOffice is not installed")
    tmp = tmp_path_factory.mktemp("doc")
    (tmp / "in.rtf").write_bytes(samples.rtf("Informed consent"))
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={(tmp / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "doc",
            "--outdir",
            str(tmp),
            str(tmp / "in.rtf"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return (tmp / "in.doc").read_bytes()


@needs_soffice
def test_word_processor_documents_are_converted(word97: bytes, tmp_path: Path) -> None:
    result = run(
        ("a.docx", samples.docx()),
        ("b.odt", samples.odt()),
        ("c.rtf", samples.rtf(), "text/rtf"),
        ("d.doc", word97, "application/msword"),
    )
    assert result.pages == 4
    assert [s.media_type.rsplit(".", 1)[-1] for s in result.sources] == [
        "document",
        "text",
        "application/rtf",
        "application/msword",
    ]
    assert pdf_text(result.data, tmp_path).count("Informed consent") == 4
    assert [t for t, _ in outline_titles(result.data)] == ["a.docx", "b.odt", "c.rtf", "d.doc"]


@needs_soffice
def test_conversion_time_limit() -> None:
    with pytest.raises(errors.ConversionTimeLimit) as exc:
        run(("a.docx", samples.docx()), limits=IntakeLimits(conversion_seconds=0.01))
    assert exc.value.extra["limit"] == "max_conversion_seconds" and exc.value.status == 422


@needs_soffice
def test_word_file_libreoffice_cannot_read_is_conversion_failed() -> None:
    """A well-formed package whose document part is not XML: LibreOffice gives up."""
    good = samples.docx()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "word/document.xml":
                body = b"<<<not xml" * 100
            dst.writestr(item, body)
    with pytest.raises(errors.ConversionFailed) as exc:
        run(("broken.docx", out.getvalue()))
    assert exc.value.status == 422 and "broken.docx" in exc.value.detail


def test_missing_libreoffice_is_a_clear_4xx() -> None:
    with pytest.raises(errors.ConverterUnavailable) as exc:
        run(("a.docx", samples.docx()), limits=IntakeLimits(soffice="/nonexistent/soffice"))
    assert "LibreOffice" in exc.value.detail and exc.value.status == 422


# --- the result can be signed --------------------------------------------------------


def test_normalized_merge_can_be_sealed_and_validates(seal_key: SealKey, dev_ca: DevCA) -> None:
    result = run(
        ("consent.pdf", make_pdf(pages=2)),
        ("photo.jpg", samples.image("JPEG")),
        ("damaged.pdf", make_pdf()[: make_pdf().rfind(b"%%EOF")]),
    )
    sealed = seal_pdf(result.data, seal_key, seal_request(0))
    report = validate_pdf(sealed, [dev_ca.certificate])
    assert report.valid, report


def test_mpo_phone_photo_is_one_page_of_its_primary_jpeg() -> None:
    """A Multi-Picture file (primary photo + depth map or preview, CIPA DC-007) is one
    page showing the primary image, embedded as its own JPEG bytes."""
    primary, extra = Image.new("RGB", (400, 300), "red"), Image.new("RGB", (200, 150), "blue")
    buf = io.BytesIO()
    primary.save(buf, "MPO", save_all=True, append_images=[extra])
    data = buf.getvalue()
    with Image.open(io.BytesIO(data)) as check:
        assert check.format == "MPO" and getattr(check, "n_frames", 1) == 2
    result = run(("portrait.jpg", data))
    assert result.pages == 1
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        (ximage,) = pdf.pages[0].get_images().values()
        raw = ximage.read_raw_bytes()
    assert int(ximage.Width) == 400 and ximage.Filter == pikepdf.Name.DCTDecode
    assert data.startswith(raw) and len(raw) < len(data) and raw.endswith(b"\xff\xd9")
    with Image.open(io.BytesIO(raw)) as shown:
        pixel = shown.convert("RGB").getpixel((10, 10))
        assert shown.size == (400, 300) and isinstance(pixel, tuple) and pixel[0] > 200  # red


def _nested_pdf(depth: int) -> bytes:
    """A sound one-page PDF whose catalog holds arrays nested ``depth`` deep (by hand)."""
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R /Deep 5 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>",
        b"<< /Length 8 >>\nstream\n0 0 m S\n\nendstream",
        b"[" * depth + b"]" * depth,
    ]
    return _hand_pdf(bodies)


def _hand_pdf(bodies: list[bytes], *, eof: bool = True) -> bytes:
    """Objects 1.. written by hand with a classic xref table (ISO 32000-1 §7.5.4);
    without ``eof`` the file lacks %%EOF, so intake treats it as a repair."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n" % (len(bodies) + 1, xref)
    return bytes(out + (b"%%EOF\n" if eof else b""))


@pytest.mark.parametrize(("depth", "limit"), [(150, 100), (600, 499), (60, 50)])
def test_pdf_nesting_limit_is_named(depth: int, limit: int) -> None:
    """Limits (issue 3): nesting deeper than MEDSIGN_MAX_PDF_NESTING -> 413 naming it."""
    try:
        _check_nesting(depth, limit)
    finally:  # qpdf's limits are process-wide
        set_pdf_parser_limits(IntakeLimits().max_pdf_nesting, IntakeLimits().max_pdf_stream_bytes)


def _check_nesting(depth: int, limit: int) -> None:
    data = _nested_pdf(depth)
    with pytest.raises(errors.LimitExceeded) as exc:
        normalize([SourceFile("deep.pdf", None, data)], IntakeLimits(max_pdf_nesting=limit))
    assert exc.value.status == 413 and exc.value.extra["limit"] == "max_pdf_nesting"
    assert str(limit) in exc.value.detail
    shallow = _nested_pdf(limit - 5)
    result = normalize([SourceFile("ok.pdf", None, shallow)], IntakeLimits(max_pdf_nesting=limit))
    assert result.kept_as_is and result.data == shallow


def _bomb_pdf(decoded_mb: int) -> bytes:
    """A damaged (no %%EOF, so repaired and its content decoded) one-page PDF whose content
    stream is a few kB of Flate that inflates to ``decoded_mb`` MB."""
    packer = zlib.compressobj(9)
    line = b"0 0 m\n" * (1 << 17)  # 768 kB
    packed = b"".join(packer.compress(line) for _ in range(decoded_mb * 4 // 3)) + packer.flush()
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(packed), packed),
    ]
    return _hand_pdf(bodies, eof=False)


def test_content_stream_bomb_is_a_named_limit() -> None:
    """A content stream that inflates past MEDSIGN_MAX_PDF_STREAM_BYTES fails fast, 413."""
    small = IntakeLimits(max_pdf_stream_bytes=8 * 1024 * 1024)
    try:
        with pytest.raises(errors.LimitExceeded) as exc:
            normalize([SourceFile("bomb.pdf", None, _bomb_pdf(64))], small)
        assert exc.value.status == 413 and exc.value.extra["limit"] == "max_pdf_stream_bytes"
        assert "page 1" in exc.value.detail
        # under the limit the same kind of file is a plain repair
        assert not normalize([SourceFile("ok.pdf", None, _bomb_pdf(4))], small).kept_as_is
    finally:
        set_pdf_parser_limits(IntakeLimits().max_pdf_nesting, IntakeLimits().max_pdf_stream_bytes)


def test_a_repair_keeps_xmp_metadata_it_cannot_parse_as_written() -> None:
    """Rewriting a damaged file must not replace its XMP packet (pikepdf would, on save,
    when it cannot parse it) — the metadata is part of what the author wrote."""
    pdf = pikepdf.open(io.BytesIO(make_pdf(1)))
    packet = b'<?xpacket begin=""?><x:xmpmeta xmlns:x="adobe:ns:meta/">not rdf</x:xmpmeta>'
    pdf.Root.Metadata = pdf.make_stream(
        packet, Type=pikepdf.Name.Metadata, Subtype=pikepdf.Name.XML
    )
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.disable, fix_metadata_version=False)
    assert packet in out.getvalue()
    damaged = out.getvalue().replace(b"%%EOF", b"")  # a repair: written anew by qpdf
    result = run(("meta.pdf", damaged))
    assert not result.kept_as_is
    with pikepdf.open(io.BytesIO(result.data)) as fixed:
        assert fixed.Root.Metadata.read_bytes() == packet
