"""The MINLP benchmark library (docs/library.md): catalogue, build, index, resume, read-back.

A three-problem subset (4 vehicles, strong formulation: P1, deadlines, deadlines and energy
budgets) is built once with real SCIP and Gurobi at a 2 s limit; the tests read it.
"""

from __future__ import annotations

import json
import shutil

import pytest

from llmv2x.cli import main
from llmv2x.errors import LlmV2xError, SettingsError
from llmv2x.export.core import build_model
from llmv2x.library.build import build, marker_path, open_library, parse_stages, read_markers
from llmv2x.library.catalogue import CATALOGUE, by_name, catalogue_digest, select
from llmv2x.library.index import COLUMNS, nl_header_counts, read_index
from llmv2x.library.readback import check_library
from llmv2x.solvers.exact import solve_exact

pytest.importorskip("pyscipopt")

SUBSET = "v2x_n004_m02_dl*_fix_eq_paper_strong"
P1_NAME = "v2x_n004_m02_dl00_en00_fix_eq_paper_strong"
LIMIT_S = 2.0


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lib") / "library"
    code = main(["-q", "library", "build", "-o", str(folder), "--only", SUBSET,
                 "--time-limit", str(LIMIT_S)])  # fmt: skip
    assert code == 0
    return folder


def test_catalogue_covers_what_the_library_promises():
    names = [p.name for p in CATALOGUE]
    assert len(names) >= 40 and len(set(names)) == len(names)
    sizes = {p.vehicles for p in CATALOGUE}
    assert min(sizes) == 4 and max(sizes) == 200
    assert {p.objective for p in CATALOGUE} == {"paper", "latency"}
    assert {p.formulation for p in CATALOGUE} == {"plain", "strong"}
    families = {p.family for p in CATALOGUE}
    for fam in ("P1", "inequality budgets", "deadlines", "deadlines + energy budgets",
                "association decision", "deadlines + association decision"):  # fmt: skip
        assert fam in families, fam
    assert catalogue_digest() == catalogue_digest()
    # a name says what is inside
    p = by_name()["v2x_n020_m05_dl12_en12_fix_eq_paper_strong"]
    assert (p.vehicles, p.rsus, p.deadline, p.energy) == (20, 5, 1.2, 1.2)
    # the same problem twice gives the same instance
    a, b = p.instance(), p.instance()
    assert a.to_json() == b.to_json() and a.has_deadlines and a.has_energy_budgets


def test_select_and_stages_refuse_unknown_names():
    assert len(select(SUBSET)) == 3
    with pytest.raises(SettingsError, match="matches no problem"):
        select("nosuch*")
    assert parse_stages("certify,export") == ("export", "certify")
    with pytest.raises(SettingsError, match="--stages"):
        parse_stages("export,nope")


