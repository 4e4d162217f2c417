#!/bin/sh
# The one way the portal's processes start: in the container image (Dockerfile's
# ENTRYPOINT), under systemd (deploy/*.service) and in the topology test
# (deploy/topology.py), so what is tested is what runs.
#
#   entrypoint.sh web       gunicorn on $PORTAL_BIND (127.0.0.1:8000), $WEB_CONCURRENCY
#                           sync workers (2), metrics shared through $PROMETHEUS_MULTIPROC_DIR
#   entrypoint.sh worker    the SLA sweep, outbox and auto-close loop (flask worker)
#   entrypoint.sh migrate   flask db upgrade (once per release, before web and worker)
#   entrypoint.sh check     flask check: settings and every dependency, one line each
#   entrypoint.sh <other>   runs <other> as it is (a shell, a one-off flask command)
#
# Settings come from the environment (README, Configuration). PORTAL_HOME is where the
# code is (default: the folder above this script); PORTAL_PYTHON_BIN the virtualenv's
# bin folder (default: $PORTAL_HOME/.venv/bin when it exists, else the PATH).
set -eu

PORTAL_HOME=${PORTAL_HOME:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$PORTAL_HOME"
if [ -z "${PORTAL_PYTHON_BIN:-}" ] && [ -x "$PORTAL_HOME/.venv/bin/python" ]; then
  PORTAL_PYTHON_BIN="$PORTAL_HOME/.venv/bin"
fi
BIN=${PORTAL_PYTHON_BIN:+$PORTAL_PYTHON_BIN/}

role=${1:-web}
[ $# -gt 0 ] && shift

case "$role" in
  web)
    # Each gunicorn worker writes its metrics to files here; /metrics adds them up. It
    # must be empty when the server starts (old files would count dead processes).
    PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-/tmp/portal-metrics-$$}
    rm -rf "$PROMETHEUS_MULTIPROC_DIR"
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    export PROMETHEUS_MULTIPROC_DIR
    exec "${BIN}gunicorn" --config "$PORTAL_HOME/deploy/gunicorn.conf.py" "$@" wsgi:app
    ;;
  worker)
    exec "${BIN}flask" --app wsgi worker "$@"
    ;;
  migrate)
    exec "${BIN}flask" --app wsgi db upgrade "$@"
    ;;
  check)
    exec "${BIN}flask" --app wsgi check "$@"
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
