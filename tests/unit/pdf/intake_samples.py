"""Files of every kind intake meets, made in the test (no fixture files, no network)."""

from __future__ import annotations

import io
import zipfile
import zlib

import pikepdf
from PIL import Image

from tests.support.pdfs import make_pdf

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx(text: str = "Informed consent", *, macro: bool = False) -> bytes:
    """A minimal WordprocessingML package (ECMA-376 Part 1 §11.3.10)."""
    main = (
        "application/vnd.ms-word.document.macroEnabled.main+xml"
        if macro
        else "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/word/document.xml" ContentType="{main}"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        )
        z.writestr(
            "word/document.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W_NS}"><w:body>'
            f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>",
        )
        if macro:
            z.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0 not really a vba project")
    return buf.getvalue()


def odt(text: str = "Informed consent", *, macro: bool = False) -> bytes:
    """A minimal OpenDocument text (ODF 1.2 Part 3: ``mimetype`` first, stored)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            zipfile.ZipInfo("mimetype"),
            "application/vnd.oasis.opendocument.text",
            compress_type=zipfile.ZIP_STORED,
        )
        z.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
            ' manifest:version="1.2">'
            '<manifest:file-entry manifest:full-path="/" manifest:version="1.2" '
            'manifest:media-type="application/vnd.oasis.opendocument.text"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
            "</manifest:manifest>",
        )
        z.writestr(
            "content.xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            "<office:document-content"
            ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
            ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
            f"<office:body><office:text><text:p>{text}</text:p></office:text></office:body>"
            "</office:document-content>",
        )
        if macro:
            z.writestr("Basic/Standard/Module1.xml", "<script/>")
    return buf.getvalue()


def rtf(text: str = "Informed consent") -> bytes:
    """A minimal RTF document."""
    return ("{\\rtf1\\ansi{\\fonttbl\\f0 Helvetica;}\\f0\\pard " + text + " \\par}").encode()


def plain_zip() -> bytes:
    """A ZIP archive that is not an office document."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "hello")
    return buf.getvalue()


def image(fmt: str, size: tuple[int, int] = (400, 300), **save: object) -> bytes:
    """A solid image in ``fmt`` (JPEG, PNG, TIFF, WEBP, HEIF)."""
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    mode = "RGBA" if save.pop("alpha", False) else "RGB"
    img = Image.new(mode, size, (200, 30, 30, 128) if mode == "RGBA" else (200, 30, 30))
    buf = io.BytesIO()
    img.save(buf, fmt, **save)
    return buf.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A small PNG that claims ``width`` x ``height`` pixels (ISO 15948 §11.2.2 IHDR)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body).to_bytes(4, "big")
        return len(body).to_bytes(4, "big") + kind + body + crc

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    idat = zlib.compress(b"\x00" * 1_000_000, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def quadrant_jpeg(orientation: int) -> bytes:
    """A 200 x 100 JPEG whose top-left quadrant is red, the rest white, with EXIF orientation."""
    img = Image.new("RGB", (200, 100), (255, 255, 255))
    img.paste((255, 0, 0), (0, 0, 100, 50))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, exif=exif.tobytes())
    return buf.getvalue()


def tiff_pages(count: int) -> bytes:
    """A multi-page TIFF."""
    frames = [Image.new("L", (200, 300), 60 * i) for i in range(count)]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def _rewrite(data: bytes, edit: object) -> bytes:
    pdf = pikepdf.open(io.BytesIO(data))
    assert callable(edit)
    edit(pdf)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def javascript_pdf() -> bytes:
    """A PDF that runs JavaScript when opened (ISO 32000-1 §12.6.4.16)."""

    def edit(pdf: pikepdf.Pdf) -> None:
        pdf.Root.OpenAction = pikepdf.Dictionary(
            S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('hi')")
        )

    return _rewrite(make_pdf(), edit)


def launch_pdf() -> bytes:
    """A PDF with a launch action on open (ISO 32000-1 §12.6.4.5), in an object stream."""
    pdf = pikepdf.open(io.BytesIO(make_pdf()))
    pdf.Root.OpenAction = pdf.make_indirect(
        pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("calc.exe"))
    )
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


