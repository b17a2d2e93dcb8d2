"""Throughput of one page: simulated readers GET it over and over (`make load` runs this
against the reset portal's first page, and against a bare view on the same gunicorn).

The site sits behind the proxy headers (DJANGO_BEHIND_PROXY), as the people of
locustfile.py: a reader says it came over https, or the site would send it there. Anything but
the page itself (a redirect, an error) counts as a failure."""

from __future__ import annotations

import os

from locust import HttpUser, constant, task


class Reader(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.client.headers.update({"X-Forwarded-For": "10.200.0.7", "X-Forwarded-Proto": "https"})

    @task
    def read(self):
        path = os.environ["LOAD_PATH"]
        with self.client.get(
            path, name=path, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {response.headers.get('Location', '')}")
