"""`make cluster`: the site as several hosts behind a load balancer, on one machine.

haproxy (Debian's package) on a loopback port in front of three web hosts, each a gunicorn bound
to its own loopback address (127.0.0.2, .3, .4) with its own environment; two RQ workers; one
PostgreSQL and one Redis, all started here and removed afterwards. haproxy checks each host's
/readyz every second and takes it out after two failures, so a host whose database or Redis is
gone stops getting requests within two seconds and comes back by itself after two good checks;
when no host is ready, haproxy answers with the site's "temporarily unavailable" page.

    .venv/bin/python scripts/cluster.py            # start, print the address, wait for Ctrl-C

The test (tests/cluster) and the sizing run (scripts/cluster_people.py) use `Cluster` as a
context manager; every process it starts is stopped on the way out, however it leaves.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
CHECK_INTERVAL_MS = 1000
CHECK_FALL = 2
CHECK_RISE = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def say(text: str) -> None:
    print(f"[cluster] {text}", file=sys.stderr, flush=True)


class Cluster:
    def __init__(self, workdir: Path | None = None, *, web_workers: int = 2, **env: str):
        # A folder of its own is removed on the way out; a given one (a test's) is kept.
        self.owned = workdir is None
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="sspr-cluster."))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.web_workers = web_workers
        self.extra_env = env
        self.pg_port = free_port()
        self.redis_port = free_port()
        self.web_port = free_port()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.pgbin = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1])
        # PostgreSQL's files in a folder of their own under /tmp: the server's user must reach
        # them, which it cannot inside a test's private folder. Always removed afterwards.
        self.pg_dir = Path(tempfile.mkdtemp(prefix="sspr-cluster-pg."))
        self.hosts: dict[str, subprocess.Popen] = {}
        self.workers: list[subprocess.Popen] = []
        self.redis: subprocess.Popen | None = None
        self.haproxy: subprocess.Popen | None = None
        self.phone_dir = self.dir / "phone"
        self.mail_dir = self.dir / "mail"

    # --- processes --------------------------------------------------------------------------

    def _as_pg(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command

    def _spawn(self, command: list[str], log: str, env: dict | None = None) -> subprocess.Popen:
        return subprocess.Popen(  # noqa: S603
            command,
            cwd=ROOT,
            env=env or self.env(),
            stdout=(self.dir / log).open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a host is its process group: killed as a whole
        )

    def env(self, host: str | None = None) -> dict:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "PYTEST", "SSPR_", "PROMETHEUS_"))
        }
        env.pop("COV_CORE_SOURCE", None)
        env.update(
            DJANGO_SECRET_KEY=self.secret,
            DJANGO_ALLOWED_HOSTS="localhost,127.0.0.1," + ",".join(HOSTS),
            DJANGO_BEHIND_PROXY="1",
            DJANGO_STATIC_ROOT=str(self.dir / "static"),
            DATABASE_URL=f"postgres://sspr@127.0.0.1:{self.pg_port}/sspr",
            DATABASE_CONN_MAX_AGE="60",
            REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            # haproxy connects from loopback; the networks the people come from are theirs.
            SSPR_TRUSTED_PROXIES="127.0.0.0/8",
            SSPR_METRICS_NETWORKS="127.0.0.0/8",
            SSPR_VAR_DIR=str(self.dir / "var"),
            SSPR_PHONE_BACKEND="file",
            SSPR_PHONE_FILE_PATH=str(self.phone_dir),
            SSPR_EMAIL_BACKEND="file",
            SSPR_EMAIL_FILE_PATH=str(self.mail_dir),
            SSPR_SITE_URL=f"http://localhost:{self.port}",
            SSPR_LOG_FORMAT="json",
            WEB_CONCURRENCY=str(self.web_workers),
        )
        env.update(self.extra_env)
        if host:
            metrics = self.dir / f"metrics-{host}"
            env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
        return env

    def start(self) -> Cluster:
        self.secret = secrets.token_urlsafe(50)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        say(f"working in {self.dir}")
        for folder in (self.phone_dir, self.mail_dir, self.dir / "var"):
            folder.mkdir(exist_ok=True)
        self._start_postgres(initialise=True)
        self.start_redis()
        manage = [str(BIN / "python"), "manage.py"]
        for step in (
            ["migrate", "--noinput", "-v", "0"],
            ["collectstatic", "--noinput", "-v", "0"],
        ):
            subprocess.run([*manage, *step], cwd=ROOT, env=self.env(), check=True)  # noqa: S603
        self._write_error_pages()
        for host in HOSTS:
            self.start_host(host)
        for number in (1, 2):
            self.workers.append(
                self._spawn(
                    [*manage, "rqworker", "--with-scheduler", "sspr"],
                    f"worker{number}.log",
                    self.env(HOSTS[number - 1]),
                )
            )
        self._start_haproxy()
        self.wait_until(lambda: self.server_states() == dict.fromkeys(self.names(), "UP"), 120)
        say(f"ready: {self.url}")

    def _start_postgres(self, *, initialise: bool = False) -> None:
        pgdata = self.pg_dir / "data"
        if initialise and os.geteuid() == 0:
            shutil.chown(self.pg_dir, "postgres")
        if initialise:
            subprocess.run(  # noqa: S603
                self._as_pg(
                    [
                        str(self.pgbin / "initdb"),
                        "-D",
                        str(pgdata),
                        "-U",
                        "sspr",
                        "-A",
                        "trust",
                        "-E",
                        "UTF8",
                        "--no-sync",
                    ]
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        options = (
            f"-p {self.pg_port} -k {self.pg_dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(  # noqa: S603
            self._as_pg(
                [str(self.pgbin / "pg_ctl"), "-D", str(pgdata), "-l", str(self.pg_dir / "pg.log")]
                + ["-w", "-o", options, "start"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        if initialise:
            subprocess.run(  # noqa: S603
                self._as_pg(
                    [str(self.pgbin / "createdb"), "-h", "127.0.0.1", "-p", str(self.pg_port)]
                    + ["-U", "sspr", "sspr"]
                ),
                check=True,
            )

    def stop_postgres(self, mode: str = "fast") -> None:
        subprocess.run(  # noqa: S603
            self._as_pg(
                [
                    str(self.pgbin / "pg_ctl"),
                    "-D",
                    str(self.pg_dir / "data"),
                    "-m",
                    mode,
                    "-w",
                    "stop",
                ]
            ),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def restart_postgres(self, down_seconds: float = 0) -> None:
        self.stop_postgres("fast")
        time.sleep(down_seconds)
        self._start_postgres()

    def start_redis(self) -> None:
        # Appended to a file and read back at start, as a production Redis keeps its data.
        self.redis = self._spawn(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                "--appendonly",
                "yes",
                "--save",
                "",
            ],
            "redis.log",
        )
        self.wait_until(self._redis_answers, 20)

    def _redis_answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop_redis(self) -> None:
        if self.redis and self.redis.poll() is None:
            self.redis.terminate()  # SIGTERM: Redis writes its data and stops
            self.redis.wait(20)

    def start_host(self, host: str) -> None:
        # Kept across a restart: the counts of the processes that died still count.
        (self.dir / f"metrics-{host}").mkdir(exist_ok=True)
        self.hosts[host] = self._spawn(
            [
                str(BIN / "gunicorn"),
                "-c",
                "sspr_site/gunicorn.conf.py",
                "--bind",
                f"{host}:{self.web_port}",
                "--workers",
                str(self.web_workers),
                "--timeout",
                "60",
                "--no-control-socket",  # one per host, not one shared path for all three
            ],
            f"web-{host}.log",
            self.env(host),
        )

    def kill_host(self, host: str) -> None:
        """The host dies at once: SIGKILL to gunicorn and every worker of it."""
        process = self.hosts[host]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def names(self) -> list[str]:
        return [f"web{n}" for n in range(1, len(HOSTS) + 1)]

    def _write_error_pages(self) -> None:
        page = subprocess.run(  # noqa: S603
            [
                str(BIN / "python"),
                "-c",
                "import django; django.setup(); from sspr_site.outage import unavailable_page;"
                " print(unavailable_page())",
            ],
            cwd=ROOT,
            env={**self.env(), "DJANGO_SETTINGS_MODULE": "sspr_site.settings"},
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for status, reason in (
            (502, "Bad Gateway"),
            (503, "Service Unavailable"),
            (504, "Gateway Timeout"),
        ):
            body = page.encode()
            head = (
                f"HTTP/1.0 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
                f"Cache-Control: no-store\r\nRetry-After: 30\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            )
            (self.dir / f"{status}.http").write_bytes(head.encode() + body)

    def haproxy_config(self) -> str:
        servers = "\n".join(
            f"    server {name} {host}:{self.web_port} check"
            for name, host in zip(self.names(), HOSTS, strict=True)
        )
        errors = "\n".join(f"    errorfile {s} {self.dir}/{s}.http" for s in (502, 503, 504))
        return f"""global
    maxconn 1024
    stats socket {self.dir}/haproxy.sock mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 90s
    timeout server 90s
    timeout check 2s
    retries 2
    option redispatch
{errors}

