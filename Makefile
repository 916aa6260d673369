# Set-up and everyday commands. `make run` and `make test` each do all set-up
# on a fresh machine (Python 3.11+ with venv); see README.md.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run index serve test quick bench bench-scale bench-opensearch quality opensearch clean

$(BIN)/arshif: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,eval,opensearch]'
	touch $@

install: $(BIN)/arshif

## Index the bundled archive (data/archive -> data/index) and serve the search page.
run: index serve

index: install
	$(BIN)/arshif index data/archive --index data/index

serve: install
	$(BIN)/arshif serve --index data/index --host $(HOST) --port $(PORT)

## The linter, then the whole test suite, slow and browser tests included (what CI runs).
## The OpenSearch distribution is fetched first; without it (no network, no curl) its
## tests skip with the reason, as the browser tests do without Chromium.
test: install
	scripts/fetch_opensearch.sh || echo "arshif: OpenSearch not fetched: its tests will skip"
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -m "slow or not slow" $(PYTEST_ARGS)

## The fast tests only (no large corpora).
quick: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/bench.py

## arshif beside Lucene at 58k..1M synthetic articles (needs Java 17+ and Maven; hours
## at 1M): docs/scale.md.  E.g. make bench-scale SCALE_ARGS="--sizes 58k,234k".
bench-scale: install
	nice -n 10 $(BIN)/python bench/scale.py $(SCALE_ARGS)

## The embedded index beside one local OpenSearch node at 58k articles (needs Java 17+;
## about 7 minutes): docs/scale-out.md.  E.g. make bench-opensearch OSBENCH_ARGS="--heap 4g".
bench-opensearch: install opensearch
	nice -n 10 $(BIN)/python bench/opensearch_bench.py $(OSBENCH_ARGS)

## The OpenSearch distribution the cluster backend's tests run (.cache/opensearch/).
opensearch:
	scripts/fetch_opensearch.sh

quality: install
	$(BIN)/python scripts/ablation.py

clean:
	rm -rf $(VENV) data/index *.egg-info .pytest_cache
