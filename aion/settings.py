"""One settings object for the whole app, read once.

Values come, in order of precedence, from ``AION_*`` environment variables, an optional
``aion.toml`` (in the working directory, or the file named by ``AION_CONFIG``), and the
defaults below. Outside development, unsafe values are refused by :meth:`Settings.check_safe`.

>>> s = Settings(data_dir="/tmp/aion-doc", env="development")
>>> s.resolved_database_url()
'sqlite:////tmp/aion-doc/aion.db'
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from aion.errors import ConfigError

Environment = Literal["development", "test", "production"]
Language = Literal["ko", "en"]
LANGUAGES: tuple[str, ...] = ("ko", "en")

# Values that must never protect a real installation.
WEAK_SECRETS = {"", "secret", "changeme", "change-me", "dev", "development", "aion", "password", "test"}
MIN_SECRET_LENGTH = 32
SECRET_FILE = "secret_key"


class Settings(BaseSettings):
    """AI-on's configuration (environment variables ``AION_*``)."""

    model_config = SettingsConfigDict(env_prefix="AION_", extra="ignore")

    env: Environment = "development"
    data_dir: Path = Path("./aion-data")
    database_url: str | None = None
    secret_key: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    default_language: Language = "ko"
    session_max_age_s: int = 8 * 3600
    cookie_secure: bool = False
    lockout_threshold: int = 5
    lockout_minutes: int = 15
    max_upload_mb: int = 2048
    storage_url: str = ""  # blobs: "" = DATA_DIR/blobs, file:///DIR, s3://BUCKET/PREFIX?endpoint_url=...
    log_format: Literal["json", "text"] = "json"
    log_level: str = "INFO"

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, v: Path) -> Path:
        return v.expanduser()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("AION_CONFIG", "aion.toml"))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )

    # -- derived values -------------------------------------------------------------------
    def resolved_database_url(self) -> str:
        """The database URL; by default an SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir.resolve() / 'aion.db'}"

    def resolved_secret_key(self) -> str:
        """The secret key: the configured one, else one generated into the data directory."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / SECRET_FILE
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(key)
        return key

    def check_safe(self) -> None:
        """Refuse unsafe values outside development.

        >>> Settings(env="production", secret_key="changeme").check_safe()
        Traceback (most recent call last):
        ...
        aion.errors.ConfigError: AION_SECRET_KEY is weak or a default value ...
        """
        if self.env == "development":
            return
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if value.lower() in WEAK_SECRETS or len(value) < MIN_SECRET_LENGTH:
                raise ConfigError(
                    "AION_SECRET_KEY is weak or a default value (need at least "
                    f"{MIN_SECRET_LENGTH} random characters) in env={self.env!r}. "
                    "Unset it to have one generated into the data directory. / "
                    "AION_SECRET_KEY가 약하거나 기본값입니다."
                )
        if (
            self.env == "production"
            and self.host not in ("127.0.0.1", "localhost", "::1")
            and not (self.cookie_secure)
        ):
            raise ConfigError(
                f"Serving on host {self.host!r} in production needs AION_COOKIE_SECURE=true (HTTPS). / "
                "운영 환경에서 외부 주소로 서비스하려면 AION_COOKIE_SECURE=true(HTTPS)가 필요합니다."
            )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
