"""Intake through the API, on SQLite and PostgreSQL: many files become one PDF; bad input
gets a specific 4xx problem and stores nothing (no row, no file)."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pikepdf
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from medsign.documents.models import Document, DocumentSource
from medsign.pdf.convert import find_soffice
from medsign.pki import load_or_create_dev_ca
from medsign.runtime import Runtime
from medsign.storage.files import FileStore
from tests.support.api import new_org
from tests.support.pdfs import encrypted_pdf, make_pdf
from tests.unit.pdf import intake_samples as samples
from tests.unit.pdf import rc4_samples
from tests.unit.pdf.test_pdf_seal import request as seal_request

CONTRACT_FIELDS = {"id", "sha256", "pages", "kind", "title"}
FileSpec = tuple[str, bytes, str]


def post(client: TestClient, headers: dict[str, str], files: list[FileSpec], **form: str) -> Any:
    return client.post(
        "/api/v1/documents",
        headers=headers,
        files=[("files", f) for f in files],
        data={"title": "Consent", "kind": "user_agreement", **form},
    )


def stored(rt: Runtime) -> tuple[int, int, int]:
    """(documents, source rows, files in the store)."""
    with rt.transaction() as session:
        docs = session.scalar(select(func.count()).select_from(Document)) or 0
        srcs = session.scalar(select(func.count()).select_from(DocumentSource)) or 0
    assert isinstance(rt.files, FileStore)  # the default store: count its files
    blobs = sum(1 for p in rt.files.root.rglob("*") if p.is_file())
    return docs, srcs, blobs


def assert_refused(res: Any, rt: Runtime, slug: str | None = None) -> dict[str, Any]:
    assert 400 <= res.status_code < 500, res.text
    assert res.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = res.json()
    assert body["detail"] and body["status"] == res.status_code
    if slug:
        assert body["type"] == f"/problems/{slug}", body
    assert stored(rt) == (0, 0, 0)
    return body


def test_many_files_become_one_pdf_with_sources(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    pdf = make_pdf(pages=2)
    jpeg = samples.image("JPEG")
    files: list[FileSpec] = [
        ("consent.pdf", pdf, "application/pdf"),
        ("passport.jpg", jpeg, "image/jpeg"),
        ("scan.tiff", samples.tiff_pages(2), "image/tiff"),
    ]
    res = post(client, headers, files)
    assert res.status_code == 201, res.text
    doc = res.json()
    assert set(doc) == CONTRACT_FIELDS and doc["pages"] == 5
    detail = client.get(f"/api/v1/documents/{doc['id']}", headers=headers).json()
    assert [(s["filename"], s["media_type"], s["pages"]) for s in detail["sources"]] == [
        ("consent.pdf", "application/pdf", 2),
        ("passport.jpg", "image/jpeg", 1),
        ("scan.tiff", "image/tiff", 2),
    ]
    assert detail["sources"][1]["sha256"] == hashlib.sha256(jpeg).hexdigest()
    assert detail["sources"][0]["size"] == len(pdf)
    body = client.get(f"/api/v1/documents/{doc['id']}/pdf", headers=headers).content
    assert hashlib.sha256(body).hexdigest() == doc["sha256"]
    with pikepdf.open(io.BytesIO(body)) as merged, merged.open_outline() as outline:
        assert len(merged.pages) == 5
        assert [str(i.title) for i in outline.root] == ["consent.pdf", "passport.jpg", "scan.tiff"]


@pytest.mark.skipif(find_soffice() is None, reason="LibreOffice is not installed")
def test_docx_is_converted(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    res = post(client, headers, [("consent.docx", samples.docx(), "application/octet-stream")])
    assert res.status_code == 201, res.text
    assert res.json()["pages"] == 1


def test_missing_libreoffice_is_a_clear_problem(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    rt.settings.soffice_path = "/nonexistent/soffice"
    res = post(client, headers, [("consent.docx", samples.docx(), "application/octet-stream")])
    body = assert_refused(res, rt, "converter-unavailable")
    assert "LibreOffice" in body["detail"]


def test_password_field(client: TestClient, rt: Runtime) -> None:
    _, headers = new_org(rt)
    locked: FileSpec = ("locked.pdf", encrypted_pdf(), "application/pdf")
    assert_refused(post(client, headers, [locked]), rt, "encrypted-document")
    assert_refused(post(client, headers, [locked], password="wrong"), rt, "wrong-password")
    res = post(client, headers, [locked], password="secret")
    assert res.status_code == 201, res.text


def test_rc4_pdf_without_id_is_stored_decrypted(client: TestClient, rt: Runtime) -> None:
    """An RC4 file (empty user password) without a trailer /ID, which qpdf opens with the
    key derived from an empty ID, is taken and stored decrypted; one whose trailer is
    lost (its /Encrypt with it) is refused as damaged."""
    _, headers = new_org(rt)
    lost = rc4_samples.rc4_pdf(b"/ID [<> <01> <02")  # the trailer does not parse
    body = assert_refused(
        post(client, headers, [("a.pdf", lost, "application/pdf")]), rt, "damaged-document"
    )
    assert "trailer" in body["detail"]
    data = rc4_samples.rc4_pdf(b"", revision=2)
    res = post(client, headers, [("scan.pdf", data, "application/pdf")])
    assert res.status_code == 201, res.text
    assert res.json()["pages"] == 2
    stored_pdf = client.get(f"/api/v1/documents/{res.json()['id']}/pdf", headers=headers).content
    assert hashlib.sha256(stored_pdf).hexdigest() == res.json()["sha256"]
    with pikepdf.open(io.BytesIO(stored_pdf)) as pdf:
        assert not pdf.is_encrypted
        assert rc4_samples.PAGE_TEXT in pdf.pages[1].Contents.read_bytes()


def _signed_pdf(tmp: Any) -> bytes:
    ca = load_or_create_dev_ca(tmp / "ca")
    key = ca.issue_seal(tmp / "org", "org-1", "Clinic")
    from medsign.pdf import seal_pdf

    return seal_pdf(make_pdf(), key, seal_request(0))


def test_signed_pdf_is_kept_alone_and_refused_in_a_merge(
    client: TestClient, rt: Runtime, tmp_path: Any
) -> None:
    _, headers = new_org(rt)
    signed = _signed_pdf(tmp_path)
    body = assert_refused(
        post(
            client,
            headers,
            [("signed.pdf", signed, "application/pdf"), ("b.pdf", make_pdf(), "application/pdf")],
        ),
        rt,
        "signed-document-must-be-alone",
    )
    assert "alone" in body["detail"]
    res = post(client, headers, [("signed.pdf", signed, "application/pdf")])
    assert res.status_code == 201
    pdf = client.get(f"/api/v1/documents/{res.json()['id']}/pdf", headers=headers).content
    assert pdf == signed


BAD: list[tuple[str, list[FileSpec], str]] = [
    ("empty", [("a.pdf", b"", "application/pdf")], "empty-file"),
    (
        "garbage-pdf",
        [("a.pdf", b"%PDF-1.4\n\x00\x01garbage", "application/pdf")],
        "damaged-document",
    ),
    ("text-as-pdf", [("a.pdf", b"just text", "application/pdf")], "unsupported-file-type"),
    ("zero-pages", [("a.pdf", samples.zero_page_pdf(), "application/pdf")], "no-pages"),
    ("javascript", [("a.pdf", samples.javascript_pdf(), "application/pdf")], "active-content"),
    ("launch", [("a.pdf", samples.launch_pdf(), "application/pdf")], "active-content"),
    ("pubsec", [("a.pdf", samples.pubsec_pdf(), "application/pdf")], "certificate-encrypted"),
    ("docmdp-p1", [("a.pdf", samples.certified_pdf(1), "application/pdf")], "certified-no-changes"),
    ("zip-as-docx", [("a.docx", samples.plain_zip(), "application/zip")], "unsupported-file-type"),
    ("docm", [("a.docm", samples.docx(macro=True), "")], "macro-document"),
    ("html", [("a.html", b"<html><body>x</body></html>", "text/html")], "unsupported-file-type"),
    ("slash-name", [("../a.pdf", make_pdf(), "application/pdf")], "invalid-filename"),
    ("control-name", [("a\u202egpj.pdf", make_pdf(), "application/pdf")], "invalid-filename"),
    ("type-mismatch", [("a.jpg", make_pdf(), "image/jpeg")], "content-type-mismatch"),
    ("truncated", [("a.pdf", make_pdf(pages=3)[:600], "application/pdf")], "damaged-document"),
    (
        "bad-second-file",
        [("a.pdf", make_pdf(), "application/pdf"), ("b.pdf", b"", "application/pdf")],
        "empty-file",
    ),
    ("pixel-bomb", [("a.png", samples.png_bomb(30000, 30000), "image/png")], "limit-exceeded"),
    (
        "inline-image-in-an-annotation",
        [("a.pdf", samples.inline_image_pdf(20000, 19200, where="annotation"), "application/pdf")],
        "limit-exceeded",
    ),
]


@pytest.mark.parametrize(("files", "slug"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_refused_and_nothing_stored(
    client: TestClient, rt: Runtime, files: list[FileSpec], slug: str
) -> None:
    _, headers = new_org(rt)
    assert_refused(post(client, headers, files), rt, slug)


@pytest.mark.parametrize(
    ("setting", "value", "files", "limit", "status"),
    [
        (
            "max_upload_files",
            1,
            [("a.pdf", make_pdf(), "application/pdf")] * 2,
            "max_upload_files",
            413,
        ),
        ("max_pages", 3, [("a.pdf", make_pdf(pages=2), "application/pdf")] * 2, "max_pages", 413),
        (
            "max_upload_bytes",
            2000,
            [("a.pdf", make_pdf(pages=2), "application/pdf")] * 2,
            "max_upload_bytes",
            413,
        ),
        (
            "max_image_pixels",
            1000,
            [("a.jpg", samples.image("JPEG"), "image/jpeg")],
            "max_image_pixels",
            413,
        ),
    ],
)
def test_limits_are_named(
    client: TestClient,
    rt: Runtime,
    setting: str,
    value: int,
    files: list[FileSpec],
    limit: str,
    status: int,
) -> None:
    _, headers = new_org(rt)
    setattr(rt.settings, setting, value)
    res = post(client, headers, files)
    assert res.status_code == status
    assert assert_refused(res, rt, "limit-exceeded")["limit"] == limit


# --- fuzzing the endpoint: mutated PDFs get 201 or a 4xx problem, never a 500 ----------

SEEDS = [make_pdf(pages=2), samples.owner_only_pdf(), samples.launch_pdf()]


def _mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    out = bytearray(data)
    for kind, at, blob in edits:
        at %= max(len(out), 1)
        if kind == 0:
            out[at : at + len(blob)] = blob
        elif kind == 1:
            del out[at : at + 1 + len(blob) * 4]
        else:
            out[at:at] = blob
    return bytes(out)


edit = st.tuples(st.integers(0, 2), st.integers(0, 1 << 16), st.binary(min_size=1, max_size=24))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(seed=st.sampled_from(range(len(SEEDS))), edits=st.lists(edit, min_size=1, max_size=8))
def test_fuzzed_uploads_never_500(
    client: TestClient, rt: Runtime, seed: int, edits: list[tuple[int, int, bytes]]
) -> None:
    headers = _headers(rt)
    before = stored(rt)
    res = post(client, headers, [("fuzz.pdf", _mutate(SEEDS[seed], edits), "application/pdf")])
    if res.status_code == 201:
        assert set(res.json()) == CONTRACT_FIELDS
        assert stored(rt)[0] == before[0] + 1
    else:
        assert 400 <= res.status_code < 500, res.text
        assert res.headers["content-type"].startswith("application/problem+json")
        assert stored(rt)[:2] == before[:2]


_HEADERS: dict[int, dict[str, str]] = {}


def _headers(rt: Runtime) -> dict[str, str]:
    """One organization per runtime (hypothesis runs many examples in one test)."""
    if id(rt) not in _HEADERS:
        _HEADERS.clear()
        _HEADERS[id(rt)] = new_org(rt)[1]
    return _HEADERS[id(rt)]


# --- fuzzing mixed uploads: several files of every kind, some of them damaged ---------

MIXED = [
    ("a.pdf", make_pdf(pages=1), "application/pdf"),
    ("b.jpg", samples.image("JPEG"), "image/jpeg"),
    ("c.png", samples.image("PNG"), "image/png"),
    ("d.tiff", samples.tiff_pages(2), "image/tiff"),
    ("e.pdf", samples.word_hybrid_pdf(), "application/pdf"),
    ("f.pdf", samples.launch_pdf(), "application/pdf"),
    ("g.txt", b"just text", "text/plain"),
]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(
    picks=st.lists(
        st.tuples(st.integers(0, len(MIXED) - 1), st.lists(edit, max_size=2)),
        min_size=1,
        max_size=4,
    )
)
def test_fuzzed_mixed_uploads_never_500(
    client: TestClient, rt: Runtime, picks: list[tuple[int, list[tuple[int, int, bytes]]]]
) -> None:
    """Any mix of files, some mutated, in one request: 201 with one source per file
    and the pages of all of them, or a 4xx problem and nothing stored."""
    headers = _headers(rt)
    before = stored(rt)
    files = [
        (f"{i}-{MIXED[k][0]}", _mutate(MIXED[k][1], edits) if edits else MIXED[k][1], MIXED[k][2])
        for i, (k, edits) in enumerate(picks)
    ]
    res = post(client, headers, files)
    if res.status_code == 201:
        doc = client.get(f"/api/v1/documents/{res.json()['id']}", headers=headers).json()
        assert [s["filename"] for s in doc["sources"]] == [f[0] for f in files]
        assert res.json()["pages"] == sum(s["pages"] for s in doc["sources"])
        assert stored(rt)[0] == before[0] + 1
    else:
        assert 400 <= res.status_code < 500, res.text
        assert res.headers["content-type"].startswith("application/problem+json")
        assert stored(rt)[:2] == before[:2]
