"""PAdES B-LTA archive: the final PDF plus validation data and a document time-stamp.

One incremental update (ISO 32000-1 §7.5.6) is appended to the signed PDF:

* a Document Security Store (ISO 32000-2 §12.8.4.3, ETSI EN 319 142-1 §5.4.2): the
  certificates of every signature and of their time-stamp tokens, the CRLs of the
  issuing CAs (the development CA's; the clinician CA's where a device signed) and
  OCSP responses given for device certificates — the validation data of level B-LT;
* an empty signature field whose appearance carries the certificate of completion
  JSON as an associated file (/AF, ISO 32000-2 §14.13) — objects reached through a
  new signature field's appearance are form filling for earlier signatures, so they
  stay valid (pyHanko's difference analysis), as with the seals' own evidence;
* a document time-stamp in that field (/Type /DocTimeStamp, /SubFilter
  /ETSI.RFC3161, ISO 32000-2 §12.8.5; EN 319 142-1 §5.5) over the whole file — level
  B-LTA.

The main PDF (``GET /api/v1/envelopes/{id}/pdf``) is left as it is; this is a separate
artifact (docs/verify.md explains why). pyHanko writes the update: this is not a hot
path (once per completed envelope).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from asn1crypto import cms
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from medsign.errors import InvalidDocument
from medsign.pdf.objects import Name, ObjectSet, Stream
from medsign.pdf.reference import PyHankoTimestamper, run_sync
from medsign.pdf.timestamp import Timestamper

ARCHIVE_FIELD = "medsign-archive-timestamp"
EVIDENCE_FILE = "certificate-of-completion.json"


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _asn1_crl(crl: x509.CertificateRevocationList) -> asn1_crl.CertificateList:
    return asn1_crl.CertificateList.load(crl.public_bytes(serialization.Encoding.DER))


def _certs_of(signed_data: cms.SignedData) -> list[asn1_x509.Certificate]:
    out = []
    for choice in signed_data["certificates"] or []:
        if choice.name == "certificate":
            out.append(choice.chosen)
    return out


def _signature_certs(embedded: Any) -> list[asn1_x509.Certificate]:
    """Certificates in a signature's CMS and in its signature-time-stamp token."""
    signed_data = embedded.signed_data
    certs = _certs_of(signed_data)
    for signer_info in signed_data["signer_infos"]:
        for attr in signer_info["unsigned_attrs"] or []:
            if attr["type"].native == "signature_time_stamp_token":
                for token in attr["values"]:
                    certs.extend(_certs_of(token["content"]))
    return certs


def _evidence_appearance(writer: Any, evidence: bytes) -> Any:
    """An empty form XObject whose /AF lists the evidence JSON (ISO 32000-2 §14.13)."""
    from pyhanko.pdf_utils import generic

    from medsign.pdf.reference import _add_objects

    objs = ObjectSet()
    stream = objs.add(
        Stream(
            {
                "Type": Name("EmbeddedFile"),
                "Subtype": Name("application/json"),
                "Params": {"Size": len(evidence)},
            },
            evidence,
        )
    )
    spec = objs.add(
        {
            "Type": Name("Filespec"),
            "F": EVIDENCE_FILE,
            "UF": EVIDENCE_FILE,
            "EF": {"F": stream, "UF": stream},
            "Desc": "Certificate of completion (medsign evidence report)",
            "AFRelationship": Name("Supplement"),
        }
    )
    form = objs.add(
        Stream(
            {
                "Type": Name("XObject"),
                "Subtype": Name("Form"),
                "BBox": [0, 0, 0, 0],
                "AF": [spec],
            },
            b"",
        )
    )
    refs = _add_objects(writer, objs)
    return refs[form.index], generic


async def _archive(
    pdf: bytes,
    evidence: bytes | None,
    trust_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    ocsps: Sequence[bytes],
    timestamper: Timestamper,
) -> bytes:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.validation import DocumentSecurityStore
    from pyhanko_certvalidator import ValidationContext

    roots = [_asn1_cert(c) for c in trust_roots]
    crl_list = [_asn1_crl(c) for c in crls]
    ocsp_list = [asn1_ocsp.OCSPResponse.load(o) for o in ocsps]
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    embedded = writer.prev.embedded_regular_signatures
    if not embedded:
        raise InvalidDocument("The PDF has no signature to archive.")
    for sig in embedded:
        DocumentSecurityStore.supply_dss_in_writer(
            writer,
            sig.pkcs7_content.hex().encode("ascii"),  # a VRI entry per signature
            certs=_signature_certs(sig) + roots,
            crls=crl_list,
            ocsps=ocsp_list or None,
        )
    fields.append_signature_field(
        writer,
        fields.SigFieldSpec(sig_field_name=ARCHIVE_FIELD, on_page=0, box=(0, 0, 0, 0)),
    )
    if evidence is not None:
        form, _ = _evidence_appearance(writer, evidence)
        for field_ref in writer.root["/AcroForm"]["/Fields"]:
            field = field_ref.get_object()
            if field.get("/T") == ARCHIVE_FIELD:
                field["/AP"] = generic.DictionaryObject(  # type: ignore[no-untyped-call]
                    {generic.NameObject("/N"): form}
                )
                writer.mark_update(field_ref)
                break
    context = ValidationContext(
        trust_roots=roots,
        crls=crl_list,
        ocsps=ocsp_list,
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    out = io.BytesIO()
    await signers.PdfTimeStamper(
        PyHankoTimestamper(timestamper), field_name=ARCHIVE_FIELD
    ).async_timestamp_pdf(
        writer, "sha256", validation_context=context, output=out, embed_roots=True
    )
    return out.getvalue()


def build_archive(
    pdf: bytes,
    evidence: bytes | None,
    *,
    trust_roots: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    ocsps: Sequence[bytes] = (),
    timestamper: Timestamper,
) -> bytes:
    """The PAdES B-LTA archive of a signed ``pdf`` (the input bytes stay a prefix);
    ``crls`` and ``ocsps`` (DER OCSPResponses) go into its DSS."""
    archive = run_sync(_archive(pdf, evidence, trust_roots, crls, ocsps, timestamper))
    assert archive.startswith(pdf)
    return archive


__all__ = ["ARCHIVE_FIELD", "EVIDENCE_FILE", "build_archive"]
