"""Errors of the inspection domain: one root, a few precise children."""

from __future__ import annotations


class InspectionError(Exception):
    """Root of every error raised by :mod:`aion.solutions.inspection`."""


class BadImageError(InspectionError):
    """An image file is corrupt, truncated, empty, too large or not an image."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"손상된 이미지를 건너뜀: {name} ({reason}) / Skipped bad image: {name} ({reason})")


class DatasetError(InspectionError):
    """A data folder or zip does not have a layout the engine understands."""


class ModelFileError(InspectionError):
    """A ``.aion`` model file is missing, damaged or of an unknown version."""
