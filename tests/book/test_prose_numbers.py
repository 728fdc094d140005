"""Every measured figure in a chapter's prose is one the page itself shows.

A percentage (``99.46%``), a ratio (``4.5x``, ``0.107×``) or a difference in percentage points
(``+0.21 pp``) written in a chapter's markdown must appear among the numbers of that chapter's
stored outputs (printed text, HTML tables, the run card), or in a stored result file whose path
the markdown names (e.g. ``benchmarks/results/<machine>/race.json``). A percentage matches an
output number that rounds to it (``99.46`` or the fraction ``0.9946``) at the precision the
prose uses, so a stale figure after a re-run fails here instead of misleading a reader.

Figures that are settings or facts rather than measurements (a 10% validation split, "20% of
the steps warm up") are listed in :data:`SETTINGS` per chapter, with the reason.
"""

from __future__ import annotations

import json
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

#: Figures in a chapter's prose that are not measurements of its run: {chapter: {figure: why}}.
SETTINGS: dict[str, dict[str, str]] = {
    "chapters/start/getting_started": {},
    "chapters/appendix/benchmarks": {
        "0.6 x": "the threshold (a share of the core count) below which the race's summary flags a starved run: a setting",
    },
}

_NUMBER = r"[+\-−]?\d+(?:[.,]\d+)*"
_FIGURES = re.compile(
    rf"(?P<pct>{_NUMBER})\s?%"
    rf"|(?<![\d.]\s[x×]\s)(?<![\d.][x×])(?P<ratio>{_NUMBER})\s?[x×](?![\w(])(?!\s?\d)"
    rf"|(?P<pp>{_NUMBER})\s?(?:pp\b|percentage points?)"
)
_OUT_NUMBER = re.compile(r"[+\-−]?\d+(?:\.\d+)?(?:[eE][+\-]?\d+)?")
_RESULT_FILE = re.compile(r"(benchmarks/results/[\w./\-<>]+\.(?:json|csv|md|txt))")


def _chapters() -> list[str]:
    from book import toc

    return [d for d in toc.files(ROOT) if (ROOT / f"{d}.ipynb").exists()]


def _plain(number: str) -> str:
    return number.replace("−", "-").replace(",", "")


def _decimals(number: str) -> int:
    return len(number.split(".", 1)[1]) if "." in number else 0


def _markdown(nb) -> str:
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    text = re.sub(r"`[^`\n]*`", " ", text)  # code spans are code, not claims
    text = re.sub(r"\$[^$\n]*\$", " ", text)  # inline math: formulas, not measurements
    return re.sub(r"\]\([^)]*\)", "]", text)  # link targets


def _output_text(nb) -> str:
    parts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append("".join(out.get("text", "")))
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/") or mime.endswith("json"):
                    parts.append(value if isinstance(value, str) else json.dumps(value) if not isinstance(value, list) else "".join(value))
    return "\n".join(parts)


def figures(markdown: str) -> list[tuple[str, str]]:
    """``(kind, figure as written)`` for every percentage, ratio and pp figure in ``markdown``."""
    found = []
    for m in _FIGURES.finditer(markdown):
        kind = m.lastgroup
        found.append((kind, m.group(0).strip()))
    return found


def shown(kind: str, figure: str, numbers: list[float]) -> bool:
    """Whether an output number rounds to ``figure`` at the precision the figure is written."""
    raw = _plain(_FIGURES.match(figure).group(kind))
    value, places = abs(float(raw)), _decimals(raw)
    tolerance = 0.5 * 10 ** -places + 1e-9
    for x in numbers:
        x = abs(x)
        if abs(x - value) <= tolerance:
            return True
        if kind in ("pct", "pp") and abs(100 * x - value) <= tolerance:
            return True
    return False


def test_the_matcher_can_fail():
    numbers = [0.9946, 21.3, 4.5]
    assert shown("pct", "99.46%", numbers) and shown("pct", "99.5%", numbers)
    assert not shown("pct", "99.3%", numbers)
    assert shown("ratio", "4.5x", numbers) and not shown("ratio", "10x", numbers)
    assert not shown("pp", "+21.98 pp", numbers)
    assert figures("a tenfold, 4.5× lower loss; 99% of 3 x 3 and 5x5 kernels; +0.2 pp") == [
        ("ratio", "4.5×"), ("pct", "99%"), ("pp", "+0.2 pp")]


@pytest.mark.parametrize("chapter", _chapters())
def test_every_figure_in_the_prose_is_shown_by_the_page(chapter):
    nb = json.loads((ROOT / f"{chapter}.ipynb").read_text(encoding="utf-8"))
    markdown = _markdown(nb)
    sources = _output_text(nb)
    for path in sorted(set(_RESULT_FILE.findall(markdown))):
        for file in ROOT.glob(path.replace("<machine>", "*")):
            sources += "\n" + file.read_text(encoding="utf-8")
    numbers = [float(n.replace("−", "-")) for n in _OUT_NUMBER.findall(sources)]
    allowed = SETTINGS.get(chapter, {})
    missing = [f for kind, f in figures(markdown) if f not in allowed and not shown(kind, f, numbers)]
    assert not missing, (
        f"{chapter}: figures in the prose that no stored output shows: {missing}. Show them in an "
        "output (or name the result file that holds them), correct the prose, or, for a setting "
        "rather than a measurement, list it in SETTINGS with the reason."
    )
