"""The signature block with an organization's name and logo (docs/branding.md): both
signing paths embed the logo as an image XObject of the block's appearance, and pdfsig,
qpdf and pyHanko still call every signature valid."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable

import pikepdf
import pytest

from medsign.branding.logo import prepare_logo
from medsign.pdf import BlockLogo, SealRequest, seal_pdf_reference
from medsign.pdf.incremental import seal_incremental
from medsign.pki import DevCA, SealKey
from tests.support.logos import image_bytes
from tests.unit.pdf.test_pdf_seal import check_all, request

Sealer = Callable[[bytes, SealKey, SealRequest], bytes]


def branded(slot: int) -> SealRequest:
    logo = prepare_logo(image_bytes("PNG", (900, 300)))
    req = request(slot)
    block = dataclasses.replace(
        req.block, issuer="Клиника Аврора", logo=BlockLogo(logo.jpeg, 240, 80)
    )
    return dataclasses.replace(req, block=block)


@pytest.mark.parametrize("sealer", [seal_incremental, seal_pdf_reference], ids=["fast", "pyhanko"])
def test_logo_and_name_in_a_valid_block(
    sealer: Sealer,
    pdf_factory: Callable[..., bytes],
    seal_key: SealKey,
    dev_ca: DevCA,
    pdfsig: Callable[[bytes], str],
    qpdf_check: Callable[[bytes], None],
) -> None:
    data = pdf_factory(pages=2)
    for slot in range(2):
        data = sealer(data, seal_key, branded(slot))
    check_all(data, 2, dev_ca, pdfsig, qpdf_check)
    with pikepdf.open(io.BytesIO(data)) as doc:
        sigs = [a for p in doc.pages for a in p.get("/Annots", []) if a.get("/FT") == "/Sig"]
        assert len(sigs) == 2
        for widget in sigs:
            form = widget.AP.N
            logo = form.Resources.XObject.Logo
            assert logo.Subtype == "/Image" and logo.ColorSpace == "/DeviceRGB"
            assert b"/Logo Do" in form.read_bytes()
