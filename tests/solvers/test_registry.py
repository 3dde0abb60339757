"""Tier 1: the backend registry, availability reasons, status maps and minlp's guards.

No solver runs here: fake backends stand in for the registry's behaviour (refusals, one-line
messages, status mapping, what ``minlp`` does with a backend's answer). The real backends
are exercised in test_backends.py and test_minlp.py.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from llmv2x.cli import main
from llmv2x.errors import BackendUnavailable, SettingsError
from llmv2x.instances import generate_instance
from llmv2x.models.p1 import set_model_values
from llmv2x.settings import SolveSettings
from llmv2x.solvers import registry, status
from llmv2x.solvers.base import Availability, BackendOutcome, State
from llmv2x.solvers.initial import initial_allocation
from llmv2x.solvers.minlp import solve_minlp

EXPECTED = {
    "qp": {"highs", "ipopt", "gurobi"},
    "nlp": {"cyipopt", "ipopt"},
    "minlp": {"scip", "gurobi", "mindtpy", "couenne", "bonmin", "baron", "knitro"},
}


class FakeMinlp:
    """A MINLP backend whose availability and answer the test chooses."""

    kind = "minlp"
    global_solver = True

    def __init__(self, name="fake", avail=None, outcome=None, point=True, error=None):
        self.name = name
        self.avail = Availability(State.YES) if avail is None else avail
        self.outcome = outcome
        self.point = point
        self.error = error
        self.calls = 0

    def available(self):
        return self.avail

    def version(self):
        return f"{self.name} 0.0"

    def solve(self, model, time_limit, gap, options=None, tee=False):
        self.calls += 1
        if self.error is not None:
            raise self.error
        if self.point:
            inst, alloc = self.point
            set_model_values(inst, model, alloc)
        return self.outcome


@pytest.fixture
def fake(monkeypatch):
    """Register a fake backend as (kind, name); returns a function doing it."""

    def register(backend, kind="minlp"):
        key = (kind, backend.name)
        monkeypatch.setitem(registry.BACKENDS, key, "fake.module:Fake")
        monkeypatch.setitem(registry._LOADED, key, backend)
        return backend

    return register


@pytest.fixture(scope="module")
def tiny():
    return generate_instance(seed=4, vehicles=3, rsus=1, name="tiny")


# ----- the table ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_every_backend_is_registered_under_its_role(kind):
    assert set(registry.backend_names(kind)) == EXPECTED[kind]


def test_defaults_are_first_of_each_role():
    s = SolveSettings()
    assert registry.backend_names("qp")[0] == s.qp_backend
    assert registry.backend_names("nlp")[0] == s.nlp_backend
    assert registry.backend_names("minlp")[0] == s.minlp_backend


def test_each_class_declares_its_name_and_kind():
    for kind, name in registry.BACKENDS:
        backend = registry.load_backend(name, kind)
        assert (backend.kind, backend.name) == (kind, name)
        assert isinstance(backend.available(), Availability)


def test_unknown_name_is_a_settings_error_listing_that_role():
    with pytest.raises(SettingsError) as err:
        registry.get_backend("nosuch", "minlp")
    msg = str(err.value)
    assert "nosuch" in msg and "scip" in msg and "mindtpy" in msg
    assert "highs" not in msg  # only names of the asked role
    assert "\n" not in msg


def test_unknown_kind_is_a_settings_error():
    with pytest.raises(SettingsError, match="kind"):
        registry.get_backend("highs", "lp")


def test_unavailable_backend_is_refused_in_one_line_naming_the_fix(fake):
    avail = Availability(State.NO, "fakelib is not installed", "pip install llmv2x[fake]")
    fake(FakeMinlp(avail=avail))
    with pytest.raises(BackendUnavailable) as err:
        registry.get_backend("fake", "minlp")
    msg = str(err.value)
    assert msg == (
        "minlp backend fake: not available because fakelib is not installed "
        "(pip install llmv2x[fake])"
    )


def test_limited_backend_is_usable(fake):
    backend = fake(FakeMinlp(avail=Availability(State.LIMITED, "a size-limited licence")))
    assert registry.get_backend("fake", "minlp") is backend
    assert "fake" in registry.installed_backends("minlp")


def test_unavailable_backend_is_not_installed(fake):
    fake(FakeMinlp(avail=Availability(State.NO, "missing", "fix it")))
    assert "fake" not in registry.installed_backends("minlp")


def test_table_lists_every_backend_with_state_and_reason(fake):
    fake(FakeMinlp(avail=Availability(State.NO, "fakelib is not installed", "pip install fake")))
    table = registry.availability_table()
    for _, name in registry.BACKENDS:
        assert name in table
    line = next(x for x in table.splitlines() if " fake " in x)
    assert " no " in line and "fakelib is not installed" in line and "pip install fake" in line


def test_availability_checks_do_not_import_native_solver_libraries():
    code = (
        "import sys; from llmv2x.solvers import registry\n"
        "[registry.availability(n, k) for k, n in registry.BACKENDS]\n"
        "print(sorted(m for m in ('pyscipopt', 'gurobipy', 'highspy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_gurobi_without_licence_check_is_limited_by_the_pip_licence(monkeypatch):
    from llmv2x.solvers.backends import gurobi

    monkeypatch.setattr(gurobi, "module_missing", lambda _m: False)
    monkeypatch.setattr(gurobi, "_licence_file", lambda: None)
    avail = gurobi.gurobi_availability()
    assert avail.state is State.LIMITED and "2000" in avail.reason
    monkeypatch.setattr(gurobi, "module_missing", lambda _m: True)
    avail = gurobi.gurobi_availability()
    assert avail.state is State.NO and avail.fix == "pip install llmv2x[gurobi]"


def test_gurobi_refuses_models_over_the_pip_licence():
    from llmv2x.solvers.backends.gurobi import too_large

    assert too_large(201, 10, True, State.LIMITED).startswith("licence-limited")
    assert too_large(1500, 10, False, State.LIMITED) == ""
    assert too_large(2001, 10, False, State.LIMITED).startswith("licence-limited")
    assert too_large(5000, 5000, True, State.YES) == ""


# ----- status maps ----------------------------------------------------------------------


def test_every_map_targets_spec_statuses():
    for key, table in status.STATUS_MAPS.items():
        if key.startswith("qp:"):
            continue
        assert set(table.values()) <= set(status.STATUSES), key


def test_only_global_backends_may_say_optimal():
    for key, table in status.STATUS_MAPS.items():
        if key.startswith("qp:") or key in status.GLOBAL_BACKENDS:
            continue
        assert "optimal" not in table.values(), key
        for native in table:
            assert status.map_status(key, native, has_point=True) != "optimal"


def test_ipopt_optimal_is_converged_and_mindtpy_never_optimal():
    assert status.map_status("nlp:cyipopt", "optimal", has_point=True) == "converged"
    for native in ("optimal", "globallyOptimal", "feasible", "maxTimeLimit", "infeasible"):
        assert status.map_status("minlp:mindtpy", native, has_point=True) != "optimal"


def test_global_optimal_needs_the_gap_closed():
    key, native = "minlp:scip", "convergenceCriteriaSatisfied"
    assert status.minlp_status(key, native, has_point=True, incumbent=10, bound=10) == "optimal"
    assert status.minlp_status(key, native, has_point=True, incumbent=10, bound=9) == "feasible"
    assert status.minlp_status(key, native, has_point=True, incumbent=10, bound=None) == "feasible"
    assert status.minlp_status(key, "maxTimeLimit", has_point=True, incumbent=10, bound=9) == (
        "time_limit"
    )
    assert status.minlp_status(key, native, has_point=False, incumbent=None, bound=9) == "error"


def test_unknown_native_code_is_an_error():
    assert status.map_status("minlp:scip", "somethingNew", has_point=True) == "error"


# ----- minlp's handling of a backend's answer (fake backends) --------------------------


def _settings(name="fake", **options):
    return SolveSettings(minlp_backend=name, time_limit=5, options=options)


def test_minlp_refuses_an_unknown_formulation(tiny):
    with pytest.raises(SettingsError, match="formulation"):
        solve_minlp(tiny, _settings("scip", formulation="fancy"))


def test_minlp_turns_a_backend_exception_into_an_error_result(fake, tiny):
    fake(FakeMinlp(error=RuntimeError("solver crashed\nwith a long trace")))
    res = solve_minlp(tiny, _settings())
    assert res.status == "error" and res.allocation is None
    assert "solver crashed" in res.message and "\n" not in res.message
    assert res.solvers["minlp"] == "fake 0.0"


def test_minlp_refuses_an_infeasibility_claim(fake, tiny):
    fake(FakeMinlp(outcome=BackendOutcome("infeasible", False), point=None))
    res = solve_minlp(tiny, _settings())
    assert res.status == "error" and "numerical failure" in res.message


def test_minlp_drops_a_bound_above_a_known_feasible_point(fake, tiny):
    alloc = initial_allocation(tiny, SolveSettings())
    fake(FakeMinlp(outcome=BackendOutcome("optimal", True, bound=1e12), point=(tiny, alloc)))
    res = solve_minlp(tiny, _settings())
    assert res.lower_bound is None and res.status == "feasible"
    assert "bound dropped" in res.message
    assert "projection" in res.solvers


def test_minlp_keeps_a_valid_bound_but_not_optimal_with_an_open_gap(fake, tiny):
    alloc = initial_allocation(tiny, SolveSettings())
    fake(FakeMinlp(outcome=BackendOutcome("optimal", True, bound=1.0), point=(tiny, alloc)))
    res = solve_minlp(tiny, _settings())
    assert res.lower_bound == 1.0 and res.status == "feasible"


def test_minlp_never_passes_on_a_local_solver_bound(fake, tiny):
    alloc = initial_allocation(tiny, SolveSettings())
    backend = FakeMinlp(outcome=BackendOutcome("converged", True, bound=1.0), point=(tiny, alloc))
    backend.global_solver = False
    fake(backend)
    res = solve_minlp(tiny, _settings())
    assert res.lower_bound is None and res.status == "converged"


def test_minlp_time_limit_without_a_point(fake, tiny):
    fake(FakeMinlp(outcome=BackendOutcome("time_limit", False, message="no incumbent"), point=None))
    res = solve_minlp(tiny, _settings())
    assert res.status == "time_limit" and res.allocation is None and res.lower_bound is None


def test_minlp_time_limit_without_a_point_keeps_a_global_bound(fake, tiny):
    fake(FakeMinlp(outcome=BackendOutcome("time_limit", False, bound=1.0), point=None))
    res = solve_minlp(tiny, _settings())
    assert res.status == "time_limit" and res.allocation is None and res.lower_bound == 1.0


def test_minlp_time_limit_without_a_point_drops_an_impossible_bound(fake, tiny):
    fake(FakeMinlp(outcome=BackendOutcome("time_limit", False, bound=1e12), point=None))
    res = solve_minlp(tiny, _settings())
    assert res.lower_bound is None and "bound dropped" in res.message


# ----- command line ---------------------------------------------------------------------


def test_cli_solvers_prints_every_backend(capsys):
    assert main(["solvers"]) == 0
    out = capsys.readouterr().out
    for kind, name in registry.BACKENDS:
        assert any(line.split()[:2] == [kind, name] for line in out.splitlines()), (kind, name)


def test_cli_unknown_minlp_backend_is_one_line_and_nonzero(capsys):
    code = main(["solve", "paper-seed0", "--method", "minlp", "--minlp-backend", "nosuch"])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert len(err.splitlines()) == 1 and "nosuch" in err and "scip" in err


def test_cli_unavailable_backend_names_the_fix(capsys, fake):
    fake(FakeMinlp(avail=Availability(State.NO, "fakelib is not installed", "pip install fake")))
    code = main(["solve", "paper-seed0", "--method", "minlp", "--minlp-backend", "fake"])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert len(err.splitlines()) == 1 and "pip install fake" in err
