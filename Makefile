# Make Keras Cooler. The README's two commands: `make book` and `make test`.
# Both create or refresh the local virtual environment .venv from pyproject.toml first, and the
# book's front-end packages (widget embed bundle, MathJax) in web/node_modules from the
# committed web/package-lock.json, with `npm ci`.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# One chapter (NB=chapters/start/getting_started.ipynb) or all of them.
NB     ?= $(shell $(PYTHON) -c "import re,pathlib;print(' '.join(p+'.ipynb' for p in re.findall(r'file:\s*(chapters/\S+)', pathlib.Path('_toc.yml').read_text()) if pathlib.Path(p+'.ipynb').exists()))")
# npm writes this file at the end of a successful `npm ci`.
WEB    := web/node_modules/.package-lock.json

.PHONY: book test execute stats bench colab-check clean help

help:
	@echo "make book     build the book into _build/html (the main job)"
	@echo "make test     run the whole test suite (library, notebooks, book build, pages in a browser)"
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

$(WEB): web/package.json web/package-lock.json
	cd web && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

book: $(VENV)/.book-installed $(WEB)
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "The book is in _build/html/index.html"

test: $(VENV)/.test-installed $(WEB)
	KERASCOOL_PROFILE=smoke $(BIN)/python -m pytest -n 2 --dist loadfile

execute: $(VENV)/.book-installed
	$(BIN)/python -m kerascool_lib._book execute --profile cpu $(NB)

# The Execution statistics page's committed snapshot of the last full, passing `make test`.
stats: $(VENV)/.book-installed
	$(BIN)/python -m kerascool_lib._stats save

# The Benchmarks appendix's race (not part of `make test`): replaces benchmarks/results/<this machine>/
# (named after the CPU model and core count) when the whole race has finished.
bench: $(VENV)/.test-installed
	$(BIN)/python benchmarks/race.py

# Colab runs older versions than .venv: run what does not need the book tool chain there.
colab-check:
	test -x .venv-colab/bin/python || $(PYTHON) -m venv .venv-colab
	.venv-colab/bin/python -m pip install --quiet -e ".[colab]"
	KERASCOOL_PROFILE=smoke .venv-colab/bin/python -m pytest -n 2 --dist loadfile \
	  --ignore=tests/test_book.py --ignore=tests/test_browser.py --ignore=tests/test_project.py \
	  --ignore=kerascool_lib/_sphinx.py

clean:
	rm -rf _build
