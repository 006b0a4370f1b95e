"""A streaming XLSX writer for the score exports: one sheet of text and numbers, row by row.

Rows are turned into XML and compressed as they arrive, so memory does not grow with their number.
Text is always a text cell (an inline string), never a formula, whatever it starts with; numbers are
number cells; None and "" leave the cell out (an empty cell, not an empty text). Characters that XML
cannot carry are written as Excel writes them (_xHHHH_, with a literal "_xHHHH_" kept as
"_x005F_xHHHH_").

Why not a library: on 123,000 rows of a per-question export (2 million filled cells) XlsxWriter's
constant-memory mode took 12.6 s and openpyxl's write-only mode with lxml 13.0 s, against 1.4 s for
the CSV; this writer takes about as long as the CSV. A row whose texts need no escaping is one
%-format of a template made once per pattern of cell types.
"""
from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

COMPRESSION = 1  # zlib level: nearly the size of level 6 at a third of the time
FLUSH_ROWS = 2000

_CAREFUL = re.compile("[&<>\x00-\x1e\ufffe\uffff]")  # not \x1f: it joins a row's texts for one search
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")  # XML cannot carry them (\r would become \n)
_ESCAPED = re.compile("(_x[0-9A-Fa-f]{4}_)")

_PARTS = {
    "[Content_Types].xml":
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '</Types>',
    "_rels/.rels":
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="xl/workbook.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
        '</Relationships>',
    "xl/workbook.xml":
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels":
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
        '<Relationship Id="rId2" Target="styles.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"/>'
        '</Relationships>',
    "xl/styles.xml":  # the least a spreadsheet program accepts: one font, fill, border and format
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '</styleSheet>',
}
_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_SHEET_START = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                '<sheetData>')
_SHEET_END = '</sheetData></worksheet>'


def column_letters(n: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_LETTERS = [column_letters(n) for n in range(702)]  # A to ZZ; wider rows compute theirs


def _letters(column: int) -> str:
    return _LETTERS[column] if column < 702 else column_letters(column)


def _plain(text: str) -> bool:
    """True if the text goes into XML as it is: no markup or control character, no Excel escape,
    no space at either end (which would need xml:space="preserve")."""
    return not (_CAREFUL.search(text) or "_x" in text or "\x1f" in text or text[:1] == " " or text[-1:] == " ")


def _text(value: str) -> str:
    """A text cell after its '<c' and reference."""
    if _plain(value):
        return f' t="inlineStr"><is><t>{value}</t></is></c>'
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", _ESCAPED.sub(r"_x005F\1", value))
    return f' t="inlineStr"><is><t xml:space="preserve">{value}</t></is></c>'


def _cell(value: Any) -> str | None:
    """A cell after its '<c' and reference; None for no cell."""
    kind = type(value)
    if kind is float:
        digits = repr(value)
        return f"><v>{digits}</v></c>" if digits[-1] <= "9" else _text(digits)  # inf and nan as text
    if kind is str:
        return _text(value) if value else None
    if value is None:
        return None
    if kind is int:
        return f"><v>{value}</v></c>"
    if kind is bool:
        return f' t="b"><v>{int(value)}</v></c>'
    return _text(str(value))  # a Decimal, a date: as its text, so that a spreadsheet never guesses


def _cells(pairs: Iterable[tuple[int, Any]], number: int, expected: int = 0) -> str:
    """(column, value) pairs in column order as cells; a cell carries its reference after a gap."""
    parts = []
    for column, value in pairs:
        if type(value) is float and column != expected:  # the common case of sparse breakdown cells
            digits = repr(value)
            if digits[-1] <= "9":
                parts.append(f'<c r="{_letters(column)}{number}"><v>{digits}</v></c>')
                expected = column + 1
                continue
        xml = _cell(value)
        if xml is not None:
            parts.append("<c" + xml if column == expected else f'<c r="{_letters(column)}{number}"' + xml)
            expected = column + 1
    return "".join(parts)


def _getter(columns: list[int]):
    """row -> the values in these columns, always as a tuple."""
    if len(columns) == 1:
        column = columns[0]
        return lambda row: (row[column],)
    return itemgetter(*columns) if columns else lambda row: ()


_FIELDS = {str: ' t="inlineStr"><is><t>%s</t></is></c>', float: "><v>%r</v></c>", int: "><v>%d</v></c>",
           bool: ' t="b"><v>%d</v></c>'}


class _Template:
    """The leading cells of rows with one pattern of types (None for an empty cell), as one %-format.

    It serves a row whose texts need no escaping and whose numbers are finite; any other row is
    written cell by cell. The row number goes into the row and into each reference after a gap.
    """

    def __init__(self, kinds: tuple[type, ...]):
        self.usable = all(kind in _FIELDS or kind is type(None) for kind in kinds)
        pieces, columns, texts, numbers, self.slots = ['<row r="%d">'], [], [], [], []
        expected = 0
        for column, kind in enumerate(kinds):
            if kind in _FIELDS:
                if column != expected:
                    self.slots.append(len(columns) + len(self.slots) + 1)
                pieces.append("<c" if column == expected else f'<c r="{_letters(column)}%d"')
                pieces.append(_FIELDS[kind])
                columns.append(column)
                if kind is str:
                    texts.append(column)
                elif kind is float:
                    numbers.append(column)
                expected = column + 1
        self.format, self.end = "".join(pieces), expected
        self.values, self.texts, self.numbers = _getter(columns), _getter(texts), _getter(numbers)

    def __call__(self, row: Sequence, number: int) -> str | None:
        """The row's XML up to its leading cells, or None when it must be written cell by cell."""
        texts = self.texts(row)
        if texts:
            joined = "\x1f".join(texts)
            if ("" in texts or _CAREFUL.search(joined) or "_x" in joined or joined[0] == " " or joined[-1] == " "
                    or " \x1f" in joined or "\x1f " in joined or joined.count("\x1f") != len(texts) - 1):
                return None
        total = sum(self.numbers(row))
        if total - total != 0.0:  # an infinity or a nan among them (or a sum too large to tell)
            return None
        if not self.slots:
            return self.format % ((number,) + self.values(row))
        values = [number, *self.values(row)]
        for slot in self.slots:
            values.insert(slot, number)
        return self.format % tuple(values)


Row = tuple[Sequence[Any], Iterable[tuple[int, Any]]]


def _rows_xml(rows: Iterable[Row], number: int, templates: dict[tuple, _Template]) -> str:
    """<row> elements numbered from `number`."""
    out = []
    for lead, further in rows:
        kinds = tuple(map(type, lead))
        template = templates.get(kinds)
        if template is None:
            if len(templates) > 1000:
                templates.clear()
            template = templates[kinds] = _Template(kinds)
        xml = template(lead, number) if template.usable else None
        if xml is None:
            xml, end = f'<row r="{number}">' + _cells(enumerate(lead), number), -1
        else:
            end = template.end
        out.append(xml + _cells(further, number, end) + "</row>" if further else xml + "</row>")
        number += 1
    return "".join(out)


def write_sheet(target: Path, header: list[str], rows: Iterable[Row], *, sheet: str = "Sheet1") -> int:
    """Write an XLSX file with one sheet: the header row, then `rows`; returns how many rows.

    Each row is (leading cells, further cells): the values of its first columns, then (column
    index, value) pairs for filled cells further right, in column order; sparse rows stay cheap.
    """
    count = 0
    templates: dict[tuple, _Template] = {}
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESSION) as book:
        for name, xml in _PARTS.items():
            book.writestr(name, _DECLARATION + xml.replace("{sheet}", sheet))
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write((_DECLARATION + _SHEET_START + _rows_xml([(header, ())], 1, templates)).encode())
            batch: list[Row] = []
            for row in rows:
                batch.append(row)
                if len(batch) == FLUSH_ROWS:
                    part.write(_rows_xml(batch, count + 2, templates).encode())
                    count += len(batch)
                    batch.clear()
            part.write((_rows_xml(batch, count + 2, templates) + _SHEET_END).encode())
            count += len(batch)
    return count


