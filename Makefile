# Two commands set everything up: `make course` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: course book test bench validate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

course: $(STAMP)
	$(BIN)/thbcourse validate
	$(BIN)/thbcourse draw --out _build/papers
	$(BIN)/thbcourse build --out _build --pdf

validate: $(STAMP)
	$(BIN)/thbcourse validate

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf _build
