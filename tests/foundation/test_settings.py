from __future__ import annotations

import stat
from pathlib import Path

import pytest

from aion.errors import ConfigError
from aion.settings import Settings


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert s.data_dir == Path("aion-data") and s.port == 8000 and s.host == "127.0.0.1"
    assert s.default_language == "ko"
    assert s.resolved_database_url() == f"sqlite:///{tmp_path / 'aion-data' / 'aion.db'}"


def test_environment_and_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "aion.toml").write_text('port = 9000\ndefault_language = "en"\n', encoding="utf-8")
    monkeypatch.setenv("AION_DATABASE_URL", "postgresql+psycopg://u@db/aion")
    s = Settings()
    assert s.port == 9000 and s.default_language == "en"
    assert s.resolved_database_url() == "postgresql+psycopg://u@db/aion"
    monkeypatch.setenv("AION_PORT", "9100")
    assert Settings().port == 9100  # environment beats the file


def test_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    key = s.resolved_secret_key()
    assert len(key) >= 48 and Settings(data_dir=tmp_path).resolved_secret_key() == key
    mode = (tmp_path / "secret_key").stat().st_mode
    assert not mode & (stat.S_IRWXG | stat.S_IRWXO)


@pytest.mark.parametrize("weak", ["changeme", "secret", "short-but-not-default"])
def test_weak_secret_refused_outside_development(weak: str) -> None:
    with pytest.raises(ConfigError, match="AION_SECRET_KEY"):
        Settings(env="production", secret_key=weak).check_safe()
    Settings(env="development", secret_key=weak).check_safe()  # allowed while developing


def test_generated_secret_is_fine_in_production(tmp_path: Path) -> None:
    Settings(env="production", data_dir=tmp_path).check_safe()


def test_public_bind_in_production_needs_https_cookies(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="AION_COOKIE_SECURE"):
        Settings(env="production", data_dir=tmp_path, host="0.0.0.0").check_safe()
    Settings(env="production", data_dir=tmp_path, host="0.0.0.0", cookie_secure=True).check_safe()


def test_bad_value_names_the_options() -> None:
    with pytest.raises(ValueError, match="ko"):
        Settings(default_language="fr")  # type: ignore[arg-type]
