# Two entry points: `make run` (the spec library on the twin bench, ending in an HTML report)
# and `make test` (the project's own test suite). Each sets itself up on a fresh machine.
PY ?= python3
# Bytecode is cached (a machine may switch it off with PYTHONDONTWRITEBYTECODE): the suite and the fault matrix
# start well over a hundred Python processes, each of which would compile every module it imports again.
unexport PYTHONDONTWRITEBYTECODE
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: run test setup lint bench clean tools

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NPM_STAMP): package.json
	npm install --no-audit --no-fund --silent
	touch $(NPM_STAMP)

setup: $(STAMP) $(NPM_STAMP)

run: setup
	$(BIN)/chargespec run specs/ -m "not octt" --html out/report

# The acceptance summary's tests read PDFs with poppler-utils and open the HTML in Debian's chromium; as
# root (CI) they are installed when missing, elsewhere those tests say they were skipped and why.
tools:
	@command -v pdftoppm >/dev/null && command -v chromium >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends chromium poppler-utils) >/dev/null 2>&1; } || \
	  echo "make: chromium/poppler-utils not installed: the summary's browser and PDF checks will skip"

test: $(STAMP) $(NPM_STAMP) tools
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) node_modules out allure-results
