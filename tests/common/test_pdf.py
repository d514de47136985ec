"""The printable-document layer: Chinese text survives as text, user text cannot inject markup."""

from __future__ import annotations

import datetime as dt
import io

import pypdf
from PIL import Image

from inspections.common import pdf


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_chinese_text_title_and_china_time_footer_are_extractable():
    produced = dt.datetime(2026, 12, 1, 22, 30, tzinfo=dt.UTC)  # 06:30 on 12-02 in China
    document = pdf.render(
        [
            pdf.paragraph("黑臭水体 整改时限"),
            pdf.table([["责任单位", "天荒坪镇"]]),
            pdf.thumbnail(_png(80, 40)),
        ],
        title="交办单",
        produced_at=produced,
    )
    assert document.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(document))
    text = reader.pages[0].extract_text()
    assert "交办单" in text and "黑臭水体" in text and "天荒坪镇" in text
    assert "2026-12-02 06:30" in text
    assert reader.metadata is not None and reader.metadata.title == "交办单"
    assert len(reader.pages[0].images) == 1


def test_user_text_is_escaped_not_interpreted():
    document = pdf.render(
        [pdf.paragraph("<b>not bold</b> & <font size=40>x</font>")],
        title="t",
        produced_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    text = pypdf.PdfReader(io.BytesIO(document)).pages[0].extract_text()
    assert "<b>not bold</b> & <font size=40>x</font>" in text


def test_thumbnail_keeps_the_aspect_ratio():
    image = pdf.thumbnail(_png(200, 100), width=50)
    assert (image.drawWidth, image.drawHeight) == (50, 25)


def test_a_middle_dot_the_font_cannot_draw_is_set_as_one_it_can():
    """STSong-Light has no glyph for U+00B7 (it printed an empty box): the katakana 「・」 stands in."""
    document = pdf.render(
        [pdf.paragraph("#12 · 待整改"), pdf.table([["责任单位", "天荒坪镇 • 农业农村局"]])],
        title="问题整改单 · 余村",
        produced_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    text = pypdf.PdfReader(io.BytesIO(document)).pages[0].extract_text()
    assert "#12 ・ 待整改" in text and "天荒坪镇 ・ 农业农村局" in text
    assert "·" not in text and "•" not in text
