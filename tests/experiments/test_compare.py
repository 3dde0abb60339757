"""``llmv2x compare``'s output files: instance names are made safe before they become paths."""

from __future__ import annotations

import pandas as pd
import pytest

from llmv2x.experiments.compare import safe_stem, write_tables


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("compare-a/b", "compare-a_b"),
        ("../x", "_x"),
        ("compare-../../etc/passwd", "compare-._._etc_passwd"),
        ("a\\b:c d", "a_b_c_d"),
        (".hidden", "hidden"),
        ("", "_"),
        ("paper-seed0", "paper-seed0"),
    ],
)
def test_safe_stem(name, safe):
    assert safe_stem(name) == safe
    assert "/" not in safe and ".." not in safe


@pytest.mark.parametrize("name", ["a/b", "../../escape", "x/../../y"])
def test_write_tables_stays_in_its_folder(tmp_path, name):
    """Before the fix, ``a/b`` raised OSError (no folder ``compare-a``) and ``..`` escaped."""
    out = tmp_path / "out"
    df = pd.DataFrame({"method": ["ao"], "objective": [1.5]})
    csv, md = write_tables(df, out, f"compare-{name}")
    for path in (csv, md):
        assert path.is_file()
        assert path.resolve().parent == out.resolve()
    assert pd.read_csv(csv)["objective"].iloc[0] == pytest.approx(1.5)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted([csv.name, md.name])
