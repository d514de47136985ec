"""One-page printable documents (交办单, 督办单, 通报, 问题整改单), drawn with ReportLab.

Chinese is set in Adobe's CID font ``STSong-Light``: ReportLab carries its metrics, so no font
file is needed on the server, and every PDF reader has the font or substitutes its own Song
face. Text stays text (searchable, copyable, read back by tests with pypdf).

The documents build a *story* of flowables from :func:`styles`, :func:`table` and
:func:`thumbnail`, and :func:`render` lays it out on A4 with the title and a footer giving the
page number and when it was produced, in China time.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.doctemplate import BaseDocTemplate

from inspections.common.china_time import display

FONT = "STSong-Light"
CONTENT_TYPE = "application/pdf"


@cache
def _register_font() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


@cache
def styles() -> dict[str, ParagraphStyle]:
    """The paragraph styles the documents use: ``title``, ``heading``, ``body``, ``compact`` (dense
    tables), ``small``, ``fine`` (a full hash under its prefix)."""
    font = _register_font()
    return {
        "title": ParagraphStyle(
            "title", fontName=font, fontSize=18, leading=24, alignment=1, spaceAfter=4 * mm
        ),
        "heading": ParagraphStyle("heading", fontName=font, fontSize=12, leading=16, spaceBefore=3 * mm),
        "body": ParagraphStyle("body", fontName=font, fontSize=10, leading=14),
        "compact": ParagraphStyle("compact", fontName=font, fontSize=8.5, leading=11),
        "small": ParagraphStyle("small", fontName=font, fontSize=8, leading=10, textColor=colors.grey),
        "fine": ParagraphStyle("fine", fontName=font, fontSize=5.5, leading=7, textColor=colors.grey),
    }


# Characters STSong-Light has no glyph for, drawn as an empty box, and the ones it has in their
# place: the Latin middle dot (and its look-alikes) becomes the katakana middle dot 「・」.
_GLYPHLESS = str.maketrans({"\u00b7": "\u30fb", "\u2022": "\u30fb", "\u2027": "\u30fb", "\u2219": "\u30fb"})


def printable(text: object) -> str:
    """``text`` with the characters the font cannot draw replaced by ones it can."""
    return str(text).translate(_GLYPHLESS)


def paragraph(text: object, style: str = "body") -> Paragraph:
    """A paragraph of plain text (escaped: user-written text never reaches the markup)."""
    escaped = printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = escaped.replace("\n", "<br/>")
    return Paragraph(escaped, styles()[style])


def table(rows: Sequence[Sequence[object]], col_widths: Sequence[float] | None = None) -> Table:
    """A ruled table; cells that are not flowables become paragraphs, so long text wraps."""
    cells = [[cell if isinstance(cell, Flowable) else paragraph(cell) for cell in row] for row in rows]
    result = Table(cells, colWidths=col_widths, hAlign="LEFT")
    result.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
            ]
        )
    )
    return result


def thumbnail(data: bytes, *, width: float = 40 * mm, max_height: float | None = None) -> Image:
    """An image flowable from encoded image bytes (a stored rendition), scaled to ``width``
    (or less, so that it is no taller than ``max_height``)."""
    image = Image(io.BytesIO(data))
    ratio = width / image.imageWidth
    if max_height is not None:
        ratio = min(ratio, max_height / image.imageHeight)
    image.drawWidth = image.imageWidth * ratio
    image.drawHeight = image.imageHeight * ratio
    return image


def spacer(height: float = 3 * mm) -> Spacer:
    return Spacer(1, height)


def render(story: list[Any], *, title: str, produced_at: datetime) -> bytes:
    """Lay ``story`` out on A4 under ``title``; the footer names the page and the China time."""
    buffer = io.BytesIO()
    footer = display(produced_at)

    def draw_footer(canvas: Canvas, doc: BaseDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(_register_font(), 8)
        canvas.drawString(15 * mm, 10 * mm, printable(f"{title}  {footer}"))
        canvas.drawRightString(A4[0] - 15 * mm, 10 * mm, str(doc.page))
        canvas.restoreState()

    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=title,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
    )
    document.build([paragraph(title, "title"), *story], onFirstPage=draw_footer, onLaterPages=draw_footer)
    return buffer.getvalue()
