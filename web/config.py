"""One typed, validated configuration object, built from command-line flags and ``GIAOBAN_*`` variables.

Precedence: a flag given on the command line, then the environment, then the default. Every setting is listed in
``SETTINGS`` with its environment name and parser, so docs/configuration.md and the CLI cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scheduler.directory.units import EMAIL_PATTERN
from scheduler.store.embedded import APPENDFSYNC_POLICIES


class ConfigError(ValueError):
    """One setting is wrong; the message names it and says what is expected."""


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("var")
    redis_url: str | None = None
    appendfsync: str = "everysec"
    public_url: str = ""  # defaults to http://host:port; join links and secure cookies follow it
    demo: bool = False
    default_language: str = "vi"
    session_hours: int = 12
    login_failures_allowed: int = 5
    login_failure_window_seconds: int = 900
    log_level: str = "INFO"
    log_format: str = "text"  # or json, one object a line, for log collectors
    access_log: bool = False  # a line per HTTP request (aiohttp's); off: only what matters is logged
    smtp_host: str = ""  # no SMTP host: mail waits in the outbox, shown as queued
    smtp_port: int = 25
    smtp_from: str = "giaoban@localhost"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    reminder_minutes: int = 15
    travel_road_factor: float = 1.4
    travel_vnd_per_km: int = 4000
    travel_average_kmh: float = 35.0
    mail_retry_seconds: int = 30  # the first retry after an SMTP failure; each next one waits twice as long
    # Reverse proxies whose X-Forwarded-For/-Proto we believe; nobody else may claim another address.
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    # STUN/TURN for media, given to browsers and the relay alike; none: direct connections only (a LAN, loopback).
    ice_urls: tuple[str, ...] = ()
    turn_username: str = ""
    turn_password: str = ""
    turn_secret: str = ""  # a TURN server's shared secret: browsers get time-limited credentials instead
    recordings_dir: Path | None = None  # default: <data_dir>/recordings
    recording_retention_days: int = 365
    recording_min_free_mb: int = 2048  # refuse to record below this; stop a recording below half of it
    # HTTPS without a proxy (browsers give the camera only to https:// pages or loopback): a certificate and its
    # key, or one made once in <data_dir>/tls for a LAN trial.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    self_signed: bool = False
    # The cluster (docs/scaling.md): worker processes on this machine, each a node (0: one per core the process may
    # run on); its id (set by the --workers parent so it can take a dead worker out at once; made up otherwise); the
    # UDP ports media may use.
    workers: int = 0
    link_start_kbps: int = 700  # what a new line is taken to carry until it shows more (a LAN may start higher)
    node_id: str = ""
    media_ports: tuple[int, int] | None = None
    # District cascade (docs/scaling.md): this server's communes join its province's meetings through it, over
    # one node link to the province's server; both are given the same secret, which signs the link.
    upstream_url: str = ""
    cluster_secret: str = ""

    def warnings(self) -> list[str]:
        """What the operator should know of these settings, said once when the service starts."""
        if not self.smtp_host:
            return ["no mail server (GIAOBAN_SMTP_HOST): invitations are not e-mailed; hosts copy the links instead"]
        return []

    @property
    def worker_count(self) -> int:
        """How many worker processes ``serve`` runs: as asked, or one per core this process may use (a container's
        CPU set, not the host's)."""
        return self.workers or max(1, len(os.sched_getaffinity(0)))

    @property
    def recordings_path(self) -> Path:
        return self.recordings_dir or self.data_dir / "recordings"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def tls(self) -> bool:
        return self.self_signed or self.tls_cert is not None

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


# --- parsers: each turns a raw string into a value or raises ConfigError with what is expected --------------


def _between(kind: Callable[[str], Any], low: float, high: float) -> Callable[[str], Any]:
    """A parser for ``int`` or ``float`` values within bounds."""
    what = "a whole number" if kind is int else "a number"

    def parse(raw: str) -> Any:
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"must be {what} from {low} to {high}, not {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"must be {what} from {low} to {high}, not {value}")
        return value

    return parse


def _int_between(low: int, high: int) -> Callable[[str], int]:
    return _between(int, low, high)


def _number_between(low: float, high: float) -> Callable[[str], float]:
    return _between(float, low, high)


def _ice_urls(value: str) -> tuple[str, ...]:
    urls = tuple(part.strip() for part in value.split(",") if part.strip())
    for url in urls:
        if not url.startswith(("stun:", "turn:", "turns:")):
            raise ConfigError(f"{url!r} is not a stun:, turn: or turns: URL")
    return urls


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in choices:
            raise ConfigError(f"must be one of {', '.join(choices)}, not {raw!r}")
        return raw

    return parse


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"must be true or false, not {raw!r}")


def _host(raw: str) -> str:
    if raw in ("localhost", "0.0.0.0", "::"):
        return raw
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        raise ConfigError(f"must be an IP address to listen on, not {raw!r}") from None


