"""RFC 3161 time-stamps: the built-in TSA, the HTTP client, PAdES B-T on both paths."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import io
import json
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from asn1crypto import cms, core, tsp
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from pyhanko.pdf_utils.reader import PdfFileReader

from medsign.pdf import SealRequest, SignatureBlock, seal_pdf_reference, validate_pdf
from medsign.pdf.incremental import seal_incremental
from medsign.pdf.timestamp import (
    TSA_POLICY_OID,
    HttpTimestamper,
    LocalTsa,
    TimestampError,
    check_response,
)
from medsign.pki import DevCA, SealKey, load_or_create_dev_ca

PdfsigRunner = Callable[[bytes], str]
PdfFactory = Callable[..., bytes]
Sealer = Callable[..., bytes]


@pytest.fixture(scope="module")
def tsa(dev_ca: DevCA, tmp_path_factory: pytest.TempPathFactory) -> LocalTsa:
    return LocalTsa(dev_ca.issue_tsa(tmp_path_factory.mktemp("tsa")))


def request(slot: int) -> SealRequest:
    name = ["Иванова Мария", "John Smith", "زهرا حسینی"][slot % 3]
    return SealRequest(
        block=SignatureBlock(
            signer_name=name,
            signed_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
            method="SMS code",
            document_id="doc-1",
            verification_code="7KQ4-M2XD",
            verify_url=None,
        ),
        evidence=json.dumps({"signer_name": name, "method": "sms_otp"}).encode(),
        field_name=f"medsign-ts-{slot}",
        reason="Patient signature",
        location=None,
        slot=slot,
    )


def assert_pdfsig_valid(out: str, count: int) -> None:
    """pdfsig calls every signature valid and the first one's certificate trusted.

    poppler 22.12 (NSS) reports "Unknown issue with Certificate" for every signature
    that follows a time-stamped one (pyHanko-made files alike), so only the first
    certificate verdict is meaningful; none may say untrusted, revoked or expired.
    """
    assert out.count("Signature Validation: Signature is Valid.") == count, out
    verdicts = [ln.strip() for ln in out.splitlines() if "Certificate Validation:" in ln]
    assert len(verdicts) == count, out
    assert verdicts[0] == "- Certificate Validation: Certificate is Trusted.", out
    for verdict in verdicts:
        assert "Trusted." in verdict or "Unknown issue" in verdict, out
        assert "isn't Trusted" not in verdict, out


def _tsq(digest: bytes, **extra: object) -> bytes:
    fields: dict[str, object] = {
        "version": 1,
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
        "nonce": 0x1234567890,
        "cert_req": True,
    }
    fields.update(extra)
    return bytes(tsp.TimeStampReq(fields).dump())


def test_tsa_certificate_is_a_timestamping_certificate(tsa: LocalTsa, dev_ca: DevCA) -> None:
    cert = tsa.key.certificate
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical  # RFC 3161 §2.3
    assert list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    assert cert.issuer == dev_ca.certificate.subject
    cert.verify_directly_issued_by(dev_ca.certificate)


def test_tsa_key_is_reused(dev_ca: DevCA, tmp_path: Path) -> None:
    first = dev_ca.issue_tsa(tmp_path)
    again = load_or_create_dev_ca_same(dev_ca).issue_tsa(tmp_path)
    assert first.certificate == again.certificate


def load_or_create_dev_ca_same(ca: DevCA) -> DevCA:
    return DevCA(ca.private_key, ca.certificate)


def test_token_structure(tsa: LocalTsa) -> None:
    digest = hashlib.sha256(b"signature value").digest()
    token = cms.ContentInfo.load(tsa.timestamp(digest))
    sd = token["content"]
    assert sd["version"].native == "v3"
    assert sd["encap_content_info"]["content_type"].native == "tst_info"
    info = sd["encap_content_info"]["content"].parsed
    assert info["policy"].dotted == TSA_POLICY_OID
    assert info["message_imprint"]["hashed_message"].native == digest
    assert info["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    now = dt.datetime.now(dt.UTC)
    assert abs((info["gen_time"].native - now).total_seconds()) < 5
    attrs = {a["type"].native for a in sd["signer_infos"][0]["signed_attrs"]}
    assert attrs == {"content_type", "message_digest", "signing_certificate_v2"}  # RFC 5816
    assert len(tsa.timestamp(digest)) <= tsa.max_token_size()
    serials = {
        cms.ContentInfo.load(tsa.timestamp(digest))["content"]["encap_content_info"]["content"]
        .parsed["serial_number"]
        .native
        for _ in range(20)
    }
    assert len(serials) == 20


def test_openssl_verifies_the_reply(tsa: LocalTsa, dev_ca: DevCA, tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    data = b"the data that was time-stamped"
    query = _tsq(hashlib.sha256(data).digest())
    (tmp_path / "q.tsq").write_bytes(query)
    (tmp_path / "r.tsr").write_bytes(tsa.respond(query))
    (tmp_path / "data").write_bytes(data)
    (tmp_path / "ca.pem").write_bytes(dev_ca.certificate.public_bytes(serialization.Encoding.PEM))
    ca = str(tmp_path / "ca.pem")
    for args in (
        ["-queryfile", str(tmp_path / "q.tsq")],
        ["-data", str(tmp_path / "data")],
    ):
        proc = subprocess.run(
            [openssl, "ts", "-verify", "-in", str(tmp_path / "r.tsr"), *args, "-CAfile", ca],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0 and "Verification: OK" in proc.stdout, proc.stderr


@pytest.mark.parametrize(
    ("query", "fail"),
    [
        (b"not DER at all", "bad_data_format"),
        (b"", "bad_data_format"),
        (
            tsp.TimeStampReq(
                {
                    "version": 1,
                    "message_imprint": {
                        "hash_algorithm": {"algorithm": "md5"},
                        "hashed_message": b"\x00" * 16,
                    },
                }
            ).dump(),
            "bad_alg",
        ),
        (_tsq(b"\x00" * 20), "bad_data_format"),
        (_tsq(b"\x00" * 32, req_policy="1.2.3.4"), "unaccepted_policy"),
    ],
)
def test_tsa_rejects_bad_requests(tsa: LocalTsa, query: bytes, fail: str) -> None:
    reply = tsa.respond(query)
    outer = core.Sequence.load(reply)
    status = tsp.PKIStatusInfo.load(outer[0].dump()).native
    assert status["status"] == "rejection"
    assert fail in status["fail_info"]
    assert status["status_string"]
    with pytest.raises(TimestampError, match="refused"):
        check_response(reply, b"\x00" * 32, None)


def test_reply_without_certs_when_not_requested(tsa: LocalTsa) -> None:
    digest = b"\x01" * 32
    reply = tsa.respond(_tsq(digest, cert_req=False, nonce=7))
    token = cms.ContentInfo.load(check_response(reply, digest, 7))
    assert not token["content"]["certificates"]
    with pytest.raises(TimestampError, match="nonce"):
        check_response(reply, digest, 8)
    with pytest.raises(TimestampError, match="imprint"):
        check_response(reply, b"\x02" * 32, 7)


@pytest.mark.parametrize("sealer", [seal_incremental, seal_pdf_reference])
def test_both_paths_make_pades_b_t(
    sealer: Sealer,
    pdf_factory: PdfFactory,
    seal_key: SealKey,
    tsa: LocalTsa,
    dev_ca: DevCA,
    pdfsig: PdfsigRunner,
    qpdf_check: Callable[[bytes], None],
) -> None:
    data = pdf_factory(pages=2)
    for slot in range(2):
        data = sealer(data, seal_key, request(slot), tsa)
    assert_pdfsig_valid(pdfsig(data), 2)
    qpdf_check(data)
    for sig in PdfFileReader(io.BytesIO(data)).embedded_signatures:
        signer_info = sig.signed_data["signer_infos"][0]
        unsigned = signer_info["unsigned_attrs"]
        assert [a["type"].native for a in unsigned] == ["signature_time_stamp_token"]
        token = unsigned[0]["values"][0]
        imprint = token["content"]["encap_content_info"]["content"].parsed["message_imprint"]
        # RFC 3161 Appendix A: the imprint is the hash of the signature value.
        expected = hashlib.sha256(signer_info["signature"].native).digest()
        assert imprint["hashed_message"].native == expected
    report = validate_pdf(data, [dev_ca.certificate])
    assert report.ok, report.reasons
    for s in report.signatures:
        assert s.timestamp_valid is True
        assert s.timestamp_at is not None
        assert abs((s.timestamp_at - dt.datetime.now(dt.UTC)).total_seconds()) < 60
    assert [s.changes_after for s in report.signatures] == ["allowed", "none"]
    assert [s.covers_whole_document for s in report.signatures] == [False, True]


def test_timestamp_from_unknown_tsa_is_not_trusted(
    pdf_factory: PdfFactory,
    seal_key: SealKey,
    dev_ca: DevCA,
    tmp_path: Path,
) -> None:
    other_ca = load_or_create_dev_ca(tmp_path / "other")
    stranger = LocalTsa(other_ca.issue_tsa(tmp_path / "other" / "tsa"))
    data = seal_incremental(pdf_factory(), seal_key, request(0), stranger)
    report = validate_pdf(data, [dev_ca.certificate])
    sig = report.signatures[0]
    assert sig.intact and sig.valid and sig.trusted
    assert sig.timestamp_valid is False
    assert not report.ok
    assert any("time-stamp" in r for r in report.reasons)


class _TsaHandler(http.server.BaseHTTPRequestHandler):
    tsa: LocalTsa
    corrupt = False

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        reply = self.tsa.respond(body)
        if self.corrupt:
            reply = reply[:-10]
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def tsa_server(tsa: LocalTsa) -> Iterator[tuple[str, type[_TsaHandler]]]:
    """A real RFC 3161 TSA on loopback HTTP (RFC 3161 §3.4) answered by the built-in TSA."""
    handler = type("Handler", (_TsaHandler,), {"tsa": tsa, "corrupt": False})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("sealer", [seal_incremental, seal_pdf_reference])
def test_http_tsa_client(
    sealer: Sealer,
    tsa_server: tuple[str, type[_TsaHandler]],
    pdf_factory: PdfFactory,
    seal_key: SealKey,
    dev_ca: DevCA,
    pdfsig: PdfsigRunner,
) -> None:
    url, _handler = tsa_server
    client = HttpTimestamper(url, timeout=5)
    data = sealer(pdf_factory(), seal_key, request(0), client)
    assert_pdfsig_valid(pdfsig(data), 1)
    report = validate_pdf(data, [dev_ca.certificate])
    assert report.ok, report.reasons
    assert report.signatures[0].timestamp_valid is True


def test_http_tsa_failures(
    tsa_server: tuple[str, type[_TsaHandler]], pdf_factory: PdfFactory, seal_key: SealKey
) -> None:
    url, handler = tsa_server
    handler.corrupt = True
    with pytest.raises(TimestampError, match="not a TimeStampResp"):
        HttpTimestamper(url, timeout=5).timestamp(b"\x00" * 32)
    dead = HttpTimestamper("http://127.0.0.1:9/tsa", timeout=2)
    with pytest.raises(TimestampError, match="did not answer"):
        dead.timestamp(b"\x00" * 32)
    with pytest.raises(TimestampError):
        seal_incremental(pdf_factory(), seal_key, request(0), dead)
