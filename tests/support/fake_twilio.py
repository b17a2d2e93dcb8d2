"""A local HTTP server speaking the part of Twilio's REST API the service uses.

It checks the account SID in the path, the basic-auth credentials and the required parameters,
records each accepted request, and can be told to answer the next request with one of Twilio's
error shapes or to answer slowly.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-f]{32})/(?P<kind>Messages|Calls)\.json$")


@dataclass
class Failure:
    status: int
    code: int | None = None
    message: str = "error"


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    received: list[dict] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    delay: float = 0.0
    # As Twilio's API: HTTP/1.1, a connection kept open for the next request. Off, each answer
    # closes its connection.
    keep_alive: bool = False
    connections: int = 0
    closed: int = 0  # connections the client closed (or the server, when not kept)
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if fake.keep_alive else "HTTP/1.0"
            # The headers and the body go out as written, as a real server's do: held back for
            # an acknowledgement, a kept connection would wait 40 ms on every answer.
            disable_nagle_algorithm = True

            def setup(self):
                super().setup()
                fake.connections += 1

            def finish(self):
                super().finish()
                fake.closed += 1

            def log_message(self, *args):  # keep test output quiet
                pass

            def _reply(self, status: int, payload: dict) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                # The client may have given up waiting (the timeout tests).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def _error(self, status: int, code: int | None, message: str) -> None:
                self._reply(
                    status,
                    {
                        "code": code,
                        "message": message,
                        "more_info": f"https://www.twilio.com/docs/errors/{code}",
                        "status": status,
                    },
                )

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                match = PATH.match(self.path)
                if not match:
                    return self._error(404, 20404, "The requested resource was not found")
                expected = (
                    "Basic "
                    + base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
                )
                if self.headers.get("Authorization") != expected:
                    return self._error(401, 20003, "Authenticate")
                if match["sid"] != fake.account_sid:
                    return self._error(404, 20404, "The requested resource was not found")
                kind = match["kind"]
                missing = [p for p in ("To", "From") if not form.get(p)]
                if kind == "Messages" and not form.get("Body"):
                    missing.append("Body")
                if kind == "Calls" and not (form.get("Twiml") or form.get("Url")):
                    missing.append("Twiml")
                if missing:
                    return self._error(400, 21604, f"Missing parameters: {', '.join(missing)}")
                if fake.delay:
                    time.sleep(fake.delay)
                if fake.failures:
                    failure = fake.failures.pop(0)
                    return self._error(failure.status, failure.code, failure.message)
                fake.received.append({"kind": kind, **form})
                prefix = "SM" if kind == "Messages" else "CA"
                return self._reply(
                    201,
                    {
                        "sid": prefix + uuid.uuid4().hex,
                        "account_sid": fake.account_sid,
                        "to": form["To"],
                        "from": form["From"],
                        "status": "queued",
                    },
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
