"""PDF handling: intake checks, the visible signature block, sealing and validation.

No database and no web imports here; CPU-heavy calls belong in worker threads.
"""

from medsign.pdf.block import BlockLogo, SignatureBlock
from medsign.pdf.intake import PdfInfo, inspect_pdf
from medsign.pdf.parts import SealRequest
from medsign.pdf.seal import read_evidence, seal_pdf, seal_pdf_reference
from medsign.pdf.validate import SignatureReport, ValidationReport, validate_pdf

__all__ = [
    "BlockLogo",
    "PdfInfo",
    "SealRequest",
    "SignatureBlock",
    "SignatureReport",
    "ValidationReport",
    "inspect_pdf",
    "read_evidence",
    "seal_pdf",
    "seal_pdf_reference",
    "validate_pdf",
]
