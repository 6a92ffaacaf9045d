"""Settings from the environment and key files; the loopback-only rule without keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigc_label.errors import ConfigurationError
from aigc_label.service.settings import Settings, is_loopback, parse_api_keys, parse_size
from tests.service.live import KEY_LINES


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1048576", 1 << 20),
        ("512K", 512 << 10),
        ("256M", 256 << 20),
        ("2g", 2 << 30),
        ("3MiB", 3 << 20),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "-1", "12Q", "M"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_size(text)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("short provider", "shorter"),
        ("k" * 20 + " janitor", "unknown role"),
        ("k" * 20, "expected"),
        ("k" * 20 + " provider a b", "expected"),
        ("k" * 20 + " provider; " + "k" * 20 + " auditor", "twice"),
    ],
)
def test_bad_key_lines(text: str, why: str) -> None:
    with pytest.raises(ConfigurationError, match=why):
        parse_api_keys(text, "keys.txt")


def test_key_lines_with_comments_and_several_roles() -> None:
    keys = parse_api_keys("# admin\n" + "a" * 20 + " provider,auditor admin  # both\n\n", "f")
    assert len(keys) == 1
    assert keys[0].roles == frozenset({"provider", "auditor"})
    assert keys[0].name == "admin"
    assert "a" * 20 not in repr(keys[0])


@pytest.mark.parametrize(
    ("host", "loop"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host: str, loop: bool) -> None:
    assert is_loopback(host) is loop


def test_no_keys_means_loopback_only() -> None:
    Settings(host="127.0.0.1").check_bind()
    with pytest.raises(ConfigurationError, match=r"refusing to listen on 0\.0\.0\.0"):
        Settings(host="0.0.0.0").check_bind()
    keys = parse_api_keys(KEY_LINES, "t")
    Settings(host="0.0.0.0", api_keys=keys).check_bind()


def test_from_env_round_trip(tmp_path: Path) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text(KEY_LINES)
    env = {
        "AIGC_LABEL_HOST": "::1",
        "AIGC_LABEL_PORT": "8123",
        "AIGC_LABEL_LEDGER": "sqlite:///x.db",
        "AIGC_LABEL_API_KEYS_FILE": str(key_file),
        "AIGC_LABEL_MAX_UPLOAD": "10M",
        "AIGC_LABEL_NO_LEDGER": "1",
    }
    s = Settings.from_env(env)
    assert (s.host, s.port, s.ledger_url, s.max_upload_bytes) == (
        "::1",
        8123,
        "sqlite:///x.db",
        10 << 20,
    )
    assert not s.ledger_enabled
    assert {k.name for k in s.api_keys} >= {"gen-service", "audit-team"}
    assert Settings.from_env(s.to_env()) == s


def test_inline_keys_add_to_the_file(tmp_path: Path) -> None:
    s = Settings.from_env({"AIGC_LABEL_API_KEYS": "b" * 20 + " platform;" + "c" * 20 + " auditor"})
    assert len(s.api_keys) == 2
    assert not s.open_access


@pytest.mark.parametrize(
    ("env", "why"),
    [
        ({"AIGC_LABEL_PORT": "http"}, "port"),
        ({"AIGC_LABEL_API_KEYS_FILE": "/nonexistent/keys"}, "cannot read"),
        ({"AIGC_LABEL_MAX_UPLOAD": "lots"}, "size"),
    ],
)
def test_bad_env(env: dict[str, str], why: str) -> None:
    with pytest.raises(ConfigurationError, match=why):
        Settings.from_env(env)
