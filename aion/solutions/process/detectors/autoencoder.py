"""A small 1-D convolutional autoencoder over sliding windows (torch, CPU).

The score of row ``t`` is the reconstruction error of the window that ends at ``t``, per sensor
normalised by its error on the normal period and summed over sensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aion.solutions.process.detectors.base import Detector, as_matrix, impute
from aion.solutions.process.errors import ProcessError


def _torch() -> Any:
    """The torch module, or a message naming the install that brings it."""
    try:
        import torch
    except ImportError as e:  # an install without the "train" extra
        raise ProcessError(
            "오토인코더 검출기에는 torch가 필요합니다: pip install 'aion[train]' / "
            "The autoencoder detector needs torch: pip install 'aion[train]'"
        ) from e
    return torch


def _windows(Z: np.ndarray, window: int) -> np.ndarray:
    """``(n, window, d)`` windows ending at each row; the start is padded with the first row."""
    pad = np.repeat(Z[:1], window - 1, axis=0)
    P = np.concatenate([pad, Z], axis=0)
    idx = np.arange(window)[None, :] + np.arange(Z.shape[0])[:, None]
    return P[idx]


class ConvAutoencoderDetector(Detector):
    """Conv1d encoder (stride 2) and transposed-conv decoder; small enough to train in seconds."""

    name = "conv_autoencoder"
    online_min_samples = 256

    def __init__(
        self,
        window: int = 32,
        channels: int = 16,
        epochs: int = 12,
        max_windows: int = 2048,
        lr: float = 3e-3,
        seed: int = 0,
    ) -> None:
        self.window = window
        self.channels = channels
        self.epochs = epochs
        self.max_windows = max_windows
        self.lr = lr
        self.seed = seed

    def _net(self, d: int) -> Any:
        nn = _torch().nn

        c = self.channels
        return nn.Sequential(
            nn.Conv1d(d, c, 5, padding=2),
            nn.ReLU(),
            nn.Conv1d(c, c // 2, 5, stride=2, padding=2),
            nn.ReLU(),
            nn.ConvTranspose1d(c // 2, c, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv1d(c, d, 5, padding=2),
        )

    def _fit(self, X: np.ndarray) -> None:
        torch = _torch()

        w = self.window + (self.window % 2)
        self.window_ = w
        Z = ((X - self.center_) / self.scale_).clip(-20, 20).astype(np.float32)
        W = _windows(Z, w)[w - 1 :] if Z.shape[0] >= w else _windows(Z, w)
        rng = np.random.default_rng(self.seed)
        if len(W) > self.max_windows:
            W = W[rng.choice(len(W), self.max_windows, replace=False)]
        torch.manual_seed(self.seed)
        net = self._net(X.shape[1])
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        data = torch.from_numpy(np.ascontiguousarray(W.transpose(0, 2, 1)))
        g = torch.Generator().manual_seed(self.seed)
        net.train()
        for _ in range(self.epochs):
            perm = torch.randperm(len(data), generator=g)
            for i in range(0, len(data), 64):
                xb = data[perm[i : i + 64]]
                opt.zero_grad()
                loss = torch.mean((net(xb) - xb) ** 2)
                loss.backward()
                opt.step()
        net.eval()
        self.state_dict_ = {k: v.detach().clone() for k, v in net.state_dict().items()}
        self.net_ = net
        err = self._errors(Z)
        self.error_scale_ = np.maximum(np.median(err, axis=0), 1e-6)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("net_", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "state_dict_" in state:
            net = self._net(len(state["feature_names_"]))
            net.load_state_dict(state["state_dict_"])
            net.eval()
            self.net_ = net

    def _errors(self, Z: np.ndarray) -> np.ndarray:
        """Per-row, per-sensor mean absolute reconstruction error of the window ending at the row."""
        import torch

        out = np.empty(Z.shape, dtype=np.float64)
        with torch.no_grad():
            for s in range(0, Z.shape[0], 4096):
                lo = max(0, s - self.window_ + 1)
                W = _windows(Z[lo : s + 4096], self.window_)[s - lo :]
                xb = torch.from_numpy(np.ascontiguousarray(W.transpose(0, 2, 1)))
                rec = self.net_(xb).numpy()
                out[s : s + len(W)] = np.mean(np.abs(rec - W.transpose(0, 2, 1)), axis=2)
        return out

    def _z(self, X: np.ndarray) -> np.ndarray:
        return ((X - self.center_) / self.scale_).clip(-20, 20).astype(np.float32)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return np.sum(self._errors(self._z(X)) / self.error_scale_, axis=1) / X.shape[1]

    def contributions(self, X: np.ndarray) -> np.ndarray:  # type: ignore[override]
        self._check_fitted()
        e = self._errors(self._z(impute(as_matrix(X), self.center_))) / self.error_scale_
        return e / np.maximum(e.sum(axis=1, keepdims=True), 1e-12)

    def score_one(self, x: dict[str, float]) -> float:
        """Keeps the last ``window`` readings and scores the window ending at this reading."""
        if not self.is_fitted:
            return 0.0
        v = impute(self._vector(x)[None, :], self.center_)
        hist = self.__dict__.get("_history")
        hist = v if hist is None else np.concatenate([hist, v])[-self.window_ :]
        self._history = hist
        return float(self._score(hist)[-1])

    def score_many(self, X: np.ndarray) -> np.ndarray:  # type: ignore[override]
        self._check_fitted()
        arr = impute(as_matrix(X), self.center_)
        hist = self.__dict__.get("_history")
        full = arr if hist is None else np.concatenate([hist, arr])
        self._history = full[-self.window_ :]
        return self._score(full)[len(full) - len(arr) :]
