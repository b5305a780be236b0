# `make demo` and `make test` do all of their own set-up: a .venv with every extra, the C++ core built.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# compressai 1.2.8 imports torchvision at import time; torch 2.14.1 + torchvision 0.29.1 is the pair that works.
TORCH  := torch==2.14.1 torchvision==0.29.1
# One pip at a time in this tree (a helper and a developer may both rebuild).
LOCK   := flock $(CURDIR)/.venv.lock
NATIVE := CMakeLists.txt $(wildcard src/lcodec/entropy/csrc/*) $(wildcard src/lcodec/codecs/pc/csrc/*)

.PHONY: demo test test-all build bench

$(VENV)/.deps: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# pesq is source-only: build it here, in pip's isolated build environment (it needs Cython).
	$(LOCK) $(PIP) install -q $(TORCH) 'scikit-build-core>=0.10' 'nanobind>=2.4' 'pesq>=0.0.4'
	$(LOCK) $(PIP) install -q --no-build-isolation -e '.[all,test]'
	touch $@ $(VENV)/.built

$(VENV)/.built: $(NATIVE) | $(VENV)/.deps
	$(LOCK) $(PIP) install -q --no-build-isolation --no-deps -e .
	touch $@

build: $(VENV)/.built

demo: build
	$(PY) -m lcodec.demo

test: build
	$(PY) -m pytest -q

test-all: build
	$(PY) -m pytest -q -m ''

bench: build
	$(PY) benchmarks/startup.py
