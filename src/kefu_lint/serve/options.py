"""What a service serves and the limits it keeps: a frozen value, passed to every uvicorn
worker as JSON (a worker process builds its own application from it)."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import asdict, dataclass, field

from ..errors import ConfigError

#: The environment variable the API token may come from (rather than a command line, which
#: other users of the machine can read in the process list).
TOKEN_VARIABLE = "KEFU_LINT_TOKEN"
#: The environment variable a worker process reads its options from.
OPTIONS_VARIABLE = "KEFU_LINT_SERVE_OPTIONS"


@dataclass(frozen=True)
class ServiceOptions:
    #: Served rulesets, name → a shipped ruleset's name or a YAML file; the first is the default.
    rulesets: tuple[tuple[str, str], ...] = (("default", "default"),)
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    shop_numbers: tuple[str, ...] = ()
    tokenizer: str = "auto"
    #: Requests other than the health check must carry it (``Authorization: Bearer …``).
    token: str | None = None
    #: Origins a browser may call from (``*`` for any); none: no CORS headers at all.
    cors_origins: tuple[str, ...] = ()
    #: Largest request body accepted (bytes), longest reply (characters), longest batch.
    max_body_bytes: int = 1_000_000
    max_text_chars: int = 20_000
    max_batch: int = 1_000
    max_messages: int = 2_000
    host: str = "127.0.0.1"
    port: int = 8081
    workers: int = field(default=1)

    def __post_init__(self) -> None:
        if not self.rulesets:
            raise ConfigError("至少要提供一个规则集（at least one ruleset is needed）")
        names = [name for name, _ in self.rulesets]
        duplicate = next((name for name in names if names.count(name) > 1), None)
        if duplicate:
            raise ConfigError(f"规则集名称「{duplicate}」重复了（ruleset name {duplicate!r} given twice）")
        for name, limit in (("max-body-bytes", self.max_body_bytes), ("max-text-chars", self.max_text_chars),
                            ("max-batch", self.max_batch), ("workers", self.workers)):
            if limit < 1:
                raise ConfigError(f"--{name} 应为正整数，而不是 {limit}")

    @property
    def default_ruleset(self) -> str:
        return self.rulesets[0][0]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "ServiceOptions":
        data = json.loads(text)
        data["rulesets"] = tuple(tuple(pair) for pair in data["rulesets"])
        for key in ("ignore", "shop_numbers", "cors_origins"):
            data[key] = tuple(data[key])
        data["select"] = tuple(data["select"]) if data["select"] is not None else None
        return cls(**data)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to any interface


def parse_ruleset_option(value: str) -> tuple[str, str]:
    """``--ruleset NAME=SOURCE`` (or just ``SOURCE``, named after itself)."""
    name, equals, source = value.partition("=")
    if not equals:
        source = value
        name = value.rsplit("/", 1)[-1].removesuffix(".yaml").removesuffix(".yml")
    name, source = name.strip(), source.strip()
    if not name or not source or not all(c.isalnum() or c in "-_." for c in name):
        raise ConfigError(f"--ruleset「{value}」应写作 名称=规则集，例如 shop-a=rules/shop-a.yaml（名称只用字母、数字、- _ .）")
    return name, source