def write_book(target: Path, sheets: Sequence[tuple[str, list[str], Iterable[Sequence[Any]]]]) -> int:
    """Write an XLSX file with several small sheets: (name, header, rows of plain cells) each, in order.

    The same cells as write_sheet (text as text, None an empty cell); returns the rows written in all.
    """
    names = [name[:31] for name, _, _ in sheets]  # Excel's limit on a sheet's name
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{n}.xml" '
                        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                        for n in range(1, len(sheets) + 1))
    parts = dict(_PARTS)
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        _PARTS["[Content_Types].xml"][_PARTS["[Content_Types].xml"].index('<Override PartName="/xl/worksheets'):
                                      _PARTS["[Content_Types].xml"].index('<Override PartName="/xl/styles')],
        overrides)
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        '<sheet name="{sheet}" sheetId="1" r:id="rId1"/>',
        "".join(f'<sheet name="{_xml_attr(name)}" sheetId="{n}" r:id="rId{n + 1}"/>' for n, name in enumerate(names, 1)))
    parts["xl/_rels/workbook.xml.rels"] = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="styles.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"/>'
        + "".join(f'<Relationship Id="rId{n + 1}" Target="worksheets/sheet{n}.xml" '
                  'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
                  for n in range(1, len(sheets) + 1)) + '</Relationships>')
    count = 0
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESSION) as book:
        for name, xml in parts.items():
            book.writestr(name, _DECLARATION + xml)
        for n, (_, header, rows) in enumerate(sheets, 1):
            templates: dict[tuple, _Template] = {}
            lines = [(header, ())] + [(list(row), ()) for row in rows]
            book.writestr(f"xl/worksheets/sheet{n}.xml",
                          _DECLARATION + _SHEET_START + _rows_xml(lines, 1, templates) + _SHEET_END)
            count += len(lines) - 1
    return count


def _xml_attr(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("[", "(").replace("]", ")").replace("/", "-").replace("\\", "-").replace("?", "")
            .replace("*", "").replace(":", "-"))
