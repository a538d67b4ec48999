"""Bilingual text carrier shared by the program engines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Text:
    """A user-facing string in Korean and English.

    >>> Text("전략", "Strategy").both()
    '전략 / Strategy'
    """

    ko: str
    en: str

    def both(self) -> str:
        """Korean first, then English."""
        return f"{self.ko} / {self.en}" if self.en and self.en != self.ko else self.ko

    def get(self, lang: str) -> str:
        """The text in ``lang`` ('ko' or 'en'); Korean for anything else."""
        return self.en if lang == "en" else self.ko

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Text:
        ko = str(data.get("ko") or data.get("en") or "")
        return cls(ko=ko, en=str(data.get("en") or ko))

    def to_dict(self) -> dict[str, str]:
        return {"ko": self.ko, "en": self.en}