def _redis_url(raw: str) -> str | None:
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.hostname or parts.path):
        raise ConfigError(f"must look like redis://host:6379/0 or unix:///path/to.sock, not {raw!r}")
    return raw


def _public_url(raw: str) -> str:
    parts = urlsplit(raw)
    if raw and (parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment):
        raise ConfigError(f"must be an http(s) address such as https://giaoban.laocai.gov.vn, not {raw!r}")
    return raw


def _networks(raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return tuple(ipaddress.ip_network(part.strip()) for part in raw.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"must be addresses or networks separated by commas (e.g. 172.30.0.2), not {raw!r}") from None


def _email(raw: str) -> str:
    if not EMAIL_PATTERN.match(raw.strip()) and not raw.strip().endswith("@localhost"):
        raise ConfigError(f"must be an e-mail address, not {raw!r}")
    return raw.strip()


def _secret(raw: str) -> str:
    if raw and len(raw) < 16:
        raise ConfigError("must be at least 16 characters (e.g. the output of: openssl rand -hex 24)")
    return raw


def _port_range(raw: str) -> tuple[int, int] | None:
    if not raw.strip():
        return None
    low, _, high = raw.strip().partition("-")
    try:
        first, last = int(low), int(high or low)
    except ValueError:
        raise ConfigError(f"must be a range of UDP ports such as 49160-49400, not {raw!r}") from None
    if not 1024 <= first <= last <= 65535 or last - first < 15:
        raise ConfigError(f"must be at least 16 ports from 1024 to 65535 (e.g. 49160-49400), not {raw!r}")
    return first, last


def _path(raw: str) -> Path:
    if not raw.strip():
        raise ConfigError("must not be empty")
    return Path(raw)


@dataclass(frozen=True)
class Setting:
    field: str
    env: tuple[str, ...]
    parse: Callable[[str], Any]
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.field.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting("host", ("GIAOBAN_HOST",), _host, "address to listen on"),
    Setting("port", ("GIAOBAN_PORT",), _int_between(1, 65535), "port to listen on"),
    Setting("data_dir", ("GIAOBAN_DATA_DIR",), _path, "where the embedded store and keys live"),
    Setting("redis_url", ("GIAOBAN_REDIS_URL", "REDIS_URL"), _redis_url, "external Redis; embedded if unset"),
    Setting("appendfsync", ("GIAOBAN_APPENDFSYNC",), _one_of(*APPENDFSYNC_POLICIES), "embedded fsync policy"),
    Setting("public_url", ("GIAOBAN_PUBLIC_URL",), _public_url, "address users reach, for links"),
    Setting("demo", ("GIAOBAN_DEMO",), _bool, "load the demo province into an empty store"),
    Setting("default_language", ("GIAOBAN_LANGUAGE",), _one_of("vi", "en"), "default interface language"),
    Setting("session_hours", ("GIAOBAN_SESSION_HOURS",), _int_between(1, 24 * 30), "sign-in lifetime"),
    Setting("login_failures_allowed", ("GIAOBAN_LOGIN_FAILURES",), _int_between(1, 100),
            "failed sign-ins before a pause"),
    Setting("login_failure_window_seconds", ("GIAOBAN_LOGIN_WINDOW",), _int_between(10, 86400),
            "how long failed sign-ins count"),
    Setting("log_level", ("GIAOBAN_LOG_LEVEL",), _one_of("DEBUG", "INFO", "WARNING", "ERROR"), "log detail"),
    Setting("log_format", ("GIAOBAN_LOG_FORMAT",), _one_of("text", "json"), "log lines as text or JSON"),
    Setting("access_log", ("GIAOBAN_ACCESS_LOG",), _bool, "log every HTTP request"),
    Setting("smtp_host", ("GIAOBAN_SMTP_HOST",), str, "SMTP server for invitations; none: mail waits"),
    Setting("smtp_port", ("GIAOBAN_SMTP_PORT",), _int_between(1, 65535), "SMTP port"),
    Setting("smtp_from", ("GIAOBAN_SMTP_FROM",), _email, "sender address of invitations"),
    Setting("smtp_user", ("GIAOBAN_SMTP_USER",), str, "SMTP user name, if the server asks"),
    Setting("smtp_password", ("GIAOBAN_SMTP_PASSWORD",), str, "SMTP password"),
    Setting("smtp_starttls", ("GIAOBAN_SMTP_STARTTLS",), _bool, "use STARTTLS"),
    Setting("reminder_minutes", ("GIAOBAN_REMINDER_MINUTES",), _int_between(1, 1440),
            "minutes before the start to send reminders"),
    Setting("travel_road_factor", ("GIAOBAN_TRAVEL_ROAD_FACTOR",), _number_between(1.0, 3.0),
            "road km per straight-line km, for travel saved"),
    Setting("travel_vnd_per_km", ("GIAOBAN_TRAVEL_VND_PER_KM",), _int_between(0, 1_000_000),
            "travel cost per km in VND"),
    Setting("travel_average_kmh", ("GIAOBAN_TRAVEL_KMH",), _number_between(5.0, 120.0),
            "average road speed, for hours saved"),
    Setting("mail_retry_seconds", ("GIAOBAN_MAIL_RETRY_SECONDS",), _int_between(1, 3600),
            "first retry after an SMTP failure (then doubling)"),
    Setting("ice_urls", ("GIAOBAN_ICE_URLS",), _ice_urls, "STUN/TURN URLs for media, comma-separated"),
    Setting("turn_username", ("GIAOBAN_TURN_USERNAME",), str, "TURN user name"),
    Setting("turn_password", ("GIAOBAN_TURN_PASSWORD",), str, "TURN password"),
    Setting("turn_secret", ("GIAOBAN_TURN_SECRET",), str,
            "TURN shared secret (coturn use-auth-secret): time-limited credentials instead of user and password"),
    Setting("recordings_dir", ("GIAOBAN_RECORDINGS_DIR",), _path, "where recordings go (default: data dir/recordings)"),
    Setting("recording_retention_days", ("GIAOBAN_RECORDING_RETENTION_DAYS",), _int_between(1, 36500),
            "delete recordings this many days old"),
    Setting("recording_min_free_mb", ("GIAOBAN_RECORDING_MIN_FREE_MB",), _int_between(0, 10_000_000),
            "free disk (MB) needed to start recording"),
    Setting("trusted_proxies", ("GIAOBAN_TRUSTED_PROXIES",), _networks,
            "proxies whose X-Forwarded-For/-Proto are believed"),
    Setting("tls_cert", ("GIAOBAN_TLS_CERT",), _path, "HTTPS certificate (PEM, with its chain)"),
    Setting("tls_key", ("GIAOBAN_TLS_KEY",), _path, "the certificate's private key (PEM)"),
    Setting("self_signed", ("GIAOBAN_SELF_SIGNED",), _bool,
            "HTTPS with a certificate made once in the data dir (a LAN trial); its fingerprint is printed"),
    Setting("workers", ("GIAOBAN_WORKERS",), _int_between(0, 256),
            "worker processes sharing the port, each a node of the cluster (0: one per core)"),
    Setting("node_id", ("GIAOBAN_NODE_ID",), str, "this node's id in the cluster (default: host-pid-random)"),
    Setting("media_ports", ("GIAOBAN_MEDIA_PORTS",), _port_range, "UDP ports for media, e.g. 49160-49400"),
    Setting("link_start_kbps", ("GIAOBAN_LINK_START_KBPS",), _int_between(100, 10_000),
            "kbit/s a new line is taken to carry until probes show more (a LAN may start higher)"),
    Setting("upstream_url", ("GIAOBAN_UPSTREAM_URL",), _public_url,
            "the province's server, for a district server whose communes join its meetings through this one"),
    Setting("cluster_secret", ("GIAOBAN_CLUSTER_SECRET",), _secret,
            "shared secret that signs the links between servers (the same on the province's and each district's)"),
)  # fmt: skip


