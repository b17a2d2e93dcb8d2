"""gunicorn settings for `make serve` (scripts/serve.sh).

Several worker processes must share one cache: sending limits, reset blocks and the single use
of each proof-of-work live there, and a per-process cache would count each of them once per
worker (docs/security.md, "Several workers"). So gunicorn refuses to start more than one worker
on the local-memory cache, however it was asked to.
"""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sspr_site.settings")

wsgi_app = "sspr_site.wsgi"
# No access log: gunicorn's writes each request's path, query and referrer, where links in
# messages carry tokens. The site logs each request itself, by view (sspr_site/request_log.py).
accesslog = None
# The site is loaded, and warmed up (sspr_site/warmup.py), once in the master process before the
# workers are forked: they start with it in memory, shared, and none pays for it on a request.
# A code change then needs a restart, not a reload signal.
preload_app = True


def on_starting(server):
    from sspr_site.checks import cache_is_shared

    if server.cfg.workers > 1 and not cache_is_shared():
        sys.exit(
            f"Refusing to start {server.cfg.workers} workers on a per-process cache: set "
            "REDIS_URL so that limits and blocks are shared, or run one worker."
        )


def pre_fork(server, worker):
    # Nothing in loading the site connects to the database, but a connection the master held
    # would be one socket shared by every worker: closed before each fork, whatever opened it.
    from django.db import connections

    connections.close_all()


def child_exit(server, worker):
    # Metrics of several workers are added up from PROMETHEUS_MULTIPROC_DIR (sspr_site.metrics).
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
