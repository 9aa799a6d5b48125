from __future__ import annotations

from pathlib import Path

import pytest

from web.config import Config, ConfigError, build_config
from web.preload import runs_workers


def test_defaults_then_environment_then_flags() -> None:
    assert build_config({}, {}) == Config()
    env = {"GIAOBAN_PORT": "9000", "REDIS_URL": "redis://cache:6379/0", "GIAOBAN_DEMO": "yes"}
    from_env = build_config({}, env)
    assert (from_env.port, from_env.redis_url, from_env.demo) == (9000, "redis://cache:6379/0", True)
    from_flags = build_config({"port": "9100", "data_dir": "/srv/giaoban"}, env)
    assert (from_flags.port, from_flags.data_dir) == (9100, Path("/srv/giaoban"))


def test_giaoban_redis_url_wins_over_plain_redis_url() -> None:
    config = build_config({}, {"REDIS_URL": "redis://a:6379", "GIAOBAN_REDIS_URL": "redis://b:6379"})
    assert config.redis_url == "redis://b:6379"


@pytest.mark.parametrize(
    ("flags", "env", "names"),
    [
        ({"port": "70000"}, {}, "--port"),
        ({}, {"GIAOBAN_PORT": "eighty"}, "GIAOBAN_PORT"),
        ({"redis_url": "http://x"}, {}, "--redis-url"),
        ({"appendfsync": "sometimes"}, {}, "--appendfsync"),
        ({"host": "not a host"}, {}, "--host"),
        ({}, {"GIAOBAN_DEMO": "maybe"}, "GIAOBAN_DEMO"),
        ({"public_url": "ftp://x"}, {}, "--public-url"),
    ],
)
def test_a_wrong_value_names_the_setting_and_what_is_expected(flags: dict, env: dict, names: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_config(flags, env)
    assert str(caught.value).startswith(f"{names}: must ")


def test_public_url_sets_links_and_secure_cookies() -> None:
    assert Config(port=8081).base_url == "http://127.0.0.1:8081"
    public = Config(public_url="https://giaoban.laocai.example/")
    assert public.base_url == "https://giaoban.laocai.example" and public.secure_cookies


def test_every_setting_is_documented() -> None:
    from web.config import settings_markdown

    documented = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert settings_markdown() in documented, "regenerate the table with: python -m web.config"


def test_the_console_script_preloads_workers_only_for_a_serve_that_runs_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GIAOBAN_WORKERS", raising=False)
    monkeypatch.delenv("GIAOBAN_WORKER_OF", raising=False)
    assert runs_workers(["serve", "--workers", "2"]) and runs_workers(["serve", "--workers=3", "--demo"])
    assert not runs_workers(["serve", "--workers", "1"]) and not runs_workers(["serve", "--workers", "2", "--help"])
    assert not runs_workers(["nodes", "--workers", "2"]) and not runs_workers(["serve", "--workers", "many"])
    assert not runs_workers(["serve", "--workers"])  # serve itself says what is missing
    monkeypatch.setenv("GIAOBAN_WORKERS", "1")
    assert not runs_workers(["serve"]) and runs_workers(["serve", "--workers", "2"])  # the flag over the environment
    monkeypatch.setenv("GIAOBAN_WORKER_OF", "1234")
    assert not runs_workers(["serve", "--workers", "2"])  # a worker itself
