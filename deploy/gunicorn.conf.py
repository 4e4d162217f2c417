"""gunicorn settings for the portal (deploy/entrypoint.sh web uses them).

Every value can be changed from the environment: PORTAL_BIND, WEB_CONCURRENCY,
GUNICORN_TIMEOUT. The workers are sync: slow clients are nginx's business (it buffers
whole requests and answers before handing them on, see deploy/nginx.conf), so never
expose gunicorn itself to the network.
"""

import os

bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000").split(",")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
# A request that takes longer than this is killed (and logged); 10,000-item filings take
# about a second.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# A worker is replaced after this many requests (with jitter), bounding any slow leak.
max_requests = 5000
max_requests_jitter = 500
# No control socket under the home folder (a read-only or shared home in containers).
control_socket_disable = True
# The portal logs each request itself, as JSON with its request id (portal/logs.py).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# gunicorn takes only the scheme from a proxy on this host (its default); the client's
# address comes from the app's ProxyFix, as far as PORTAL_PROXY_HOPS says.
forwarded_allow_ips = "127.0.0.1"


def child_exit(server, worker):  # noqa: ANN001 - gunicorn's hook signature
    """A dead worker's live gauges stop counting (prometheus_client multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
