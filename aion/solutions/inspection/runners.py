"""Feature runners: the backbone graph behind one call, ``(N, S, S, 3) uint8 -> (N, P, D) float32``
(model files before format 3: ``(N, 3, S, S)`` normalised float32 -> ``(N, D, h, w)``). A runner
whose ``grey_input`` is true also takes grey ``(N, S, S, 1)`` batches.

:class:`OnnxRunner` needs only onnxruntime and numpy (the edge path); :class:`TorchRunner` wraps the
torch module used at training time and exports it to ONNX bytes on demand.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from aion.solutions.inspection.errors import ModelFileError


class FeatureRunner(Protocol):
    grey_input: bool

    def __call__(self, batch: np.ndarray) -> np.ndarray: ...

    def onnx_bytes(self) -> bytes: ...


class OnnxRunner:
    """Runs an exported backbone with ONNX Runtime on the CPU."""

    def __init__(self, model: bytes, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as e:  # pragma: no cover - onnxruntime is a dependency
            raise ModelFileError("onnxruntime 패키지가 필요합니다 / onnxruntime is required") from e
        self._bytes = model
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # idle worker threads would spin after each call, taking the cores from the numpy
        # search and post-processing that follow it
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise ModelFileError(f"ONNX 백본을 열 수 없음: {e} / Cannot open the ONNX backbone: {e}") from e
        inp = self._session.get_inputs()[0]
        self._input = inp.name
        # model files of format 3 take uint8 pixels; earlier ones normalised floats
        self._dtype = np.uint8 if inp.type == "tensor(uint8)" else np.float32
        # graphs exported since the grey path have a named (dynamic) channel axis
        self.grey_input = (
            self._dtype == np.uint8 and len(inp.shape) == 4 and not isinstance(inp.shape[3], int)
        )

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        out = self._session.run(None, {self._input: np.ascontiguousarray(batch, dtype=self._dtype)})
        return np.asarray(out[0], dtype=np.float32)

    def onnx_bytes(self) -> bytes:
        return self._bytes


class TorchRunner:
    """Runs a torch feature extractor (training time)."""

    def __init__(self, module: Any, resolution: int) -> None:
        from aion.solutions.inspection.backbones import PatchGraph

        self.module = module.eval()
        self.resolution = resolution
        self.grey_input = isinstance(module, PatchGraph)
        self._onnx: bytes | None = None

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = self.module(torch.from_numpy(np.ascontiguousarray(batch)))
        return out.numpy().astype(np.float32, copy=False)

    def onnx_bytes(self) -> bytes:
        if self._onnx is None:
            from aion.solutions.inspection.backbones import export_onnx

            self._onnx = export_onnx(self.module, self.resolution)
        return self._onnx
