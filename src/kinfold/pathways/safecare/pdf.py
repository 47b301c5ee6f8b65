"""pdf.py — the printable Plan of Safe Care as a PDF, drawn with fpdf2 from a ``safecare.PlanDocument`` (which
holds only what the door let the viewer read, already accounted). A core font (Helvetica, Windows-1252): no font
file, nothing fetched. Text the font cannot draw is replaced by the nearest it can ("→" becomes "->", an accent
it lacks is dropped, anything else "?"), so no name or word ever makes the download fail.

Every page carries the footer "Shared only as her consent allows. Do not re-disclose."
"""

from __future__ import annotations

import unicodedata

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from kinfold.pathways.safecare.services import PlanDocument, PrintedDomain

ENCODING = "windows-1252"
FONT = "Helvetica"
# The height (mm) a heading keeps with it on its page: its own line and the first lines beneath it.
KEEP_WITH_HEADING = 22

# Characters the core fonts lack, with their nearest plain spelling.
_REPLACEMENTS = {
    "\u2192": "->",
    "\u2190": "<-",
    "\u2264": "<=",
    "\u2265": ">=",
    "\u2212": "-",
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2015": "-",
    "\u2032": "'",
    "\u2033": '"',
    "\u00a0": " ",
    "\u2007": " ",
    "\u2009": " ",
    "\u200a": " ",
    "\u202f": " ",
    "\u200b": "",
    "\u200c": "",
    "\u200d": "",
    "\ufeff": "",
    "\u2713": "v",
    "\u2714": "v",
    "\u2717": "x",
    "\t": " ",
    "\r": "",
}


def pdf_text(value: object) -> str:
    """``value`` as text the core font draws: the nearest spelling of each character it lacks, else "?"."""
    out: list[str] = []
    for char in str(value):
        if char in _REPLACEMENTS:
            out.append(_REPLACEMENTS[char])
            continue
        if char != "\n" and unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue  # control, format and unassigned characters are never meant to be seen
        if _encodable(char):
            out.append(char)
            continue
        plain = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(plain if plain and _encodable(plain) else "?")
    return "".join(out)


def _encodable(text: str) -> bool:
    try:
        text.encode(ENCODING)
    except UnicodeEncodeError:
        return False
    return True


class _PlanPdf(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(FONT, "B", 8)
        self.cell(0, 4, pdf_text(self.footer_text), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT, "", 8)
        self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", align="C")


def render_plan(document: PlanDocument) -> bytes:
    """The plan as PDF bytes."""
    pdf = _PlanPdf(orientation="portrait", unit="mm", format="Letter")
    pdf.core_fonts_encoding = ENCODING
    pdf.footer_text = document.footer
    pdf.set_title(pdf_text(document.title))
    pdf.set_creator("Kinfold")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_margins(18, 18, 18)
    pdf.add_page()

    def line(text: str, *, size: float = 10, style: str = "", height: float = 5, gap: float = 0) -> None:
        pdf.set_font(FONT, style, size)
        pdf.multi_cell(0, height, pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if gap:
            pdf.ln(gap)

    line(document.title, size=20, style="B", height=9, gap=1)
    names = " and ".join(n for n in (document.parent_name, document.infant_name) if n)
    line(names, size=13, height=7, gap=3)
    if document.notice:
        pdf.set_font(FONT, "B", 8)
        pdf.multi_cell(
            0, 4, pdf_text("42 CFR Part 2. " + document.notice), border=1, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        pdf.ln(3)
    facts = [("Status", document.status), *document.dates]
    facts.append(("Why the baby was identified", "; ".join(document.reasons) or "Not recorded"))
    for label, value in facts:
        pdf.set_font(FONT, "B", 10)
        pdf.cell(52, 5.5, pdf_text(label))
        pdf.set_font(FONT, "", 10)
        pdf.multi_cell(0, 5.5, pdf_text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    line(document.notification, style="B", gap=0.5)
    line(document.notification_explained, size=9, height=4.5, gap=3)

    for group in document.groups:
        if pdf.will_page_break(8 + KEEP_WITH_HEADING):
            pdf.add_page()  # a group's title is never the last line of a page
        line(group.title, size=15, style="B", height=8, gap=1)
        for domain in group.domains:
            _domain(pdf, domain)

    if document.closing_note:
        line("Closing note", size=13, style="B", height=7)
        line(document.closing_note, gap=3)
    pdf.ln(2)
    line(
        f"Printed {document.printed_at:%-d %B %Y} by {document.printed_by}, {document.organization}.",
        size=8,
        height=4,
    )
    return bytes(pdf.output())


def _domain(pdf: FPDF, domain: PrintedDomain) -> None:
    if pdf.will_page_break(KEEP_WITH_HEADING):
        pdf.add_page()  # nor is a domain's title: it stays with its first lines
    pdf.set_font(FONT, "B", 11)
    pdf.multi_cell(0, 6, pdf_text(domain.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if not domain.needs:
        pdf.set_font(FONT, "I", 9)
        pdf.multi_cell(0, 5, "No need written here.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
        return
    pdf.set_font(FONT, "", 9)
    with pdf.table(
        col_widths=(35, 22, 27, 16),
        text_align="LEFT",
        line_height=4.5,
        first_row_as_headings=True,
    ) as table:
        head = table.row()
        for words in ("The need", "Who is responsible", "The service", "Where it stands"):
            head.cell(words)
        for need in domain.needs:
            row = table.row()
            row.cell(pdf_text(need.need))
            row.cell(pdf_text(need.responsible))
            service = need.service or "-"
            if need.referral:
                service += f"\n{need.referral}"
            row.cell(pdf_text(service))
            row.cell(pdf_text(need.status))
    pdf.ln(3)
