"""The one results table: figure, value, baseline/target, ratio, pass/fail."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Row:
    figure: str
    value: str
    baseline: str = ""
    ratio: str = ""
    ok: bool | None = None  # None: informational, no target

    @property
    def result(self) -> str:
        return "" if self.ok is None else ("pass" if self.ok else "FAIL")


def check(figure: str, value: str, baseline: str, measured: float, op: str, target: float,
          fmt: str = "{:.2f}") -> Row:
    """A row with a target: `measured op target` (measured is shown in the ratio column)."""
    tests: dict[str, Callable[[float, float], bool]] = {
        ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b}
    return Row(figure, value, baseline, fmt.format(measured), tests[op](measured, target))


def render(sections: list[tuple[str, list[Row]]]) -> str:
    header = ("figure", "value", "baseline / target", "ratio", "result")
    lines = [header] + [(r.figure, r.value, r.baseline, r.ratio, r.result) for _, rows in sections for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]

    def fmt(cells) -> str:
        return "  ".join(c.ljust(w) if i in (0, 2) else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    out = [fmt(header), "  ".join("-" * w for w in widths)]
    for title, rows in sections:
        out.append(f"[{title}]")
        out.extend(fmt((r.figure, r.value, r.baseline, r.ratio, r.result)) for r in rows)
    return "\n".join(out)
