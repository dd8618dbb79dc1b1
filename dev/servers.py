"""Real servers on loopback for the tests and the benchmarks: PostgreSQL 15, MariaDB, and moto's
S3 server.

Each starts on a free port in a fresh temporary folder and is stopped when its ``with`` block
ends. A server whose binaries are missing raises :class:`ServerUnavailable` before anything
starts (the tests turn it into a skip, or a failure when CI=true: tests/support/servers.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

PG_PASSWORD = "pg-Secret-4711"
MYSQL_PASSWORD = "my-Secret-4711"


class ServerUnavailable(RuntimeError):
    """A server's binaries are not installed on this machine."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, seconds: float, what: str, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.5),
        ):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port} within {seconds}s")


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if IS_ROOT else cmd


@dataclass(frozen=True)
class TlsFiles:
    """A test CA, a server certificate it signed (for 127.0.0.1 and localhost), and another
    CA that did not sign it; PEM files made with openssl."""

    ca: Path
    cert: Path
    key: Path
    other_ca: Path


def make_tls_files(folder: Path) -> TlsFiles:
    if not shutil.which("openssl"):
        raise ServerUnavailable("openssl is not installed (apt-get install openssl)")
    folder.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    for name in ("ca", "other-ca"):
        openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3", "-subj",
            f"/CN=nps-test-{name}", "-keyout", f"{name}.key", "-out", f"{name}.pem",
        )  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr",
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "3", "-extfile", "san.ext", "-out", "server.pem",
    )  # fmt: skip
    return TlsFiles(
        folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "other-ca.pem"
    )


@dataclass(frozen=True)
class Postgres:
    port: int
    user: str = "nps"
    password: str = PG_PASSWORD
    database: str = "nps"

    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def env(self, schema: str) -> dict[str, str]:
        return {
            "NPS_PG_HOST": "127.0.0.1",
            "NPS_PG_PORT": str(self.port),
            "NPS_PG_USER": self.user,
            "NPS_PG_PASSWORD": self.password,
            "NPS_PG_DATABASE": self.database,
            "NPS_PG_SCHEMA": schema,
        }


@contextlib.contextmanager
def postgres_server(tls: TlsFiles | None = None) -> Iterator[Postgres]:
    """With ``tls``: ``ssl=on`` and only ``hostssl`` connections accepted over TCP."""
    if not (PG_BIN / "initdb").exists():
        raise ServerUnavailable(f"PostgreSQL 15 is not installed ({PG_BIN}/initdb missing)")
    datadir = Path(tempfile.mkdtemp(prefix="nps-pg-"))
    port = free_port()
    pwfile = datadir / "pw"
    pwfile.write_text(PG_PASSWORD + "\n")
    if IS_ROOT:
        shutil.chown(datadir, "postgres", "postgres")
        shutil.chown(pwfile, "postgres", "postgres")
    data = datadir / "data"
    subprocess.run(
        _as_postgres(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                "nps",
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {datadir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if tls is not None:
        for name, path in (("server.pem", tls.cert), ("server.key", tls.key)):
            shutil.copy(path, datadir / name)
            (datadir / name).chmod(0o600)
            if IS_ROOT:
                shutil.chown(datadir / name, "postgres", "postgres")
        options += (
            f" -c ssl=on -c ssl_cert_file={datadir / 'server.pem'}"
            f" -c ssl_key_file={datadir / 'server.key'}"
        )
        (data / "pg_hba.conf").write_text(
            "local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\n"
        )
    subprocess.run(
        _as_postgres(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(datadir / "log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        env = {**os.environ, "PGPASSWORD": PG_PASSWORD}
        subprocess.run(
            [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "nps", "nps"],
            check=True,
            env=env,
            capture_output=True,
        )
        yield Postgres(port)
    finally:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(datadir, ignore_errors=True)


@dataclass(frozen=True)
class MariaDB:
    port: int
    socket: str
    database: str = "prod"
    user: str = "nps_reader"
    password: str = MYSQL_PASSWORD

    def url(self, with_password: bool = False) -> str:
        secret = f":{self.password}" if with_password else ""
        return f"mysql://{self.user}{secret}@127.0.0.1:{self.port}/{self.database}"

    def admin(self):  # type: ignore[no-untyped-def]
        import pymysql

        return pymysql.connect(
            unix_socket=self.socket, user="root", database=self.database, autocommit=True
        )


@contextlib.contextmanager
def mariadb_server(tls: TlsFiles | None = None) -> Iterator[MariaDB]:
    """With ``tls``: the server offers TLS, and the reader account requires it."""
    install_db = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    server = shutil.which("mariadbd") or (
        Path("/usr/sbin/mariadbd").exists() and "/usr/sbin/mariadbd"
    )
    if not install_db or not server:
        raise ServerUnavailable("MariaDB is not installed (apt-get install mariadb-server)")
    datadir = Path(tempfile.mkdtemp(prefix="nps-mariadb-"))
    port = free_port()
    sock = str(datadir / "mysqld.sock")
    user = ["--user=root"] if IS_ROOT else []
    subprocess.run(
        [
            install_db,
            "--no-defaults",
            f"--datadir={datadir / 'data'}",
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
            *user,
        ],
        check=True,
        capture_output=True,
    )
    proc = subprocess.Popen(
        [
            str(server),
            "--no-defaults",
            f"--datadir={datadir / 'data'}",
            f"--socket={sock}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            "--skip-log-bin",
            "--innodb-flush-log-at-trx-commit=0",
            f"--pid-file={datadir / 'mysqld.pid'}",
            *user,
            *(
                [f"--ssl-ca={tls.ca}", f"--ssl-cert={tls.cert}", f"--ssl-key={tls.key}"]
                if tls is not None
                else []
            ),
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(datadir / "error.log", "wb"),  # noqa: SIM115
    )
    try:
        wait_for_port(port, 60, "mariadbd", proc)
        server_info = MariaDB(port, sock)
        import pymysql

        conn = pymysql.connect(unix_socket=sock, user="root", autocommit=True)
        with conn.cursor() as cur:
            cur.execute("create database prod")
            cur.execute(
                f"create user 'nps_reader'@'%' identified by '{MYSQL_PASSWORD}'"
                + (" require ssl" if tls is not None else "")
            )
            cur.execute("grant select on prod.* to 'nps_reader'@'%'")
        conn.close()
        yield server_info
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(datadir, ignore_errors=True)


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing-Secret-4711",
            "AWS_DEFAULT_REGION": "us-east-1",
        }


@contextlib.contextmanager
def s3_server(enforce_auth: bool = False) -> Iterator[S3Server]:
    """moto's S3 server; with ``enforce_auth`` it checks credentials like AWS (and refuses ours)."""
    moto = Path(sys.executable).with_name("moto_server")
    if not moto.exists():
        raise ServerUnavailable("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"} if enforce_auth else None
    proc = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_for_port(port, 30, "moto_server", proc)
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        proc.wait(10)
