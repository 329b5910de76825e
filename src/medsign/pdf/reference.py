"""The reference signing path: pyHanko, with medsign's block and evidence.

Slower than :mod:`medsign.pdf.incremental` but handles any PDF pyHanko can read
(hybrid files, odd page trees, repaired files). It writes the same objects: the
appearance and evidence come from :mod:`medsign.pdf.parts` and are converted to
pyHanko objects; pyHanko creates the field and the PAdES signature (subfilter
/ETSI.CAdES.detached, which also leaves out signing-time, EN 319 142-1 §5.2.1).
"""

from __future__ import annotations

import asyncio
import functools
import io
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from asn1crypto import cms
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.stamp import BaseStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from medsign.pdf.block import slot_rect
from medsign.pdf.objects import (
    Existing,
    Name,
    ObjectSet,
    PdfValue,
    Raw,
    Ref,
    Stream,
)
from medsign.pdf.parts import SealRequest, add_appearance, add_evidence
from medsign.pdf.timestamp import Timestamper, TimestampError
from medsign.pki import SealKey

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even if a loop runs in this thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="medsign-pyhanko")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    result: T = box["result"]
    return result


@functools.lru_cache(maxsize=64)
def pyhanko_signer(key: SealKey) -> signers.SimpleSigner:
    """A pyHanko :class:`SimpleSigner` for a seal key (cached per key)."""
    der_key = key.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cert = asn1_x509.Certificate.load(key.certificate.public_bytes(serialization.Encoding.DER))
    chain = [
        asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in key.chain
    ]
    return signers.SimpleSigner(
        signing_cert=cert,
        signing_key=asn1_keys.PrivateKeyInfo.load(der_key),
        cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]
    )


def _to_pyhanko(value: PdfValue, refs: list[generic.IndirectObject]) -> generic.PdfObject:
    """Convert a :mod:`medsign.pdf.objects` value to a pyHanko object."""
    if value is None:
        return generic.NullObject()
    if isinstance(value, bool):
        return generic.BooleanObject(value)  # type: ignore[no-untyped-call]
    if isinstance(value, int):
        return generic.NumberObject(value)  # type: ignore[no-untyped-call]
    if isinstance(value, float):
        return generic.FloatObject(value)  # type: ignore[no-untyped-call]
    if isinstance(value, Name):
        return generic.NameObject("/" + value)
    if isinstance(value, Raw):  # pragma: no cover - the shared parts use no raw values
        raise TypeError("raw values are not supported on the reference path")
    if isinstance(value, str):
        return generic.pdf_string(value)
    if isinstance(value, bytes):
        return generic.ByteStringObject(value)
    if isinstance(value, Ref):
        return refs[value.index]
    if isinstance(value, Existing):  # pragma: no cover - converted by the caller
        raise TypeError("existing references must be resolved by the caller")
    if isinstance(value, list):
        return generic.ArrayObject([_to_pyhanko(v, refs) for v in value])
    if isinstance(value, dict):
        return generic.DictionaryObject(  # type: ignore[no-untyped-call]
            {generic.NameObject("/" + k): _to_pyhanko(v, refs) for k, v in value.items()}
        )
    if isinstance(value, Stream):
        d = generic.DictionaryObject(  # type: ignore[no-untyped-call]
            {generic.NameObject("/" + k): _to_pyhanko(v, refs) for k, v in value.dictionary.items()}
        )
        return generic.StreamObject(d, encoded_data=value.joined())
    raise TypeError(f"cannot convert {type(value)!r}")  # pragma: no cover


def _add_objects(writer: IncrementalPdfFileWriter, objs: ObjectSet) -> list[generic.IndirectObject]:
    refs = [writer.allocate_placeholder() for _ in objs.objects]
    for ref, obj in zip(refs, objs.objects, strict=True):
        writer.add_object(_to_pyhanko(obj, refs), idnum=ref.idnum)
    return refs


class _Stamp:
    """Duck-typed pyHanko stamp: installs a prepared appearance on the widget."""

    def __init__(self, appearance: generic.IndirectObject) -> None:
        self.appearance = appearance

    def apply_appearance(self, sig_annot: generic.DictionaryObject) -> None:
        normal = {generic.NameObject("/N"): self.appearance}
        sig_annot["/AP"] = generic.DictionaryObject(normal)  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class _BlockStyle(BaseStampStyle):
    """A stamp style whose stamp is the medsign block built beforehand."""

    appearance: generic.IndirectObject | None = None

    def create_stamp(self, writer: Any, box: Any, text_params: dict[str, Any]) -> Any:
        assert self.appearance is not None
        return _Stamp(self.appearance)