frontend site
    bind 127.0.0.1:{self.port}
    option forwardfor
    # Stands in for TLS ending here: the hosts see https, as behind a real balancer.
    http-request set-header X-Forwarded-Proto https
    default_backend hosts

backend hosts
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter {CHECK_INTERVAL_MS}ms fall {CHECK_FALL} rise {CHECK_RISE}
    http-response set-header X-Served-By %[srv_name]
{servers}
"""

    def _start_haproxy(self) -> None:
        config = self.dir / "haproxy.cfg"
        config.write_text(self.haproxy_config())
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        self.haproxy = self._spawn([binary, "-db", "-f", str(config)], "haproxy.log")

    def server_states(self) -> dict[str, str]:
        """Each host's state as haproxy sees it: UP, DOWN (or a transition, e.g. "UP 1/2")."""
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(2)
                s.connect(str(self.dir / "haproxy.sock"))
                s.sendall(b"show stat\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
        except OSError:
            return {}
        lines = data.decode().splitlines()
        if not lines:
            return {}
        header = lines[0].lstrip("# ").split(",")
        states = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == "hosts" and row.get("svname", "").startswith("web"):
                states[row["svname"]] = row["status"]
        return states

    def wait_until(self, condition, seconds: float) -> float:
        """Seconds until `condition()` held; raises TimeoutError after `seconds`."""
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            if condition():
                return time.monotonic() - started
            time.sleep(0.1)
        raise TimeoutError(f"not within {seconds} s: {getattr(condition, '__name__', '')}")

    def readyz(self, host: str) -> int:
        try:
            with urllib.request.urlopen(  # noqa: S310
                f"http://{host}:{self.web_port}/readyz", timeout=3
            ) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0

    def stop(self) -> None:
        for process in [self.haproxy, *self.hosts.values(), *self.workers, self.redis]:
            if process is None or process.poll() is not None:
                continue
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
        self.stop_postgres("immediate")
        shutil.rmtree(self.pg_dir, ignore_errors=True)
        if self.owned:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main() -> None:
    cluster = Cluster()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with cluster:
        # Demo accounts to try it with (a throw-away cluster: their known passwords go with it).
        subprocess.run(  # noqa: S603
            [
                str(BIN / "python"),
                "manage.py",
                "seed_demo",
                "--force",
                "--address",
                f"http://localhost:{cluster.port}",
            ],
            cwd=ROOT,
            env=cluster.env(),
            check=False,
        )
        print(f"The balancer: {cluster.url} (open http://localhost:{cluster.port}/ssprsetup/)")
        print(
            f"Hosts: {', '.join(f'{h}:{cluster.web_port}' for h in HOSTS)}; logs in {cluster.dir}"
        )
        print(f"Codes are written to {cluster.phone_dir} and {cluster.mail_dir}. Ctrl-C stops.")
        try:
            while True:
                time.sleep(5)
                states = cluster.server_states()
                if any(state != "UP" for state in states.values()):
                    say(f"hosts: {states}")
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
