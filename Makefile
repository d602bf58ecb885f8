# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# Both build .venv on first use: torch==2.13.0 first (the small CPU wheel here;
# other versions pull multi-GB CUDA builds), then the package with its extras.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
EXTRAS := torch,plot,dask,progress,tests,docs

.PHONY: demo test bench bench-quick docs lint venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "torch==2.13.0"
	$(PIP) install -q -e ".[$(EXTRAS)]" "torch==2.13.0"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/gradexplain demo --out demo_output

test: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2 --dist loadfile

bench: $(STAMP)
	$(PIP) install -q -e ".[bench]" "torch==2.13.0"
	$(PY) benchmarks/run.py

bench-quick: $(STAMP)
	$(PIP) install -q -e ".[bench]" "torch==2.13.0"
	$(PY) benchmarks/run.py --quick

docs: $(STAMP)
	$(PY) -m sphinx -W -b html docs docs/_build/html

lint: $(STAMP)
	$(VENV)/bin/ruff check sklearn_gradexplain tests benchmarks
	$(VENV)/bin/ruff format --check sklearn_gradexplain tests benchmarks

clean:
	rm -rf $(VENV) docs/_build demo_output