def test_list_prints_the_catalogue(capsys):
    assert main(["library", "list", "--only", SUBSET]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [p.name for p in select(SUBSET)]
    assert main(["library", "list", "--only", "nosuch"]) == 2


def test_index_rows_and_counts_match_the_model_and_the_nl_file(library):
    rows = read_index(library / "index.csv")
    assert [r["name"] for r in rows] == [p.name for p in select(SUBSET)]
    assert list(rows[0]) == list(COLUMNS)
    for r in rows:
        p = by_name()[r["name"]]
        model = build_model(p.instance(), p.settings(), p.formulation)
        export = json.loads((library / p.name / f"{p.name}.nl.json").read_text())["counts"]
        header = nl_header_counts(library / p.name / f"{p.name}.nl")
        n_vars, n_int, n_bin = (int(r[k]) for k in ("variables", "integer", "binary"))
        assert n_vars == export["variables"] == header["variables"]
        assert n_int + n_bin == export["integer"] == header["discrete"]
        assert int(r["continuous"]) == n_vars - n_int - n_bin
        assert int(r["constraints"]) == export["constraints"] == header["constraints"]
        assert int(r["nonlinear_constraints"]) == header["nonlinear_constraints"]
        assert int(r["nonlinear_terms"]) >= int(r["nonlinear_constraints"]) > 0
        # the same split, counted on the Pyomo variables named in the .col file
        cols = [
            model.find_component(n)
            for n in (library / p.name / f"{p.name}.col").read_text().split()
        ]
        assert None not in cols and len(cols) == n_vars
        discrete = [v for v in cols if not v.is_continuous()]
        assert len(discrete) == n_int + n_bin
        assert sum(1 for v in discrete if (v.lb, v.ub) == (0, 1)) == n_bin
        for f in ("instance.json", f"{p.name}.nl", f"{p.name}.row", f"{p.name}.col",
                  f"{p.name}.gms", "scip.json", "gurobi.json", "certificate.json"):  # fmt: skip
            assert (library / p.name / f).is_file(), f
        for s in ("scip", "gurobi"):
            assert r[f"{s}_status"] in ("optimal", "time_limit", "feasible", "licence limit")
            assert float(r[f"{s}_time_s"]) < LIMIT_S + 30


def test_p1_is_certified_by_exact_and_solvers_do_not_beat_it(library):
    row = {r["name"]: r for r in read_index(library / "index.csv")}[P1_NAME]
    p = by_name()[P1_NAME]
    opt = solve_exact(p.instance(), p.settings()).objective
    assert row["status"] == "optimal" and row["certificate"] == "exact"
    assert float(row["optimum_or_bound"]) == pytest.approx(opt, rel=1e-9)
    for s in ("scip", "gurobi"):
        if row[f"{s}_bound"]:
            assert float(row[f"{s}_bound"]) <= opt * (1 + 1e-6)
        if row[f"{s}_objective"]:
            assert float(row[f"{s}_objective"]) >= opt * (1 - 1e-6)
    # every row: the best point and the best proven bound of all that ran, bound <= point
    for r in read_index(library / "index.csv"):
        best, bound = float(r["objective_value"]), float(r["optimum_or_bound"])
        assert bound <= best * (1 + 1e-9)
        for s in ("scip", "gurobi"):
            if r[f"{s}_objective"]:
                assert best <= float(r[f"{s}_objective"]) * (1 + 1e-9)
            if r[f"{s}_bound"] and r["status"] != "optimal":
                assert bound >= min(best, float(r[f"{s}_bound"])) * (1 - 1e-12)


def test_a_provisional_certificate_is_redone_when_exact_can_certify(library, tmp_path):
    copy = tmp_path / "lib"
    shutil.copytree(library, copy)
    marker = marker_path(copy, P1_NAME, "certify")
    old = json.loads(marker.read_text())
    # as a build before exact handled the problem would have left it
    provisional = {**old, "source": "scip", "status": "feasible", "based_on": ["scip@2"]}
    provisional.pop("exact", None)
    marker.write_text(json.dumps(provisional))
    report = build(copy, SUBSET, stages=("certify",), time_limit=LIMIT_S)
    assert report.ran[P1_NAME] == ["certify"]
    new = json.loads(marker.read_text())
    assert new["source"] == "exact" and new["status"] == "optimal"
    assert new["objective"] == pytest.approx(old["objective"], rel=1e-12)
    # a certified optimum is final: the next build leaves it
    assert build(copy, P1_NAME, stages=("certify",), time_limit=LIMIT_S).ran == {P1_NAME: []}


def test_scip_reads_every_problem_back(library, capsys):
    rows = check_library(library, time_limit=LIMIT_S)
    assert len(rows) == 3
    for r in rows:
        assert r.ok, r
        assert r.feasible and r.scip_at_point == pytest.approx(r.ours, rel=1e-6)
    p1 = next(r for r in rows if r.name == P1_NAME)
    assert p1.certified
    if p1.scip_status == "optimal":
        assert p1.primal_bound == pytest.approx(p1.ours, rel=1e-5)
    assert main(["library", "check", str(library), "--only", P1_NAME, "--time-limit", "1"]) == 0
    out = capsys.readouterr().out
    assert P1_NAME in out and "1 of 1 problems pass" in out


def test_check_fails_on_a_wrong_optimum(library, tmp_path, capsys):
    copy = tmp_path / "lib"
    shutil.copytree(library, copy)
    cert = copy / P1_NAME / "certificate.json"
    data = json.loads(cert.read_text())
    data["objective"] *= 0.999  # claims an optimum the point does not reach
    cert.write_text(json.dumps(data))
    assert main(["library", "check", str(copy), "--only", P1_NAME, "--time-limit", "1"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_rebuild_redoes_only_the_stage_whose_marker_is_gone(library, tmp_path):
    copy = tmp_path / "lib"
    shutil.copytree(library, copy)
    before = read_markers(copy, P1_NAME)
    marker_path(copy, P1_NAME, "scip").unlink()
    (copy / P1_NAME / "scip.json").unlink()  # killed halfway: the result file is gone too
    report = build(copy, SUBSET, time_limit=LIMIT_S)
    assert report.ran == {p.name: ([] if p.name != P1_NAME else ["scip"]) for p in select(SUBSET)}
    assert (copy / P1_NAME / "scip.json").is_file()
    after = read_markers(copy, P1_NAME)
    assert after["export"] == before["export"] and after["certify"] == before["certify"]
    # another time limit makes the solver stages stale, not the others
    report = build(copy, P1_NAME, stages=("export", "scip"), time_limit=1.5)
    assert report.ran == {P1_NAME: ["scip"]}


def test_a_folder_of_another_catalogue_is_refused(library, tmp_path, capsys):
    copy = tmp_path / "lib"
    shutil.copytree(library, copy)
    meta = copy / "library.json"
    data = json.loads(meta.read_text())
    data["catalogue_digest"] = "0" * 16
    meta.write_text(json.dumps(data))
    with pytest.raises(LlmV2xError, match="catalogue version"):
        open_library(copy)
    assert main(["library", "build", "-o", str(copy), "--only", P1_NAME]) == 2
    err = capsys.readouterr().err
    assert err.startswith("llmv2x: error:") and len(err.strip().splitlines()) == 1
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(LlmV2xError, match="no library.json"):
        build(other, P1_NAME, stages=("export",))
    assert (other / "notes.txt").read_text() == "mine" and len(list(other.iterdir())) == 1
