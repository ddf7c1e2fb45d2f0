# Bondport: `make run` starts the demo, `make test` runs the suite. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint format migrate seed venv npm proof-nodes bench bench-pipeline bench-quick bench-inprocess bench-storefront bench-scaling bench-ledger bench-customs bench-dashboard clean help

help:
	@echo "make run    - install, migrate, seed demo data, start web + worker + beat + sandboxes"
	@echo "make test   - run the whole test suite"
	@echo "make lint   - ruff check and format check"
	@echo "make bench  - end-to-end pipeline and in-process benchmarks (see bench/README.md)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Bondport needs Python 3.11 or newer")'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

# The browser suite's front-end tools (axe-core), pinned in package-lock.json.
NODE_STAMP := node_modules/.installed-stamp
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

npm: $(NODE_STAMP)

.env:
	cp .env.example .env

migrate: $(STAMP) .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable

seed: migrate
	$(PY) manage.py seed_demo

run: seed
	$(PY) manage.py collectstatic --noinput >/dev/null
	$(PY) manage.py demo_info
	$(PY) deploy/supervise.py Procfile.dev

# Without npm (a machine with no node) the browser suite's axe step is not installed: the browser
# tests then fail with a clear message if chromium is present, and skip if it is not.
test: $(STAMP) $(if $(shell command -v npm 2>/dev/null),$(NODE_STAMP))
	$(BIN)/pytest $(PYTEST_ARGS)

# Two web nodes and two worker nodes in network namespaces, one of each SIGKILLed mid-load
# (tests/proof/test_nodes.py; root, iproute2, PostgreSQL and Redis; about 5 minutes).
proof-nodes: $(STAMP)
	PROOF_NODES=1 REQUIRE_SERVICES=1 \
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bondport} \
	  $(BIN)/pytest tests/proof/test_nodes.py -s -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The end-to-end pipeline (needs PostgreSQL and Redis; own database bondport_bench_pipeline,
# Redis DBs 6 and 7, ports 8801 and 8811; see bench/README.md), then in-process placement
# against django-oscar. bench-ledger and bench-customs stay separate targets.
bench: bench-pipeline bench-inprocess bench-storefront

BENCH_STAMP := $(VENV)/.bench-stamp
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	touch $(BENCH_STAMP)

# Also runs the closed loop on the baseline commit 59a9a3f (a git worktree under
# var/bench-old, its own database <BENCH_PIPELINE_DB>_old) and the overload at 2x the peak.
bench-pipeline: $(BENCH_STAMP)
	$(PY) bench/pipeline/run.py $(BENCH_ARGS)

# A few minutes: baseline and this tree, closed loop and overload, short windows.
bench-quick: $(BENCH_STAMP)
	$(PY) bench/pipeline/run.py --quick $(BENCH_ARGS)

# Runs on the database bench-pipeline leaves behind (seeded shoppers and stock).
bench-inprocess: $(BENCH_STAMP)
	$(PY) bench/pipeline/inprocess.py --save

# Storefront pages, a worktree of the old commit against this tree in one run (issue #19;
# own database bondport_bench_storefront, Redis DBs 8 and 9, ports 8851 and 8852).
bench-storefront: $(BENCH_STAMP)
	$(PY) bench/storefront.py $(BENCH_STOREFRONT_ARGS)

bench-scaling: $(BENCH_STAMP)
	$(PY) bench/pipeline/run.py --only scaling --window 30 --warmup 10 $(BENCH_ARGS)

bench-ledger: $(STAMP)
	$(PY) bench/ledger.py

bench-customs: $(STAMP)
	$(PY) bench/customs.py

# Needs PostgreSQL (BENCH_PG, default postgres://postgres@127.0.0.1:5432): own database.
bench-dashboard: $(STAMP)
	$(PY) bench/dashboard.py

clean:
	rm -rf $(VENV) staticfiles var