def build_config(flags: Mapping[str, Any], env: Mapping[str, str]) -> Config:
    """Flags are already typed by argparse or absent (None); environment values are strings to parse."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if flags.get(setting.field) is not None:
            raw, source = flags[setting.field], setting.flag
        else:
            found = next(((name, env[name]) for name in setting.env if name in env), None)
            if found is None:
                continue
            source, raw = found
        try:
            values[setting.field] = setting.parse(raw) if isinstance(raw, str) else raw
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    config = dataclasses.replace(Config(), **values)
    _check_tls(config)
    if config.upstream_url and not config.cluster_secret:
        raise ConfigError("--upstream-url: give --cluster-secret (GIAOBAN_CLUSTER_SECRET) too, the same as upstream's")
    return config


def _check_tls(config: Config) -> None:
    if (config.tls_cert is None) != (config.tls_key is None):
        raise ConfigError("--tls-cert and --tls-key: give both, the certificate and its key")
    if config.self_signed and config.tls_cert is not None:
        raise ConfigError("--self-signed: not with --tls-cert (use one or the other)")


def settings_markdown() -> str:
    """The table in docs/configuration.md (regenerate it with ``python -m web.config``)."""
    defaults = Config()
    rows = ["| flag | environment | default | meaning |", "|---|---|---|---|"]
    for setting in SETTINGS:
        value = getattr(defaults, setting.field)
        shown = "" if value in (None, (), "") else ("off" if value is False else f"`{value}`")
        rows.append(f"| `{setting.flag}` | {', '.join(f'`{e}`' for e in setting.env)} | {shown} | {setting.help} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(settings_markdown(), end="")
