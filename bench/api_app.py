"""The portal as gunicorn serves it in bench/api.py (benchmark only): the production app
with a rate limit the benchmark never reaches. Its anchor is bench/bare_app.py."""

from __future__ import annotations

from wsgi import app

# The benchmark measures throughput, not the limit: it must never answer 429.
app.config["API_RATE_LIMIT"] = "100000000 per minute"
