"""Real PDF files for tests, made with pypdf: a plain one, and ones carrying each kind of
active content the portal refuses."""

from __future__ import annotations

import io
from collections.abc import Callable

from pypdf import PdfWriter
from pypdf.actions import JavaScript
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    RectangleObject,
    TextStringObject,
)


def make_pdf(change: Callable[[PdfWriter], None] | None = None, *, pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    if change is not None:
        change(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _open_javascript(writer: PdfWriter) -> None:
    writer.add_open_action(JavaScript("app.alert('run')"))


def _launch(writer: PdfWriter) -> None:
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject({
        NameObject("/S"): NameObject("/Launch"),
        NameObject("/F"): TextStringObject("C:\\\\Windows\\\\System32\\\\calc.exe")})


def _embedded_file(writer: PdfWriter) -> None:
    writer.add_attachment("invoice.exe", b"MZ\x90\x00")


def _link_javascript(writer: PdfWriter) -> None:
    annotation = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
        NameObject("/Rect"): RectangleObject([0, 0, 100, 100]),
        NameObject("/A"): DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                                            NameObject("/JS"): TextStringObject("app.alert(2)")}),
    })
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])


PLAIN_PDF = make_pdf()

#: (name, file, the code it is refused with)
ACTIVE_PDFS = [
    ("javascript when opened", make_pdf(_open_javascript), "pdf_javascript"),
    ("javascript in a link", make_pdf(_link_javascript), "pdf_javascript"),
    ("a launch action", make_pdf(_launch), "pdf_launch"),
    ("an embedded file", make_pdf(_embedded_file), "pdf_embedded_file"),
    ("only a PDF header", b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n", "pdf_unreadable"),
    ("a truncated PDF", PLAIN_PDF[: len(PLAIN_PDF) // 2], "pdf_unreadable"),
]
