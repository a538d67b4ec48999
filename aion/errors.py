"""The root of AI-on's exception tree.

Each domain defines one root exception that derives from :class:`AionError`, so a caller can
catch everything AI-on raises with one ``except`` and still tell domains apart.
"""

from __future__ import annotations


class AionError(Exception):
    """Base of every error AI-on raises on purpose."""


class ConfigError(AionError):
    """The settings are invalid or unsafe for the chosen environment."""
