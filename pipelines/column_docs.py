"""The one description of every `analytics` column: `sql/columns.csv` (relation, column_name, description).

The model runner writes it into the warehouse as column comments (`duckdb_columns().comment`,
PostgreSQL's `col_description`), and `python -m pipelines.column_docs` renders it into the "Columns"
section of `sql/README.md`, so a description is edited in one place. `--check` exits 1 when the
README is out of date.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from pipelines import SQL_DIR

COLUMNS_FILE = "columns.csv"
BEGIN = ("<!-- generated from sql/columns.csv by `python -m pipelines.column_docs`: edit the CSV, "
         "not this section -->")
END = "<!-- end of the generated section -->"


def read(sql_dir: Path | None = None) -> dict[str, dict[str, str]]:
    """relation -> column -> description, in the file's order; empty when the file is missing."""
    path = (sql_dir or SQL_DIR) / COLUMNS_FILE
    if not path.is_file():
        return {}
    descriptions: dict[str, dict[str, str]] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            descriptions.setdefault(row["relation"], {})[row["column_name"]] = row["description"]
    return descriptions


def render(descriptions: dict[str, dict[str, str]]) -> str:
    """The generated section: one table of columns per relation."""
    parts = [BEGIN]
    for relation, columns in descriptions.items():
        parts += ["", f"**`analytics.{relation}`**", "", "| column | description |", "|---|---|"]
        parts += [f"| `{column}` | {text.replace('|', '&#124;')} |" for column, text in columns.items()]
    return "\n".join([*parts, "", END])


def updated_readme(text: str, descriptions: dict[str, dict[str, str]]) -> str:
    """`text` with its generated section replaced (or appended under a "Columns" heading)."""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        return head + render(descriptions) + rest.split(END, 1)[1]
    return text.rstrip("\n") + "\n\n## Columns\n\n" + render(descriptions) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    readme = SQL_DIR / "README.md"
    text = readme.read_text()
    new = updated_readme(text, read())
    if "--check" in args:
        if new != text:
            print(f"{readme} is out of date: run python -m pipelines.column_docs", file=sys.stderr)
            return 1
        return 0
    readme.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
