"""Tables out of model Markdown: pipe tables and HTML tables to rows of cells.

Vision-language OCR models write simple tables as Markdown pipes and tables with merged
cells as HTML; users want rows of cells (CSV, JSON) without re-parsing either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_HTML_TABLE = re.compile(r"<table\b.*?</table>", re.IGNORECASE | re.DOTALL)


def _split_pipe_row(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    cells, current, escaped = [], "", False
    for ch in body:
        if escaped:
            current += ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "|":
            cells.append(current.strip())
            current = ""
        else:
            current += ch
    cells.append(current.strip())
    return cells


@dataclass
class TableSpan:
    start: int  # character offsets of the table in the source text
    end: int
    rows: list[list[str]] = field(default_factory=list)


def find_markdown_tables(text: str) -> list[TableSpan]:
    """Pipe tables: a header row, a --- separator row, then rows that contain a pipe."""
    lines = text.splitlines(keepends=True)
    offsets, pos = [], 0
    for line in lines:
        offsets.append(pos)
        pos += len(line)
    tables: list[TableSpan] = []
    i = 0
    while i < len(lines) - 1:
        if "|" in lines[i] and _SEPARATOR.match(lines[i + 1]) and "|" in lines[i + 1]:
            rows = [_split_pipe_row(lines[i])]
            j = i + 2
            while j < len(lines) and "|" in lines[j] and lines[j].strip():
                rows.append(_split_pipe_row(lines[j]))
                j += 1
            end = offsets[j - 1] + len(lines[j - 1])
            tables.append(TableSpan(offsets[i], end, rows))
            i = j
        else:
            i += 1
    return tables


class _HtmlTableParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[tuple[str, int, int]]] = []
        self._cell: list[str] | None = None
        self._span = (1, 1)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            if not self.rows:
                self.rows.append([])
            a = dict(attrs)
            self._cell = []
            self._span = (_int(a.get("colspan")), _int(a.get("rowspan")))
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append((" ".join("".join(self._cell).split()), *self._span))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _int(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


def parse_html_table(html: str) -> list[list[str]]:
    """Rows of cells; a cell spanning columns or rows is repeated in each slot it covers."""
    parser = _HtmlTableParser()
    parser.feed(html)
    grid: dict[tuple[int, int], str] = {}
    for r, row in enumerate(parser.rows):
        c = 0
        for text, colspan, rowspan in row:
            while (r, c) in grid:
                c += 1
            for dr in range(rowspan):
                for dc in range(colspan):
                    grid[(r + dr, c + dc)] = text
            c += colspan
    if not grid:
        return []
    n_rows = max(r for r, _ in grid) + 1
    n_cols = max(c for _, c in grid) + 1
    return [[grid.get((r, c), "") for c in range(n_cols)] for r in range(n_rows)]


def to_markdown_table(rows: list[list[str]]) -> str:
    """Rows of cells as a Markdown pipe table (first row as the header); the inverse of
    find_markdown_tables for what the pipeline writes itself."""
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    norm = [[(c or "").replace("\n", " ").replace("|", "\\|").strip() for c in r] + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(norm[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r) + " |" for r in norm[1:]]
    return "\n".join(lines)


def find_tables(text: str) -> list[TableSpan]:
    """Markdown and HTML tables in document order."""
    spans = [TableSpan(m.start(), m.end(), parse_html_table(m.group(0))) for m in _HTML_TABLE.finditer(text)]
    html_ranges = [(s.start, s.end) for s in spans]
    for table in find_markdown_tables(text):
        if not any(a <= table.start < b for a, b in html_ranges):
            spans.append(table)
    return sorted((s for s in spans if s.rows), key=lambda s: s.start)
