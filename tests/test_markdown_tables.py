"""Tables, Markdown-to-text and the repetition guard, on text written by hand in the styles
LightOnOCR and other VLM OCR models produce."""

from __future__ import annotations

from pipeline.engines.lightonocr import finish_generation
from pipeline.page.markdown import parse, to_text
from pipeline.page.repetition import cut_repetition
from pipeline.page.tables import parse_html_table, to_markdown_table

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
    assert parse(LIGHTON_PAGE).tables == [
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
    tables = parse(mixed).tables
    assert len(tables) == 2 and tables[0][0][0] == "Année" and tables[1][0] == ["Nom", "Fonction", "Présent"]


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
    rows = [["Name", "Role"], ["Bernard | fils", "Conseiller"], ["Dupont", ""], ["2 * 3 * 4", "file_name_here"],
            ["*stars*", "[x](y) <b> $5 `a` \\"]]
    assert parse(to_markdown_table(rows)).tables == [rows]


def test_plain_text_keeps_what_the_page_says():
    """Underscores inside words, a lone asterisk, code and math are text, not syntax."""
    assert to_text("Save as file_name_here before 2 * 3 * 4.") == "Save as file_name_here before 2 * 3 * 4."
    assert to_text("Un *mot* en **gras**, `code_x * 2` et $a_1 * b_1$.") == "Un mot en gras, code_x * 2 et a_1 * b_1."
    fenced = "Avant\n\n```python\nx = y * 2  # __init__\n\nprint(x)\n```\n\nAprès"
    assert to_text(fenced) == "Avant\n\nx = y * 2  # __init__\n\nprint(x)\n\nAprès"
    assert to_text("Voir [le registre](http://x/y_z) et ![sceau](s.png)<br>fin") == "Voir le registre et sceau\nfin"


REAL_PAGE = """# Rapport annuel 2023

## 1. Résumé

Le chiffre d'affaires a atteint **12,4 M€** (+8 %), porté par l'activité *export*.

- Effectif : 57 salariés
- Sites : Lyon, Grenoble
  1. atelier_nord
  2. atelier_sud

| Trimestre | CA (k€) | Marge |
|---|---:|---:|
| T1 | 2 950 | 31 % |
| T2 | 3 120 | 33 % |

La croissance suit $$g = \\frac{CA_{2023} - CA_{2022}}{CA_{2022}}$$ sur l'exercice.

$$
\\sum_{i=1}^{4} T_i = 12\\,400
$$

```
total = t1 + t2 + t3 + t4
```

<table><tr><th>Site</th><th>Effectif</th></tr><tr><td>Lyon</td><td>41</td></tr></table>
"""


def test_a_real_style_page_parses_into_blocks_in_reading_order():
    parsed = parse(REAL_PAGE)
    kinds = [s.kind for s in parsed.segments]
    assert kinds == ["heading", "heading", "paragraph", "list_item", "list_item", "list_item", "list_item",
                     "table_row", "table_row", "table_row", "paragraph", "math", "code", "table_row", "table_row"]
    texts = [s.text for s in parsed.segments]
    assert texts[2] == "Le chiffre d'affaires a atteint 12,4 M€ (+8 %), porté par l'activité export."
    assert texts[5:7] == ["atelier_nord", "atelier_sud"]
    assert parsed.tables == [[["Trimestre", "CA (k€)", "Marge"], ["T1", "2 950", "31 %"], ["T2", "3 120", "33 %"]],
                             [["Site", "Effectif"], ["Lyon", "41"]]]
    assert texts[11] == "\\sum_{i=1}^{4} T_i = 12\\,400" and texts[12] == "total = t1 + t2 + t3 + t4"
    text = to_text(REAL_PAGE)
    assert "Trimestre\tCA (k€)\tMarge\nT1\t2 950\t31 %\nT2" in text
    assert "**" not in text and "#" not in text and "|" not in text and "```" not in text