def _page_box(page: generic.DictionaryObject) -> tuple[float, float, float, float]:
    node: Any = page
    for _ in range(64):
        box = node.get("/CropBox") or node.get("/MediaBox")
        if box is not None:
            a, b, c, d = (float(v) for v in box)
            return (min(a, c), min(b, d), max(a, c), max(b, d))
        parent = node.get("/Parent")
        if parent is None:
            break
        node = parent.get_object()
    return (0.0, 0.0, 612.0, 792.0)


class PyHankoTimestamper(TimeStamper):
    """A :class:`Timestamper` seen through pyHanko's ``TimeStamper`` interface."""

    def __init__(self, inner: Timestamper) -> None:
        super().__init__(include_nonce=False)  # type: ignore[no-untyped-call]
        self.inner = inner

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> Any:
        """Time-stamp a SHA-256 digest (RFC 3161) through the wrapped timestamper."""
        if md_algorithm.lower() != "sha256":
            raise TimestampError(f"unsupported digest {md_algorithm} for a time-stamp")
        token = await asyncio.to_thread(self.inner.timestamp, message_digest)
        return cms.ContentInfo.load(token)


async def seal_with_pyhanko(
    pdf: bytes, key: SealKey, request: SealRequest, timestamper: Timestamper | None = None
) -> bytes:
    """Seal with pyHanko: same block and evidence as the fast path (B-T with a timestamper)."""
    writer, pdf_signer = _pdf_signer(pdf, request, pyhanko_signer(key), timestamper)
    out = io.BytesIO()
    await pdf_signer.async_sign_pdf(writer, output=out)
    return out.getvalue()


async def prepare_with_pyhanko(
    pdf: bytes,
    certificate: x509.Certificate,
    chain: tuple[x509.Certificate, ...],
    request: SealRequest,
    contents_len: int,
) -> tuple[bytes, int, int, bytes]:
    """The first half of an interrupted signature, by pyHanko (``PdfSigner.
    async_digest_doc_for_signing``): the file with ``contents_len`` bytes reserved in
    ``/Contents``, the reserved region (from its ``<`` to after its ``>``) and the
    SHA-256 over the /ByteRange. The CMS is built and written later by the caller."""
    external = signers.ExternalSigner(
        signing_cert=asn1_x509.Certificate.load(
            certificate.public_bytes(serialization.Encoding.DER)
        ),
        cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in chain]
        ),
        signature_value=bytes(72),
    )
    writer, pdf_signer = _pdf_signer(pdf, request, external, None)
    # pyHanko's ``bytes_reserved`` counts the hex digits of the placeholder (2 per byte).
    prepared, _tbs, output = await pdf_signer.async_digest_doc_for_signing(
        writer, bytes_reserved=2 * contents_len
    )
    output.seek(0)
    data = output.read()
    return (
        data,
        prepared.reserved_region_start,
        prepared.reserved_region_end,
        prepared.document_digest,
    )


def _pdf_signer(
    pdf: bytes, request: SealRequest, signer: signers.Signer, timestamper: Timestamper | None
) -> tuple[IncrementalPdfFileWriter, signers.PdfSigner]:
    """The writer and pyHanko signer for ``request``: our block and evidence objects, the
    field on the last page in the request's slot, PAdES, SHA-256."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    page_ref, _resources = writer.find_page_for_modification(-1)  # type: ignore[no-untyped-call]
    page = page_ref.get_object()
    rect = slot_rect(_page_box(page), request.slot)

    objs = ObjectSet()
    evidence = add_evidence(objs, request)
    appearance = add_appearance(objs, request.block, evidence)
    refs = _add_objects(writer, objs)

    page_count = int(writer.root["/Pages"]["/Count"])
    style = _BlockStyle(appearance=refs[appearance.index])
    meta = signers.PdfSignatureMetadata(
        field_name=request.field_name,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        reason=request.reason,
        location=request.location,
    )
    field_spec = fields.SigFieldSpec(
        sig_field_name=request.field_name,
        on_page=page_count - 1,
        box=cast(Any, rect),
    )
    pdf_signer = signers.PdfSigner(
        meta,
        signer,
        new_field_spec=field_spec,
        stamp_style=style,
        timestamper=PyHankoTimestamper(timestamper) if timestamper is not None else None,
    )
    return writer, pdf_signer
