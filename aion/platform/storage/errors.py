"""The root exception of the storage domain and its specialisations."""

from __future__ import annotations

from aion.errors import AionError


class StorageError(AionError):
    """Base of every error raised by :mod:`aion.platform.storage`."""


class BlobNotFoundError(StorageError):
    """No blob with the given hash is stored."""


class ChecksumMismatchError(StorageError):
    """The data's SHA-256 is not the one the client announced."""


class StorageQuotaError(StorageError):
    """The company's storage quota would be exceeded."""


class UploadError(StorageError):
    """An upload id is unknown, or a chunk does not continue where the upload stands."""


class UnsafeArchiveError(StorageError):
    """An archive tries path traversal, absolute paths, links, or is a zip bomb."""
