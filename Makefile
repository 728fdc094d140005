# Make Keras Cooler. The README's two commands: `make book` and `make test`.
# Both create or refresh the local virtual environment .venv from pyproject.toml first, and the
# book's front-end packages (widget embed bundle, MathJax) in book/web/node_modules from the
# committed book/web/package-lock.json, with `npm ci`. The book's machinery is in book/.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# One chapter (NB=chapters/start/getting_started.ipynb) or all of them, from _toc.yml (book/toc.py).
NB     ?= $(shell $(BIN)/python -m book.toc)
# npm writes this file at the end of a successful `npm ci`.
WEB    := book/web/node_modules/.package-lock.json
# nbval runs every chapter as part of the test suite (in the test environments only: the
# library's own tests need nothing but pytest).
NBVAL  := --nbval-lax --nbval-current-env

.PHONY: book test execute stats bench colab-check clean help

help:
	@echo "make book     build the book into _build/html (the main job)"
	@echo "make test     run the whole test suite on TensorFlow, then on JAX (library, notebooks, book build, pages in a browser)"
	@echo "make execute  re-run chapters in place in the cpu profile to refresh stored outputs (NB=path for one)"
	@echo "make stats    after a full, passing make test: save its smoke times for the Execution statistics page"
	@echo "make bench    race the reference models against the keras.io/posts recipes (10-25 min, quiet machine); stores benchmarks/results/<this machine>/"
	@echo "make colab-check  library tests and every chapter (smoke) on Colab's Keras 3.13 / TF 2.20, in .venv-colab"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.book-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[book]"
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

$(WEB): book/web/package.json book/web/package-lock.json
	cd book/web && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

book: $(VENV)/.book-installed $(WEB)
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "The book is in _build/html/index.html"

# One pass per Keras backend (the backend is fixed when Keras is imported): the whole suite on
# TensorFlow, then again on JAX, where conftest.py skips, saying why, what does not depend on
# the backend. Every chapter runs once per pass: under nbval on TensorFlow, under papermill on
# JAX. Both passes always run; the command fails if either failed.
test: $(VENV)/.test-installed $(WEB)
	@id=$$(date +%s); tf=0; jax=0; \
	echo "== make test, pass 1 of 2: Keras on TensorFlow"; \
	KERASCOOL_TEST_COMMAND=$$id KERAS_BACKEND=tensorflow KERASCOOL_PROFILE=smoke $(BIN)/python -m pytest -n 2 --dist loadfile $(NBVAL) || tf=$$?; \
	echo "== make test, pass 2 of 2: Keras on JAX"; \
	KERASCOOL_TEST_COMMAND=$$id KERAS_BACKEND=jax KERASCOOL_PROFILE=smoke $(BIN)/python -m pytest -n 2 --dist loadfile $(NBVAL) || jax=$$?; \
	echo "== make test: TensorFlow pass $$([ $$tf = 0 ] && echo passed || echo "FAILED ($$tf)"), JAX pass $$([ $$jax = 0 ] && echo passed || echo "FAILED ($$jax)")"; \
	[ $$tf = 0 ] && [ $$jax = 0 ]

execute: $(VENV)/.book-installed
	$(BIN)/python -m book.execute --profile cpu $(NB)

# The Execution statistics page's committed snapshot of the last full, passing `make test`.
stats: $(VENV)/.book-installed
	$(BIN)/python -m book.stats save

# The Benchmarks appendix's race (not part of `make test`): replaces benchmarks/results/<this machine>/
# (named after the CPU model and core count) when the whole race has finished.
bench: $(VENV)/.test-installed
	$(BIN)/python benchmarks/race.py

# Colab runs older versions than .venv, and no book tool chain: the same test command, in which
# the book's tests that need what the colab extra lacks (Jupyter Book, Sphinx, Playwright, the
# book's pins) skip, saying why; nbval and papermill still run every chapter.
# Colab runs Python 3.13: use a 3.13 interpreter when the machine has one (on PATH or under
# pyenv), else $(PYTHON); the check says which one it used.
COLAB_PYTHON ?= $(or $(shell for p in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13; do $$p -c '' 2>/dev/null && { echo $$p; break; }; done),$(PYTHON))

colab-check:
	test -x .venv-colab/bin/python || $(COLAB_PYTHON) -m venv .venv-colab
	.venv-colab/bin/python -m pip install --quiet -e ".[colab]"
	@echo "colab-check on $$(.venv-colab/bin/python --version), Keras $$(.venv-colab/bin/python -c 'import keras; print(keras.__version__)' 2>/dev/null)"
	@id=$$(date +%s); tf=0; jax=0; \
	echo "== colab-check, pass 1 of 2: Keras on TensorFlow"; \
	KERASCOOL_TEST_COMMAND=$$id KERAS_BACKEND=tensorflow KERASCOOL_PROFILE=smoke .venv-colab/bin/python -m pytest -n 2 --dist loadfile $(NBVAL) || tf=$$?; \
	echo "== colab-check, pass 2 of 2: Keras on JAX"; \
	KERASCOOL_TEST_COMMAND=$$id KERAS_BACKEND=jax KERASCOOL_PROFILE=smoke .venv-colab/bin/python -m pytest -n 2 --dist loadfile $(NBVAL) || jax=$$?; \
	echo "== colab-check on $$(.venv-colab/bin/python --version): TensorFlow pass $$([ $$tf = 0 ] && echo passed || echo "FAILED ($$tf)"), JAX pass $$([ $$jax = 0 ] && echo passed || echo "FAILED ($$jax)")"; \
	[ $$tf = 0 ] && [ $$jax = 0 ]

clean:
	rm -rf _build
