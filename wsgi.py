"""The WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi ...``."""

import gc

from portal import create_app

app = create_app()

# Everything built so far (modules, the app, SQLAlchemy's mappers) lives as long as the
# process: moving it out of the collector's generations keeps full collections, which a
# 10,000-item filing triggers, from walking all of it again (measured in
# docs/BENCHMARKS.md).
gc.freeze()
