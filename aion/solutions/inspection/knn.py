"""Nearest-neighbour distance of patch features to the memory bank (faiss when present, else numpy).

Exact search by default (``IndexFlatL2``: BLAS matrix products). For very large memory banks
``kind="ivf"`` uses an inverted-file index (faster, approximate); the numpy fallback is always exact.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _faiss() -> Any | None:
    try:
        import faiss
    except ImportError:  # pragma: no cover - the edge runtime may lack faiss
        return None
    return faiss


class NearestNeighbour:
    """Distance from each query row to its nearest row of ``bank``.

    >>> nn = NearestNeighbour(np.array([[0.0, 0.0], [3.0, 4.0]], dtype=np.float32))
    >>> nn.search(np.array([[3.0, 4.0], [0.0, 1.0]], dtype=np.float32)).round(4).tolist()
    [0.0, 1.0]
    """

    def __init__(
        self, bank: np.ndarray, kind: str = "exact", threads: int | None = None, use_faiss: bool | None = None
    ) -> None:
        self.bank = np.ascontiguousarray(bank, dtype=np.float32)
        self.kind = kind
        self.threads = threads
        faiss = _faiss() if use_faiss is not False else None
        self._faiss = faiss
        self._index: Any = None
        self._bank_sq = (self.bank * self.bank).sum(1)
        if faiss is not None:
            if threads:
                faiss.omp_set_num_threads(threads)
            d = self.bank.shape[1]
            if kind == "ivf" and len(self.bank) >= 4096:
                nlist = int(4 * np.sqrt(len(self.bank)))
                quantizer = faiss.IndexFlatL2(d)
                index = faiss.IndexIVFFlat(quantizer, d, nlist)
                index.train(self.bank)
                index.nprobe = max(4, nlist // 16)
                self._quantizer = quantizer
            else:
                index = faiss.IndexFlatL2(d)
            index.add(self.bank)
            self._index = index

    @property
    def backend(self) -> str:
        return "faiss" if self._index is not None else "numpy"

    def search(self, queries: np.ndarray) -> np.ndarray:
        """Euclidean distance to the nearest bank row, float32, one value per query row."""
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if self._index is not None:
            d2, _ = self._index.search(q, 1)
            d2 = d2[:, 0]
        else:
            d2 = np.empty(len(q), dtype=np.float32)
            qsq = (q * q).sum(1)
            for s in range(0, len(q), 4096):
                block = q[s : s + 4096]
                dist = qsq[s : s + 4096, None] - 2.0 * (block @ self.bank.T) + self._bank_sq[None, :]
                d2[s : s + 4096] = dist.min(axis=1)
        return np.sqrt(np.maximum(d2, 0.0)).astype(np.float32)
