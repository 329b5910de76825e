"""What one medsign signature adds to a PDF, shared by the fast path and pyHanko's path.

Besides the signature field, a signature's incremental update carries the signer's
evidence as an embedded file stream (ISO 32000-1 §7.11.4) associated with the
signature's appearance XObject, so the evidence is covered by the same signature and
can be read back with :func:`medsign.pdf.read_evidence`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from medsign.pdf.block import SignatureBlock, build_appearance
from medsign.pdf.objects import Existing, Name, ObjectSet, PdfValue, Ref, Stream

EVIDENCE_PREFIX = "evidence-"
EVIDENCE_SUFFIX = ".json"
EVIDENCE_RE = re.compile(r"^evidence-(.+)\.json$")


@dataclass(frozen=True)
class SealRequest:
    """One signature to add: the visible block, the evidence and the field."""

    block: SignatureBlock
    evidence: bytes
    field_name: str
    reason: str | None = None
    location: str | None = None
    slot: int = 0


def evidence_file_name(field_name: str) -> str:
    """``evidence-<field_name>.json``."""
    return f"{EVIDENCE_PREFIX}{field_name}{EVIDENCE_SUFFIX}"


def pdf_date(value: datetime) -> str:
    """A PDF date string ``D:YYYYMMDDHHmmSS+HH'mm'`` (ISO 32000-1 §7.9.4)."""
    if value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)
    offset = value.utcoffset()
    assert offset is not None
    total = int(offset.total_seconds()) // 60
    sign = "+" if total >= 0 else "-"
    hours, minutes = divmod(abs(total), 60)
    return f"D:{value:%Y%m%d%H%M%S}{sign}{hours:02d}'{minutes:02d}'"


def add_evidence(objs: ObjectSet, request: SealRequest) -> Ref:
    """Add the evidence as an embedded file stream with its file specification.

    The file specification is listed in the /AF (associated files, ISO 32000-2
    §14.13) of the block's appearance XObject. Objects reached through a new
    signature field's /AP count as form filling in pyHanko's modification analysis,
    so later signatures never make earlier ones look tampered with, as a new
    /FileAttachment annotation would.
    """
    name = evidence_file_name(request.field_name)
    stream = objs.add(
        Stream(
            {
                "Type": Name("EmbeddedFile"),
                "Subtype": Name("application/json"),
                "Params": {"Size": len(request.evidence)},
            },
            request.evidence,
        )
    )
    return objs.add(
        {
            "Type": Name("Filespec"),
            "F": name,
            "UF": name,
            "EF": {"F": stream, "UF": stream},
            "Desc": f"Signature evidence for {request.field_name}",
            "AFRelationship": Name("Supplement"),  # ISO 32000-2 §14.13.2
        }
    )


def add_appearance(objs: ObjectSet, block: SignatureBlock, evidence: Ref) -> Ref:
    """Add the block appearance (form XObject and font) and return its reference."""
    return build_appearance(objs, block, associated=[evidence])


def widget_dict(
    request: SealRequest,
    rect: tuple[float, float, float, float],
    page: Existing | PdfValue,
    appearance: Ref,
    signature: Ref,
) -> dict[str, PdfValue]:
    """A merged signature field and widget annotation (§12.7.4.5, §12.5.6.19)."""
    return {
        "Type": Name("Annot"),
        "Subtype": Name("Widget"),
        "FT": Name("Sig"),
        "T": request.field_name,
        "V": signature,
        "F": 132,  # Print + Locked (§12.5.3)
        "P": page,
        "Rect": list[PdfValue](rect),
        "AP": {"N": appearance},
    }
