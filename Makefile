# llmv2x: `make demo` and `make test` set everything up (idempotently) and then do their job.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
APT_PKGS := coinor-libipopt-dev libmumps-seq-dev liblapack-dev libblas-dev pkg-config \
            libamplsolver-dev cmake gcc g++ make
ASL_INC := /usr/include/ampl-netlib-solvers
STAMP := $(VENV)/.llmv2x-installed

.PHONY: setup sysdeps demo test lint format docs bench instances clean

setup: sysdeps $(STAMP) $(VENV)/.pynumero

# System packages: Ipopt + MUMPS, BLAS/LAPACK for cyipopt's build, the ASL for PyNumero.
sysdeps:
	@if ! dpkg -s $(APT_PKGS) >/dev/null 2>&1; then \
	  echo "installing system packages: $(APT_PKGS)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq $(APT_PKGS); \
	fi

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(STAMP): pyproject.toml $(VENV)/bin/python
	$(PIP) install -q -e '.[all,dev]'
	touch $@

# Pyomo's cyipopt interface needs PyNumero's ASL library; build it against Debian's ASL
# (the stock `pyomo build-extensions` clones the ASL from the network and fails offline).
$(VENV)/.pynumero: $(STAMP)
	@if ! $(PY) -c "from pyomo.contrib.pynumero.asl import AmplInterface; import sys; sys.exit(0 if AmplInterface.available() else 1)" 2>/dev/null; then \
	  echo "building PyNumero ASL library"; \
	  $(PY) -m pyomo.contrib.pynumero.build \
	    -DASL_INCLUDE_DIR=$(ASL_INC) \
	    -DASL_LIBRARY=/usr/lib/$$(gcc -print-multiarch)/libamplsolver.so >/dev/null; \
	fi
	$(PY) -c "from pyomo.contrib.pynumero.asl import AmplInterface; assert AmplInterface.available(), 'PyNumero ASL library missing'"
	touch $@

demo: setup
	$(VENV)/bin/llmv2x demo
	$(VENV)/bin/llmv2x reproduce -o out/figures --seeds 10 --sets paper

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The documentation site, warnings as errors (broken links, stale API names), into site/.
# No --quiet: it would hide the warnings that --strict turns into a failed build.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

test: setup lint docs
	$(PY) -m pytest -q

instances: setup
	$(PY) scripts/make_instances.py

bench: setup
	$(PY) benchmarks/build_models.py
	$(PY) benchmarks/ao.py

clean:
	rm -rf $(VENV) build site *.egg-info src/*.egg-info