def certified_pdf(p: int) -> bytes:
    """A PDF carrying a DocMDP certification entry with permission level ``p``."""

    def edit(pdf: pikepdf.Pdf) -> None:
        sig = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Sig,
                Filter=pikepdf.Name("/Adobe.PPKLite"),
                Reference=pikepdf.Array(
                    [
                        pikepdf.Dictionary(
                            Type=pikepdf.Name.SigRef,
                            TransformMethod=pikepdf.Name.DocMDP,
                            TransformParams=pikepdf.Dictionary(
                                Type=pikepdf.Name.TransformParams, P=p, V=pikepdf.Name("/1.2")
                            ),
                        )
                    ]
                ),
            )
        )
        pdf.Root.Perms = pikepdf.Dictionary(DocMDP=sig)

    return _rewrite(make_pdf(), edit)


def zero_page_pdf() -> bytes:
    """A syntactically valid PDF without pages."""
    out = io.BytesIO()
    pikepdf.new().save(out)
    return out.getvalue()


def owner_only_pdf() -> bytes:
    """Encrypted with an owner password only (opens for anyone; permissions limited)."""
    pdf = pikepdf.open(io.BytesIO(make_pdf(pages=2)))
    out = io.BytesIO()
    pdf.save(
        out,
        encryption=pikepdf.Encryption(
            user="", owner="owner", allow=pikepdf.Permissions(modify_other=False)
        ),
    )
    return out.getvalue()


def pubsec_pdf() -> bytes:
    """A PDF whose trailer names the public-key security handler (ISO 32000-1 §7.6.4)."""
    data = make_pdf()
    enc = b"99 0 obj\n<< /Filter /Adobe.PubSec /SubFilter /adbe.pkcs7.s5 /V 4 >>\nendobj\n"
    head, _, _ = data.rpartition(b"trailer")
    return head + enc + b"trailer\n<< /Size 100 /Root 1 0 R /Encrypt 99 0 R >>\n%%EOF\n"


