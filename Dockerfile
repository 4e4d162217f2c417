# The portal's image: one image for every process, chosen by the entrypoint's argument
# (deploy/entrypoint.sh: web, worker, migrate, check), the same script the topology test
# (deploy/topology.py) and the systemd units start. See docs/OPERATIONS.md, "Containers".
#
#   docker build -t liaison-portal .
#   docker compose up              # compose.yaml: PostgreSQL, Redis, web, worker, nginx
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORTAL_HOME=/srv/portal \
    PORTAL_PYTHON_BIN=/srv/portal/.venv/bin \
    PORTAL_BIND=0.0.0.0:8000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/portal-metrics

RUN groupadd --system portal && useradd --system --gid portal --home /srv/portal portal
WORKDIR /srv/portal

# Dependencies first (cached while only the code changes).
COPY pyproject.toml README.md ./
COPY portal/__init__.py portal/__init__.py
COPY workflows/__init__.py workflows/__init__.py
RUN python -m venv .venv && .venv/bin/pip install --no-cache-dir --upgrade pip \
    && .venv/bin/pip install --no-cache-dir .

COPY . .
# The code's bytecode is compiled here: with PYTHONDONTWRITEBYTECODE every gunicorn
# worker compiled ~170 modules from source at start-up instead (slower, and ~2 MB more).
RUN .venv/bin/pip install --no-cache-dir --no-deps . \
    && .venv/bin/python -m compileall -q portal workflows wsgi.py \
    && .venv/bin/pybabel compile -d portal/translations \
    && mkdir -p instance/attachments && chown -R portal:portal instance

USER portal
EXPOSE 8000
# Liveness: the process answers (readiness is /readyz, for the orchestrator's traffic).
HEALTHCHECK --interval=30s --timeout=3s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:8000/healthz', headers={'Host': os.environ.get('PORTAL_HOST', 'localhost')}), timeout=2)" || exit 1
ENTRYPOINT ["/srv/portal/deploy/entrypoint.sh"]
CMD ["web"]
