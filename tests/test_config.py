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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[server]\nport = 'x'\n", "server.port must be a number"),
        ("[bot]\nadmins = 'local:a'\n", "bot.admins must be a list of strings"),
        ("[nope]\nx = 1\n", "unknown config key nope"),
        ("[local]\nenabled = 1\n", "local.enabled must be true or false"),
        ("not = [toml", "is not valid TOML"),
        ("[dashboard]\ntrusted_proxies = ['nginx']\n",
         "dashboard.trusted_proxies: 'nginx' is not an IP address or network"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load(p, env={})
