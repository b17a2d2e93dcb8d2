"""The simulated people of `make load`: 200 register (phone, email, questions, Finish) and 50
reset with the phone they registered. Each comes through "the proxy" (X-Forwarded-For with its
own address, X-Forwarded-Proto: https) as the site is deployed; codes are read from the file
backends the load site writes to, as a person reads their phone.

Run by benchmarks/load/run.py; the people are made by benchmarks/load/people.py."""

from __future__ import annotations

import json
import os
import re
import time
from itertools import count
from pathlib import Path

import altcha
from locust import HttpUser, constant, events, task
from requests.cookies import RequestsCookieJar

PHONE_DIR = Path(os.environ["LOAD_PHONE_DIR"])
MAIL_DIR = Path(os.environ["LOAD_MAIL_DIR"])
PASSWORD = os.environ["LOAD_PASSWORD"]
REGISTERERS = int(os.environ.get("LOAD_REGISTERERS", "200"))
RESETTERS = int(os.environ.get("LOAD_RESETTERS", "50"))
NUMBERS = count()
FINISHED = {"registered": 0, "reset": 0, "gave_up": 0}


class Failed(Exception):
    """A step did not answer as a person would expect (counted as a failure by Locust)."""


class ProxiedJar(RequestsCookieJar):
    """What a TLS-terminating proxy gives the browser: the site's secure cookies come back."""

    def set_cookie(self, cookie, *args, **kwargs):
        cookie.secure = False
        return super().set_cookie(cookie, *args, **kwargs)


def phone_of(n: int) -> str:
    return f"+4474009{n:05d}"


class Person(HttpUser):
    abstract = True
    wait_time = constant(10**6)  # each person goes through once

    def on_start(self):
        self.n = next(NUMBERS)
        self.client.cookies = ProxiedJar()
        self.client.headers.update(
            {
                "X-Forwarded-For": f"10.{self.n // 250}.{self.n % 250}.7",
                "X-Forwarded-Proto": "https",
            }
        )

    def post(self, path: str, data: dict, name: str | None = None):
        data = {**data, "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", "")}
        host = self.host.split("://", 1)[1]
        return self.client.post(
            path,
            data=data,
            name=name or path,
            allow_redirects=False,
            headers={"Referer": f"https://{host}{path}"},
        )

    def expect(self, response, status: int, location: str | None = None, shows: str | None = None):
        """`status`; for a redirect, to `location`; for a page in the answer to a form, the
        page at `shows` (it names its own address), not the form's page again."""
        ok = (
            response.status_code == status
            and (location is None or response.headers.get("Location", "").endswith(location))
            and (shows is None or f'data-page-address="{shows}"' in response.text)
        )
        if not ok:
            response.failure(f"{response.status_code} {response.headers.get('Location', '')}")
            raise Failed
        return response


def latest_phone_code(number: str, after: float) -> str:
    for _ in range(300):  # a person waits a minute for a text or an email
        for path in sorted(PHONE_DIR.glob("*.json"), reverse=True):
            message = json.loads(path.read_text())
            if message["to"] == number and path.stat().st_mtime >= after:
                return re.search(r"\b(\d{6})\b", message["text"]).group(1)
        time.sleep(0.2)
    raise Failed


def latest_email_code(address: str, after: float) -> str:
    for _ in range(300):  # a person waits a minute for a text or an email
        for path in sorted(MAIL_DIR.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True):
            if path.stat().st_mtime < after:
                break
            for message in path.read_text().split("-" * 79):
                if f"To: {address}" in message:
                    return re.findall(r"\b(\d{6})\b", message)[-1]
        time.sleep(0.2)
    raise Failed


class Registerer(Person):
    weight = REGISTERERS

    @task
    def register(self):
        try:
            self._register()
        except Failed:
            FINISHED["gave_up"] += 1
            return
        FINISHED["registered"] += 1

    def _register(self):
        name = f"load{self.n:05d}"
        self.client.get("/ssprsetup/signin/", name="/ssprsetup/signin/")
        self.expect(self.post("/ssprsetup/signin/", {"username": name, "password": PASSWORD}), 302)
        number = phone_of(self.n)
        sent = time.time() - 1
        local = {"region": "GB", "number": "0" + number[3:], "channel": "sms"}
        self.expect(self.post("/ssprsetup/phone/", local), 200)  # the code page
        code = latest_phone_code(number, sent)
        self.expect(self.post("/ssprsetup/phone/verify/", {"code": code}), 302, "/ssprsetup/")
        address = f"{name}.home@example.net"
        sent = time.time() - 1
        self.expect(self.post("/ssprsetup/email/", {"email": address}), 200)
        code = latest_email_code(address, sent)
        self.expect(self.post("/ssprsetup/email/verify/", {"code": code}), 302, "/ssprsetup/")
        page = self.client.get("/ssprsetup/questions/", name="/ssprsetup/questions/").text
        ids = sorted(set(re.findall(r'<option value="(\d+)"', page)))[:3]
        answers = {}
        for index, question in enumerate(ids, start=1):
            answers[f"question_{index}"] = question
            answers[f"answer_{index}"] = f"answer {index} for {name}"
        self.expect(self.post("/ssprsetup/questions/", answers), 302, "/ssprsetup/")
        self.expect(self.post("/ssprsetup/finish/", {}), 302)


class Resetter(Person):
    weight = RESETTERS

    @task
    def reset(self):
        try:
            self._reset()
        except Failed:
            FINISHED["gave_up"] += 1
            return
        FINISHED["reset"] += 1

    def _reset(self):
        name = f"ready{self.n:05d}"
        self.client.get("/passwordreset/", name="/passwordreset/")
        challenge = self.client.get("/passwordreset/check/", name="/passwordreset/check/").json()
        parsed = altcha.Challenge.from_dict(challenge)
        solution = altcha.Payload(parsed, altcha.solve_challenge(parsed)).to_base64()
        # The methods page comes in the answer.
        self.expect(
            self.post("/passwordreset/", {"username": name, "action": "reset", "altcha": solution}),
            200,
            shows="/passwordreset/methods/",
        )
        number = f"+4474008{self.n:05d}"
        sent = time.time() - 1
        # The code page comes in the answer.
        self.expect(self.post("/passwordreset/phone/", {"number": number, "channel": "sms"}), 200)
        code = latest_phone_code(number, sent)
        self.expect(self.post("/passwordreset/phone/code/", {"code": code}), 200)
        new = f"Load-{self.n}-lantern-copper-2027"
        # The done page comes in the answer.
        self.expect(
            self.post("/passwordreset/finish/", {"new_password1": new, "new_password2": new}),
            200,
            shows="/passwordreset/done/",
        )


@events.quitting.add_listener
def _report(environment, **_kwargs):
    Path(os.environ["LOAD_RESULT"]).write_text(json.dumps(FINISHED))
