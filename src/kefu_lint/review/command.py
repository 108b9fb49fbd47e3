"""What ``kefu-lint review`` does, apart from parsing its options (cli.py)."""

from __future__ import annotations

import ipaddress
import secrets
import socket
from pathlib import Path

from .data import ROLES, ReviewError, ReviewStore

LOOPBACK = "127.0.0.1"


def database_of(target: Path) -> Path:
    """An audit's --out folder (its audit.db) or the database file itself."""
    database = target / "audit.db" if target.is_dir() else target
    if not database.is_file():
        raise ReviewError(f"{target}: no audit database here (run `kefu-lint audit LOG --out {target}` first)")
    return database


def add_users(database: Path, specs: tuple[str, ...]) -> list[str]:
    """``--user 小李:auditor``: add (or change the role of) local users; returns what was done."""
    store = ReviewStore(database)
    try:
        store.prepare()
        done = []
        for spec in specs:
            name, _, role = spec.rpartition(":")
            if not name or role not in ROLES:
                raise ReviewError(f"--user {spec!r}: give NAME:ROLE, the role one of {', '.join(ROLES)}")
            store.add_user(name, role, "kefu-lint review --user")
            done.append(f"{name}: {role}")
        return done
    finally:
        store.close()


def check_binding(host: str, token: str | None) -> str | None:
    """Loopback needs nothing; any other address needs a token (one is made when asked with
    ``--token auto``). Returns the token to require, or None."""
    if token == "auto":
        token = secrets.token_urlsafe(18)
    if _is_loopback(host):
        return token
    if not token:
        raise ReviewError(f"--host {host}: the workbench shows customers' chats; bind to another address than"
                          " 127.0.0.1 only with --token TOKEN (or --token auto)")
    if len(token) < 12:
        raise ReviewError("--token: use at least 12 characters (or --token auto)")
    return token


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def serve(database: Path, host: str, port: int, token: str | None, language: str, echo) -> None:
    import uvicorn

    from .app import create_app

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ReviewError(f"cannot listen on {host}:{port}: {error.strerror or error} (try another --port)") from None
    app = create_app(database, token=token, language=language)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    echo(f"质检工作台 kefu-lint review: {url}  ({database}; Ctrl-C 退出)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
