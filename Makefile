# Two commands: `make run` (set up and serve the demo) and `make test` (set up and test).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000
# Seconds between the demo worker's passes (`make run`).
WORKER_INTERVAL ?= 10

.PHONY: install translations run test suite lint typecheck security bench bench-scale soak clean

# Compiled catalogues are build output (not committed): rebuilt when a .po changes.
PO := $(wildcard portal/translations/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) translations

translations: $(MO)

%.mo: %.po $(STAMP)
	$(BIN)/pybabel -q compile -i $< -o $@

# Without PORTAL_ENV the portal runs with production settings (and refuses to start
# without SECRET_KEY and DATABASE_URL): the demo says development explicitly.
run: export PORTAL_ENV := development
run: export PORTAL_BASE_URL := http://$(HOST):$(PORT)
# The worker runs beside the server, in the same process group, so the demo's SLA alerts,
# auto-close and mail happen (mail goes to the log and to /dev/mail); it is stopped when
# the server stops, whether by Ctrl-C or because the server could not start.
run: install
	$(FLASK) db upgrade
	$(FLASK) demo seed
	$(FLASK) worker --interval $(WORKER_INTERVAL) & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy workflows portal

# Medium and high findings fail the build; each one left is explained where it is
# (docs/SECURITY.md lists them).
security: install
	$(BIN)/bandit -q -r portal workflows -ll

# The static checks and the whole suite on SQLite and on PostgreSQL (a throwaway server
# is started when TEST_DATABASE_URL is not given; see .ci/with-postgres), all at the same
# time: the checks take seconds, each pass of the suite minutes. Each one's output is
# printed in one piece when it ends; any failure fails the target.
test: install
	@$(MAKE) --no-print-directory -j4 --output-sync=target lint typecheck security suite

# Both passes of the suite (at once), without the static checks.
suite: install
	.ci/test-suite

# The API benchmark drives gunicorn with wrk and shares rate limits through redis-server
# (Debian packages, installed when missing).
bench: install
	@if ! command -v wrk >/dev/null || ! command -v redis-server >/dev/null; then \
	  echo "bench: installing Debian's wrk and redis-server packages"; \
	  SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk redis-server >/dev/null; \
	fi
	.ci/with-postgres $(BIN)/python -m bench.run_all

# Cost as the data grows (10k, 100k, 1M requests with 10 items each; tens of minutes and
# ~3 GB of disk per engine at the largest size). Not part of `make bench`.
bench-scale: install
	.ci/with-postgres $(BIN)/python -m bench.scale

# The whole topology (PostgreSQL behind PgBouncer, Redis, an SMTP sink, nginx, two
# gunicorn instances, two workers) for ten minutes of load with a cycle of faults every
# minute (deploy/topology.py; `make test` runs it for 60 seconds).
soak: install
	@missing=""; for p in nginx:nginx-light pgbouncer:pgbouncer redis-server:redis-server openssl:openssl; do \
	  command -v $${p%%:*} >/dev/null || missing="$$missing $${p#*:}"; done; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  echo "soak: installing Debian's$$missing"; \
	  SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	$(BIN)/python deploy/topology.py --seconds $${SOAK_SECONDS:-600}

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
