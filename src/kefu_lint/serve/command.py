"""``kefu-lint serve``: options checked (before anything loads), then uvicorn."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Sequence

from ..config import Settings
from ..errors import ConfigError
from .options import OPTIONS_VARIABLE, ServiceOptions, is_loopback, parse_ruleset_option


def require_extra() -> None:
    missing = [name for name in ("starlette", "uvicorn") if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(f"kefu-lint serve 需要 serve 扩展（缺少 {', '.join(missing)}）：pip install 'kefu-lint[serve]'")


def _require_free_port(host: str, port: int) -> None:
    """Refuse a port another process holds, with the project's error (uvicorn would log the
    bind error and exit 3, after loading every ruleset)."""
    import socket

    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind((host.strip("[]"), port))
    except OSError as error:
        raise ConfigError(f"无法监听 {host}:{port}：{error.strerror or error}（端口已被占用时请换一个 --port）"
                          f" (cannot listen on {host}:{port})") from None


def run_service(settings: Settings, *, host: str, port: int, rulesets: Sequence[str], tokenizer: str | None, token: str | None,
                allow_anonymous: bool, cors_origins: Sequence[str], max_body_bytes: int, max_batch: int,
                max_text_chars: int, workers: int) -> None:
    require_extra()
    if not is_loopback(host) and not token and not allow_anonymous:
        raise ConfigError(f"绑定到 {host} 会让其他机器访问本服务：请用 --token（或环境变量 KEFU_LINT_TOKEN）设置 API 令牌，"
                          f"或明确加上 --allow-anonymous。(binding beyond loopback needs --token or --allow-anonymous)")
    served = tuple(parse_ruleset_option(value) for value in rulesets) or (("default", settings.ruleset),)
    options = ServiceOptions(
        rulesets=served, select=settings.selection, ignore=settings.ignore, shop_numbers=settings.shop_numbers,
        tokenizer=tokenizer or settings.tokenizer, token=token or None, cors_origins=tuple(cors_origins),
        max_body_bytes=max_body_bytes, max_batch=max_batch, max_text_chars=max_text_chars, host=host, port=port, workers=workers,
    )
    _require_free_port(host, port)
    import uvicorn

    from .app import create_app

    if workers == 1:
        app = create_app(options)  # a broken ruleset stops here, before the port is taken
        names = ", ".join(f"{name}={source}" for name, source in served)
        print(f"kefu-lint serve: http://{host}:{port}  rulesets {names}  (OpenAPI: /openapi.json)", file=sys.stderr, flush=True)
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
        return
    create_app(options)  # check every ruleset once before the workers start
    os.environ[OPTIONS_VARIABLE] = options.to_json()
    print(f"kefu-lint serve: http://{host}:{port}  {workers} workers", file=sys.stderr, flush=True)
    uvicorn.run("kefu_lint.serve.app:app_from_environment", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False)
