"""RC4-encrypted PDFs (empty user password) whose trailer /ID is missing or malformed:
taken and decrypted when qpdf opens them, refused when they are truly damaged.

The samples are written by hand (:mod:`tests.unit.pdf.rc4_samples`): qpdf and pikepdf
always write a well-formed /ID when they encrypt.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest

from medsign import errors
from medsign.pdf import seal_pdf, validate_pdf
from medsign.pdf.intake import IntakeLimits, NormalizedPdf, SourceFile, normalize
from medsign.pki import DevCA, SealKey
from tests.unit.pdf import rc4_samples as rc4
from tests.unit.pdf.test_pdf_seal import request as seal_request

REAL_ID = bytes.fromhex("0f88455ebb8b4e2ee3518ebbf9ed40fe")
PROPER_ID = b"/ID [<%s> <%s>]" % (REAL_ID.hex().encode(), REAL_ID.hex().encode())


def intake(data: bytes, name: str = "scan.pdf") -> NormalizedPdf:
    return normalize([SourceFile(name, None, data)], IntakeLimits())


def qpdf_opens(data: bytes, tmp_path: Path) -> bool:
    """True when the qpdf command decrypts ``data`` (exit 0, or 3: with warnings)."""
    binary = shutil.which("qpdf")
    if binary is None:
        pytest.skip("qpdf is not installed (apt-get install qpdf)")
    src, out = tmp_path / "in.pdf", tmp_path / "out.pdf"
    src.write_bytes(data)
    proc = subprocess.run([binary, "--decrypt", str(src), str(out)], capture_output=True)
    return proc.returncode in (0, 3)


def assert_decrypted(result: NormalizedPdf) -> None:
    """Both pages, the text, the document title and the bookmark read in clear."""
    assert result.pages == 2 and not result.kept_as_is and not result.has_signatures
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        assert not pdf.is_encrypted and "/Encrypt" not in pdf.trailer
        assert "/Contents" not in pdf.pages[0].obj  # the blank page stays blank
        assert rc4.PAGE_TEXT in pdf.pages[1].obj.Contents.read_bytes()
        assert str(pdf.docinfo.Title) == rc4.TITLE.decode()
        with pdf.open_outline() as outline:
            assert [str(item.title) for item in outline.root] == [rc4.BOOKMARK.decode()]


@pytest.mark.parametrize("revision", [2, 3])
@pytest.mark.parametrize("trailer_id", list(rc4.NO_ID.values()), ids=list(rc4.NO_ID))
def test_rc4_without_a_usable_id_is_decrypted(
    trailer_id: bytes,
    revision: int,
    tmp_path: Path,
    qpdf_check: Callable[[bytes], None],
) -> None:
    """qpdf derives the key from an empty string when /ID is not an array of two strings
    (ISO 32000-1 §7.6.3.3 Algorithm 2 step d gets no bytes); intake does the same and no
    longer takes its warning for a repair (a blank page then looked like lost content)."""
    data = rc4.rc4_pdf(trailer_id, revision=revision)
    assert qpdf_opens(data, tmp_path)
    result = intake(data)
    assert_decrypted(result)
    qpdf_check(result.data)


@pytest.mark.parametrize("revision", [2, 3])
def test_rc4_with_a_proper_id_is_decrypted(revision: int) -> None:
    """The hand-made samples are sound: with the /ID their key came from they open too."""
    assert_decrypted(intake(rc4.rc4_pdf(PROPER_ID, revision=revision, key_id=REAL_ID)))


@pytest.mark.parametrize(
    ("revision", "trailer_id"),
    [(2, rc4.NO_ID["missing"]), (3, rc4.NO_ID["numbers"]), (3, rc4.NO_ID["empty-first-element"])],
)
def test_decrypted_rc4_file_is_sealed_and_validates(
    revision: int,
    trailer_id: bytes,
    seal_key: SealKey,
    dev_ca: DevCA,
    pdfsig: Callable[[bytes], str],
) -> None:
    result = intake(rc4.rc4_pdf(trailer_id, revision=revision))
    sealed = seal_pdf(result.data, seal_key, seal_request(0))
    report = validate_pdf(sealed, [dev_ca.certificate], fast=False)
    assert report.valid, report
    out = pdfsig(sealed)
    assert "Signature Validation: Signature is Valid." in out, out
    assert "Certificate Validation: Certificate is Trusted." in out, out
    assert "Total document signed" in out, out


def test_key_of_a_removed_id_is_not_guessed(tmp_path: Path) -> None:
    """A file encrypted with its real /ID, the /ID then removed: neither qpdf nor intake
    can derive the key, so the empty user password fails and a password is asked for."""
    data = rc4.rc4_pdf(b"", key_id=REAL_ID)
    assert not qpdf_opens(data, tmp_path)
    with pytest.raises(errors.EncryptedDocument) as exc:
        intake(data)
    assert type(exc.value) is errors.EncryptedDocument and exc.value.status == 422


def test_user_password_opens_a_file_without_id() -> None:
    """A user password on a file without /ID: the `password` field opens it."""
    data = rc4.rc4_pdf(b"", user=b"secret")
    with pytest.raises(errors.EncryptedDocument):
        intake(data)
    source = [SourceFile("a.pdf", None, data)]
    with pytest.raises(errors.WrongPassword):
        normalize(source, IntakeLimits(), password="nope")
    assert_decrypted(normalize(source, IntakeLimits(), password="secret"))


def _without_trailer(data: bytes) -> bytes:
    return data[: data.index(b"trailer")]


def _unterminated_id(data: bytes) -> bytes:
    """The trailer's /ID array lacks its ``]``: the trailer cannot be parsed at all."""
    return data.replace(b"<60232e6ce75fbef3ee77bd24a0095467>]", b"<60232e6ce75fbef3ee77bd24a0")


@pytest.mark.parametrize("damage", [_without_trailer, _unterminated_id])
def test_encrypted_file_that_lost_its_trailer_is_refused(
    damage: Callable[[bytes], bytes], tmp_path: Path
) -> None:
    """Without its trailer the file's /Encrypt is gone: qpdf rebuilt a trailer from the
    catalog and read the ciphertext as content, and the file was taken, pages of noise.
    The qpdf command refuses it; so does intake."""
    sound = rc4.rc4_pdf(rc4.NO_ID["empty-first-element"])
    assert qpdf_opens(sound, tmp_path)
    data = damage(sound)
    assert data != sound
    assert not qpdf_opens(data, tmp_path)
    with pytest.raises(errors.DamagedDocument) as exc:
        intake(data)
    assert exc.value.status == 422 and "trailer" in exc.value.detail


def test_rc4_without_id_that_lost_content_is_still_refused() -> None:
    """Accepting the /ID warning excuses nothing else: the pages' content stream cut out.

    (Page 1 is not blank here: in a file qpdf had to repair, a page without /Contents
    cannot be told from one whose content was lost, so it is refused as well.)"""
    data = rc4.rc4_pdf(b"", blank_page=False)
    assert intake(data).pages == 2  # taken before the cut
    body = re.search(rb"5 0 obj\n.*?endobj\n", data, re.S)
    assert body is not None
    with pytest.raises(errors.DamagedDocument) as exc:
        intake(data[: body.start()] + data[body.end() :])
    assert "page 1 lost part of its content" in exc.value.detail


@pytest.mark.parametrize("fraction", [0.3, 0.5, 0.7])
def test_truncated_rc4_without_id_is_refused(fraction: float) -> None:
    data = rc4.rc4_pdf(b"", revision=2)
    with pytest.raises(errors.DamagedDocument):
        intake(data[: int(len(data) * fraction)])
