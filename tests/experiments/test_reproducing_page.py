"""docs/reproducing.md states the verdicts of the generated claims table, not its own."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "reproducing.md"
FIGURES = ROOT / "docs" / "figures"
SECTION = "## The paper's claims, point by point"


def _page_rows() -> list[tuple[str, str, str]]:
    text = PAGE.read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[1].startswith("`"):
            continue
        verdict = re.match(r"\*\*(yes|no)\*\*", cells[2])
        assert verdict, f"reproducing.md: no bold yes/no verdict in: {line[:80]}"
        rows.append((cells[0], cells[1].strip("`"), verdict.group(1)))
    return rows


def test_every_verdict_on_the_page_is_the_generated_one():
    rows = _page_rows()
    assert len(rows) >= 15  # the table was found and read
    claims = pd.read_csv(FIGURES / "claims-paper.csv").set_index(["claim", "measure"])
    for claim, measure, verdict in rows:
        assert (claim, measure) in claims.index, f"not a generated claim: {claim} / {measure}"
        generated = "yes" if claims.loc[(claim, measure), "holds"] else "no"
        assert verdict == generated, f"{claim} / {measure}: page says {verdict}"


@pytest.mark.parametrize("name", ["paper", "latency", "noise174"])
def test_each_set_ships_its_figures_and_claims(name):
    for stem in ("figure1", "figure2"):
        assert (FIGURES / f"{stem}-{name}.png").stat().st_size > 20_000
    claims = pd.read_csv(FIGURES / f"claims-{name}.csv")
    assert {"threshold", "test", "verdict"} <= set(claims.columns)
    assert set(claims["verdict"].str.split(":").str[0]) <= {"yes", "no"}
