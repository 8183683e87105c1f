"""Tables, Markdown-to-text and the repetition guard, on text written by hand in the styles
LightOnOCR and other VLM OCR models produce."""

from __future__ import annotations

from pipeline.engines.lightonocr import finish_generation
from pipeline.markdown import to_text
from pipeline.repetition import cut_repetition
from pipeline.tables import find_tables, parse_html_table

LIGHTON_PAGE = """# Procès-verbal de la séance

Le conseil s'est réuni le **12 mai 1921** sous la présidence du maire.

| Nom | Fonction | Présent |
|:----|:--------:|--------:|
| Dupont | Maire | oui |
| Martin | Adjoint | non |
| Bernard \\| fils | Conseiller | oui |

- Approbation du budget
- Questions diverses
"""

HTML_TABLE = """<table>
<thead><tr><th rowspan="2">Année</th><th colspan="2">Mouvement</th></tr>
<tr><th>Naissances</th><th>Décès</th></tr></thead>
<tbody><tr><td>1851</td><td>120</td><td>98</td></tr>
<tr><td>1852</td><td>131<br/>(dont 2 jumeaux)</td><td>87</td></tr></tbody>
</table>"""


def test_markdown_pipe_table_to_rows():
    tables = find_tables(LIGHTON_PAGE)
    assert [t.rows for t in tables] == [
        [["Nom", "Fonction", "Présent"], ["Dupont", "Maire", "oui"], ["Martin", "Adjoint", "non"], ["Bernard | fils", "Conseiller", "oui"]]
    ]


def test_html_table_with_spans_fills_every_slot():
    assert parse_html_table(HTML_TABLE) == [
        ["Année", "Mouvement", "Mouvement"],
        ["Année", "Naissances", "Décès"],
        ["1851", "120", "98"],
        ["1852", "131 (dont 2 jumeaux)", "87"],
    ]
    mixed = "Intro paragraph.\n\n" + HTML_TABLE + "\n\n" + LIGHTON_PAGE
    assert len(find_tables(mixed)) == 2 and find_tables(mixed)[0].rows[0][0] == "Année"


def test_plain_text_drops_syntax_keeps_order_and_cells():
    text = to_text(LIGHTON_PAGE)
    assert text.startswith("Procès-verbal de la séance\n\nLe conseil s'est réuni le 12 mai 1921")
    assert "**" not in text and "#" not in text and "|---" not in text
    assert "Dupont\tMaire\toui" in text
    assert text.index("Procès-verbal") < text.index("Dupont") < text.index("Approbation du budget")


def test_repetition_loop_is_cut_to_one_copy():
    looping = "Liste des présents:\nDupont\n" + "Martin, adjoint au maire\n" * 25 + "Martin, adj"
    cut, found = cut_repetition(looping, ragged_end=True)
    assert found
    assert cut.count("Martin, adjoint au maire") == 1 and cut.startswith("Liste des présents:\nDupont\n")
    normal = LIGHTON_PAGE
    assert cut_repetition(normal, ragged_end=False) == (normal, False)
    assert cut_repetition("| --- | --- |\n" * 3, ragged_end=False)[1] is False  # short legitimate repeats stay


def test_finish_generation_flags_and_trims_tokens_with_the_loop():
    pieces = ["Intro", " text", ".\n"] + ["la", " la", " la", " lère", "\n"] * 20
    probs = [0.9] * len(pieces)
    rec = finish_generation(pieces, probs, hit_max_tokens=True)
    assert {"repetition", "max_new_tokens"} <= set(rec.flags)
    assert rec.markdown.count("lère") == 1
    assert len(rec.tokens) < 12 and "".join(t.text for t in rec.tokens).strip() == rec.markdown


def test_finish_generation_blocks_carry_their_tokens_confidence():
    pieces = ["# Title", "\n\n", "good", " text", "\n\n", "bad", " text"]
    probs = [0.99, 0.99, 0.95, 0.95, 0.9, 0.2, 0.3]
    rec = finish_generation(pieces, probs, hit_max_tokens=False)
    kinds = [b.kind for b in rec.blocks]
    assert kinds == ["heading", "paragraph", "paragraph"]
    assert rec.blocks[1].confidence > 0.9 > 0.5 > rec.blocks[2].confidence
    assert rec.text == "Title\n\ngood text\n\nbad text"


def test_tables_the_pipeline_writes_read_back_as_the_same_rows():
    from pipeline.tables import to_markdown_table

    rows = [["Name", "Role"], ["Bernard | fils", "Conseiller"], ["Dupont", ""]]
    assert [t.rows for t in find_tables(to_markdown_table(rows))] == [rows]
