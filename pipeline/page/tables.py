"""Tables as rows of cells: HTML tables in, Markdown pipe tables out.

Vision-language OCR models write simple tables as Markdown pipes (read by pipeline.page.markdown's
parser) and tables with merged cells as HTML (read here); users want rows of cells (CSV, JSON)
without re-parsing either.
"""

from __future__ import annotations

from html.parser import HTMLParser


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


_MARKDOWN_SYNTAX = str.maketrans({ch: "\\" + ch for ch in "\\|*_`[]<>$"})


def _escape(cell: str | None) -> str:
    return " ".join((cell or "").split()).translate(_MARKDOWN_SYNTAX)


def to_markdown_table(rows: list[list[str]]) -> str:
    """Rows of cells as a Markdown pipe table (first row as the header). Characters that would
    read as Markdown syntax are escaped, so pipeline.page.markdown.parse gives the rows back."""
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    norm = [[_escape(c) for c in r] + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(norm[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r) + " |" for r in norm[1:]]
    return "\n".join(lines)
