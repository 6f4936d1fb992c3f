"""Configuration: the example file loads, env secrets apply, bad values give one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load

ROOT = Path(__file__).resolve().parent.parent


def test_example_config_loads_with_every_key() -> None:
    config = load(ROOT / "config.example.toml", env={})
    assert config.server.port == 8080 and config.storage.path == "data/diandan.db"
    assert config.wecom.callback_path == "/wecom/callback" and config.wecom.webhooks == {}
    assert config.dingtalk.api_base == "https://api.dingtalk.com"
    assert config.outbox.rate_per_minute == 20
    assert config.dashboard.trusted_proxies == ()


def test_env_secrets_override_the_file(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[dingtalk]\nclient_secret = "from-file"\n', encoding="utf-8")
    config = load(p, env={"DIANDAN_DINGTALK_CLIENT_SECRET": "from-env"})
    assert config.dingtalk.client_secret == "from-env"


def test_a_postgresql_url_comes_from_the_file_the_env_or_db_and_hides_its_password(
        tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[storage]\nurl = "postgresql://bot:s3cret@db:5432/diandan"\n',
                 encoding="utf-8")
    config = load(p, env={})
    assert config.storage.target == "postgresql://bot:s3cret@db:5432/diandan"
    assert config.storage.shown == "postgresql://bot:***@db:5432/diandan"
    env = load(None, env={"DIANDAN_STORAGE_URL": "postgresql://u:pw@h/d"}).storage
    assert env.target == "postgresql://u:pw@h/d" and "pw" not in env.shown
    assert config.with_db("other.db").storage.target == "other.db"  # a file wins over the url
    assert config.with_db("postgresql://x@y/z").storage.target == "postgresql://x@y/z"
    assert load(None, env={}).storage.target == "data/diandan.db"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[server]\nport = 'x'\n", "server.port 应为数字"),
        ("[bot]\nadmins = 'local:a'\n", "bot.admins 应为字符串列表"),
        ("[nope]\nx = 1\n", "未知的配置项 nope"),
        ("[local]\nenabled = 1\n", "local.enabled 应为 true 或 false"),
        ("not = [toml", "不是有效的 TOML"),
        ("[dashboard]\ntrusted_proxies = ['nginx']\n",
         "dashboard.trusted_proxies：'nginx' 不是 IP 地址或网段"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load(p, env={})
