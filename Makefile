# runback: two commands on a fresh machine with Python 3.11.
#   make demo   set up, simulate the trial, ingest every night, print where the results are
#   make test   set up and run the tests (two workers; the slow ones: make test-slow)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-slow lint mutation setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/runback demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not slow"

test-slow: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m slow

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/sqlfluff lint sql

# Mutation testing of the functions that guard the data (docs/mutation.md): mutmut changes them one small
# thing at a time and runs the tests that reach them; a change no test notices survives. It runs on a copy laid
# out as the installed package (runback/flows, ...), so that the tests import the changed code.
MUTATE := $(foreach f,_fingerprint new_key first_key read_key upgrade_key check_location mask holds_allocation \
	warehouse_key,runback.flows.allocation.x_$(f)__mutmut_*) \
	$(foreach f,check_deletions _present_keys check_order,runback.flows.ingest.pipeline.x_$(f)__mutmut_*) \
	runback.flows.ingest.load.x_prior__mutmut_* runback.flows.ingest.load.x*Prior*newer_export_loaded__mutmut_* \
	runback.flows.ingest.files.* runback.flows.report.blinding.* runback.schemas.checks.* runback.schemas.rules.*

mutation: $(STAMP)
	rm -rf build/mutation && mkdir -p build/mutation/runback
	cp -R flows schemas sql reports build/mutation/runback/
	cp -R tests pyproject.toml build/mutation/
	cd build/mutation && ../../$(BIN)/mutmut run --max-children 2 $(patsubst %,'%',$(MUTATE)) >run.log 2>&1 || (tail -40 run.log; false)
	cd build/mutation && ../../$(BIN)/mutmut results --all true | awk -F': ' '$$2 != "not checked" { \
	    name = $$1; sub(/^ +/, "", name); module = name; sub(/[.]x[^.]*__mutmut_[0-9]+$$/, "", module); \
	    n[module]++; all++; if ($$2 == "killed" || $$2 == "timeout") { k[module]++; killed++ } \
	    else left = left "\n  mutmut show " name "   (" $$2 ")" } \
	  END { for (m in n) printf "%-30s %4d of %4d killed  %5.1f%%\n", m, k[m], n[m], 100 * k[m] / n[m] | "sort"; \
	    close("sort"); printf "%-30s %4d of %4d killed  %5.1f%%\n", "all", killed, all, 100 * killed / all; \
	    if (left) print "not killed (in build/mutation):" left; exit (100 * killed < 90 * all) }'

clean:
	rm -rf data out
