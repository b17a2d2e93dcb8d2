"""Throughput of one page: simulated readers GET it over and over (`make load` runs this
against the reset portal's first page, and against a bare view on the same gunicorn)."""

from __future__ import annotations

import os

from locust import HttpUser, constant, task


class Reader(HttpUser):
    wait_time = constant(0)

    @task
    def read(self):
        self.client.get(os.environ["LOAD_PATH"], name=os.environ["LOAD_PATH"])
