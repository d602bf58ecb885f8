# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# Both build .venv on first use: torch==2.13.0 first (the small CPU wheel here;
# other versions pull multi-GB CUDA builds), then the package with its extras.
# `make test` runs the suite twice: in .venv (everything installed) and in
# .venv-base (the base install only, no torch/skorch/matplotlib: the torch-free leg).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
EXTRAS := torch,plot,dask,progress,tests,docs,demo,skops,shap,mlflow,polars,ray
BASE_VENV := .venv-base
BASE_STAMP := $(BASE_VENV)/.installed
TORCH := torch==2.13.0
# one torch/BLAS thread per xdist worker; scikit-learn's array-API checks enabled
TEST_ENV := OMP_NUM_THREADS=1 SCIPY_ARRAY_API=1
PYTEST := -m pytest -q -n 2 --dist loadfile

.PHONY: demo test test-full test-base bench bench-quick docs lint venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "$(TORCH)"
	$(PIP) install -q -e ".[$(EXTRAS)]" "$(TORCH)"
	# zennit (the LRP reference) requires torchvision, which would replace torch
	$(PIP) install -q --no-deps "zennit>=0.5"
	touch $(STAMP)

$(BASE_STAMP): pyproject.toml
	test -x $(BASE_VENV)/bin/python || $(PYTHON) -m venv $(BASE_VENV)
	$(BASE_VENV)/bin/python -m pip install -q --upgrade pip
	$(BASE_VENV)/bin/python -m pip install -q -e ".[test-base]"
	touch $(BASE_STAMP)

demo: $(STAMP)
	$(VENV)/bin/gradexplain demo --out demo_output

test: test-full test-base

test-full: $(STAMP)
	$(TEST_ENV) $(PY) $(PYTEST)

test-base: $(BASE_STAMP)
	$(TEST_ENV) $(BASE_VENV)/bin/python $(PYTEST)

bench: $(STAMP)
	$(PIP) install -q -e ".[bench]" "$(TORCH)"
	$(PY) benchmarks/run.py

bench-quick: $(STAMP)
	$(PIP) install -q -e ".[bench]" "$(TORCH)"
	$(PY) benchmarks/run.py --quick

docs: $(STAMP)
	$(PY) -m sphinx -W -b html docs docs/_build/html

lint: $(STAMP)
	$(VENV)/bin/ruff check sklearn_gradexplain tests benchmarks docs
	$(VENV)/bin/ruff format --check sklearn_gradexplain tests benchmarks docs

clean:
	rm -rf $(VENV) $(BASE_VENV) docs/_build demo_output
