# `make run` creates .venv, installs the pinned requirements and starts the app on http://localhost:8501.
# `make report TOPIC=...` writes report.md from the command line.
# `make test` runs every test (offline; the test servers listen on 127.0.0.1 only), in two processes, a file at a time each.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TOPIC ?= electric vehicle charging in Europe

.PHONY: run report test bench clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

run: $(VENV)/.installed
	$(PY) -m streamlit run app.py --server.port 8501

report: $(VENV)/.installed
	$(PY) -m research "$(TOPIC)" --out report.md

test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n 2 --dist loadfile

bench: $(VENV)/.installed
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache artifacts