def word_hybrid_pdf(
    pages: int = 2, *, javascript: bool = False, xrefstm_shift: int = 0, objstm_type: bool = True
) -> bytes:
    """A hybrid-reference file as MS Word 2007+ "Save as PDF" writes them (ISO 32000-1 §7.5.8.4).

    The page dictionaries (and, with ``javascript``, an /OpenAction JavaScript action,
    §12.6.4.16) sit in a Flate-compressed object stream (§7.5.7). The main classic xref
    table lists the other objects and marks the compressed ones free, so a PDF 1.4 reader
    skips them; an empty update section's trailer has /Prev to that table and /XRefStm,
    the offset of a cross-reference stream (§7.5.8) whose type-2 entries locate the
    compressed objects. ``xrefstm_shift`` moves /XRefStm off its stream;
    ``objstm_type=False`` leaves ``/Type /ObjStm`` out of the object stream.
    """
    catalog, tree = 1, 2
    page_nums = list(range(3, 3 + pages))
    font = page_nums[-1] + 1
    contents = list(range(font + 1, font + 1 + pages))
    objstm = contents[-1] + 1
    action = objstm + 1 if javascript else None
    xrefstm = objstm + (2 if javascript else 1)
    size = xrefstm + 1

    compressed: dict[int, bytes] = {
        num: b"<</Type/Page/Parent %d 0 R/MediaBox[0 0 595 842]"
        b"/Resources<</Font<</F1 %d 0 R>>>>/Contents %d 0 R>>" % (tree, font, content)
        for num, content in zip(page_nums, contents, strict=True)
    }
    if action is not None:
        compressed[action] = b"<</S/JavaScript/JS(app.alert\\('hi'\\))>>"

    out = bytearray(b"%PDF-1.5\n%\xb5\xb5\xb5\xb5\n")
    offsets: dict[int, int] = {}

    def put(num: int, body: bytes) -> None:
        offsets[num] = len(out)
        out.extend(b"%d 0 obj\n%s\nendobj\n" % (num, body))

    def stream(head: bytes, data: bytes) -> bytes:
        return b"<<%s/Length %d>>\nstream\n%s\nendstream" % (head, len(data), data)

    open_action = b"/OpenAction %d 0 R" % action if action is not None else b""
    put(catalog, b"<</Type/Catalog/Pages %d 0 R%s>>" % (tree, open_action))
    kids = b" ".join(b"%d 0 R" % num for num in page_nums)
    put(tree, b"<</Type/Pages/Count %d/Kids[%s]>>" % (pages, kids))
    put(font, b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>")
    for n, num in enumerate(contents, start=1):
        put(num, stream(b"", b"BT /F1 18 Tf 72 720 Td (Word page %d) Tj ET" % n))
    # Object stream: "number offset" pairs, then the objects (§7.5.7).
    pairs, bodies = [], b""
    for num, body in compressed.items():
        pairs.append(b"%d %d" % (num, len(bodies)))
        bodies += body + b"\n"
    index_head = b" ".join(pairs) + b"\n"
    kind = b"/Type/ObjStm" if objstm_type else b""
    put(
        objstm,
        stream(
            b"%s/N %d/First %d/Filter/FlateDecode" % (kind, len(compressed), len(index_head)),
            zlib.compress(index_head + bodies),
        ),
    )
    # Cross-reference stream, W [1 4 2]: type 2, object stream number, index in it.
    rows = b"".join(
        b"\x02" + objstm.to_bytes(4, "big") + i.to_bytes(2, "big") for i in range(len(compressed))
    )
    index = b" ".join(b"%d 1" % num for num in compressed)
    put(
        xrefstm,
        stream(
            b"/Type/XRef/Size %d/W[1 4 2]/Index[%s]/Filter/FlateDecode" % (size, index),
            zlib.compress(rows),
        ),
    )
    # Main section: free entries (linked list, generation 65535) for the compressed ones.
    main = len(out)
    free = [0, *compressed]
    table = b"".join(
        b"%010d 00000 n \n" % offsets[num]
        if num in offsets
        else b"%010d 65535 f \n" % free[(free.index(num) + 1) % len(free)]
        for num in range(size)
    )
    out.extend(b"xref\n0 %d\n%strailer\n<</Size %d/Root %d 0 R>>\n" % (size, table, size, catalog))
    out.extend(b"startxref\n%d\n%%%%EOF\n" % main)
    # Update section: no entries; its trailer points at the main table and the stream.
    update = len(out)
    out.extend(
        b"xref\n0 0\ntrailer\n<</Size %d/Root %d 0 R/Prev %d/XRefStm %d>>\n"
        % (size, catalog, main, offsets[xrefstm] + xrefstm_shift)
    )
    out.extend(b"startxref\n%d\n%%%%EOF\n" % update)
    return bytes(out)


def xfa_pdf(
    *, needs_rendering: bool | None, object_streams: bool = False, script: bool = False
) -> bytes:
    """A PDF whose AcroForm carries an XFA form (ISO 32000-1 §12.7.8).

    ``needs_rendering`` True is a dynamic XFA form: the catalog's /NeedsRendering
    (table 28) says the viewer has to lay the pages out from the XFA itself. Without it
    (static XFA) the PDF pages and AcroForm fields are the rendering.
    """
    pdf = pikepdf.open(io.BytesIO(make_pdf()))
    xdp = pdf.make_stream(
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template '
        b'xmlns="http://www.xfa.org/schema/xfa-template/3.3/"><subform name="form1">'
        + (
            b'<event activity="initialize"><script contentType="application/x-javascript">'
            b"this.rawValue = 'changed';</script></event>"
            if script
            else b""
        )
        + b"</subform></template></xdp:xdp>"
    )
    pdf.Root.AcroForm = pdf.make_indirect(
        pikepdf.Dictionary(Fields=pikepdf.Array(), XFA=pikepdf.Array([pikepdf.String("xdp"), xdp]))
    )
    if needs_rendering is not None:
        pdf.Root.NeedsRendering = needs_rendering
    out = io.BytesIO()
    mode = pikepdf.ObjectStreamMode.generate if object_streams else pikepdf.ObjectStreamMode.disable
    pdf.save(out, object_stream_mode=mode)
    return out.getvalue()


def inline_image_pdf(width: int, height: int, *, where: str = "page", keys: str = "W H") -> bytes:
    """A one-page PDF with one grey inline image (ISO 32000-1 §8.9.7) declaring
    ``width`` × ``height`` (its samples are a few compressed bytes: the limit is judged
    from the dictionary). ``where``: in the page's content, a form XObject the page
    draws, an annotation's appearance stream only, a tiling pattern or a Type 3 glyph.
    ``keys``: "W H" (abbreviated) or "Width Height"; the values may be given as reals.
    """
    w_key, h_key = keys.split()
    inline = b"q 100 0 0 100 72 600 cm BI /%s %s /%s %s /CS /G /BPC 8 /F /Fl ID %s EI Q" % (
        w_key.encode(),
        str(width).encode(),
        h_key.encode(),
        str(height).encode(),
        zlib.compress(b"\x80" * 64),
    )
    pdf = pikepdf.open(io.BytesIO(make_pdf()))
    page = pdf.pages[0].obj
    if where == "page":
        page.Contents = pdf.make_stream(page.Contents.read_bytes() + b"\n" + inline)
        return _saved(pdf)
    form = pdf.make_stream(
        inline, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Form, BBox=[0, 0, 595, 842]
    )
    if where == "form":
        page.Resources.XObject = pikepdf.Dictionary(Fm0=form)
        page.Contents = pdf.make_stream(page.Contents.read_bytes() + b"\n/Fm0 Do")
    elif where == "annotation":
        page.Annots = pdf.make_indirect(
            pikepdf.Array(
                [
                    pikepdf.Dictionary(
                        Type=pikepdf.Name.Annot,
                        Subtype=pikepdf.Name.Stamp,
                        Rect=[72, 600, 172, 700],
                        AP=pikepdf.Dictionary(N=form),
                    )
                ]
            )
        )
    elif where == "pattern":
        pattern = pdf.make_stream(
            inline,
            PatternType=1,
            PaintType=1,
            TilingType=1,
            BBox=[0, 0, 595, 842],
            XStep=595,
            YStep=842,
        )
        page.Resources.Pattern = pikepdf.Dictionary(P0=pattern)
        page.Contents = pdf.make_stream(b"/Pattern cs /P0 scn 0 0 595 842 re f")
    elif where == "type3":
        glyph = pdf.make_stream(b"100 0 d0\n" + inline)
        font = pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.Type3,
            FontBBox=[0, 0, 100, 100],
            FontMatrix=[0.01, 0, 0, 0.01, 0, 0],
            CharProcs=pikepdf.Dictionary(g=glyph),
            Encoding=pikepdf.Dictionary(Differences=[65, pikepdf.Name.g]),
            FirstChar=65,
            LastChar=65,
            Widths=[100],
        )
        page.Resources.Font.T3 = pdf.make_indirect(font)
        page.Contents = pdf.make_stream(b"BT /T3 12 Tf 72 500 Td (A) Tj ET")
    else:
        raise ValueError(where)
    return _saved(pdf)


def annotation_image_pdf(width: int, height: int) -> bytes:
    """A one-page PDF whose only image is an XObject drawn by an annotation's appearance
    stream (ISO 32000-1 §12.5.5), not by the page."""
    pdf = pikepdf.open(io.BytesIO(make_pdf()))
    image = pdf.make_stream(
        zlib.compress(b"\x80" * 64),
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=width,
        Height=height,
        ColorSpace=pikepdf.Name.DeviceGray,
        BitsPerComponent=8,
        Filter=pikepdf.Name.FlateDecode,
    )
    form = pdf.make_stream(
        b"q 100 0 0 100 0 0 cm /Im0 Do Q",
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Form,
        BBox=[0, 0, 100, 100],
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image)),
    )
    pdf.pages[0].obj.Annots = pdf.make_indirect(
        pikepdf.Array(
            [
                pikepdf.Dictionary(
                    Type=pikepdf.Name.Annot,
                    Subtype=pikepdf.Name.Stamp,
                    Rect=[72, 600, 172, 700],
                    AP=pikepdf.Dictionary(N=form),
                )
            ]
        )
    )
    return _saved(pdf)


def _saved(pdf: pikepdf.Pdf) -> bytes:
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()
