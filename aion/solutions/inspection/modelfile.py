"""The ``.aion`` file: one zip holding everything an edge PC needs to score images.

Members: ``meta.json`` (:class:`~.meta.ModelMeta`: preprocessing, threshold, calibration),
``backbone.onnx`` (image -> patch features) and ``memory_bank.npy`` (float32 patch features);
``ivf_centroids.npy`` with inverted lists; ``defect_head.npy`` for a model trained with labelled
defect masks (format 7, ``head.py``; format 5 and 6 heads, still read, had no row and column
bands, had the image mean, and were summed with the bank's distances rather than joined by a soft
maximum); :data:`HELD_BACK_MEMBER` and :data:`UNUSUAL_MEMBER`, optional; :data:`ALIGN_MEMBER` for an
area that follows the part (format 10). Reading needs only numpy (no torch, no onnxruntime):
every array is checked against the metadata, and anything amiss is a :class:`ModelFileError`
that names the file.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from aion.solutions.inspection.combine import head_rule
from aion.solutions.inspection.errors import InspectionError, ModelFileError
from aion.solutions.inspection.head import DefectHead
from aion.solutions.inspection.meta import ModelMeta

#: The zip member with the held-back good images' patch scores (float16); optional, so older
#: readers ignore it and files without it still load.
HELD_BACK_MEMBER = "held_back_patches.npy"
#: The zip member with the patch scores of the good images to check (float16,
#: ``meta.calibration["unusual_good"]`` order, ``goodcheck.py``); optional, as above.
UNUSUAL_MEMBER = "unusual_good_patches.npy"
#: The zip member with the reference photo's grey copy that an area following the part searches
#: for (uint8, ``align.py``); present exactly when ``meta.area["align"]``.
ALIGN_MEMBER = "align_reference.npy"


class ModelParts(NamedTuple):
    """The contents of a ``.aion`` file, checked against each other."""

    meta: ModelMeta
    onnx: bytes
    memory_bank: np.ndarray
    ivf_centroids: np.ndarray | None = None
    defect_head: DefectHead | None = None
    held_back_patches: np.ndarray | None = None
    unusual_patches: np.ndarray | None = None
    align_frame: np.ndarray | None = None


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def write_model(path: Path | str, parts: ModelParts) -> Path:
    """Write ``parts`` as one ``.aion`` file, replacing ``path`` only once the file is complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("meta.json", json.dumps(parts.meta.to_dict(), indent=2, ensure_ascii=False))
        zf.writestr("backbone.onnx", parts.onnx)
        zf.writestr("memory_bank.npy", _npy(parts.memory_bank))
        if parts.ivf_centroids is not None:
            zf.writestr("ivf_centroids.npy", _npy(parts.ivf_centroids))
        if parts.defect_head is not None and parts.defect_head.weights_ is not None:
            zf.writestr("defect_head.npy", _npy(parts.defect_head.weights_))
        if parts.held_back_patches is not None:
            zf.writestr(HELD_BACK_MEMBER, _npy(parts.held_back_patches.astype(np.float16)))
        if parts.unusual_patches is not None:
            zf.writestr(UNUSUAL_MEMBER, _npy(parts.unusual_patches.astype(np.float16)))
        if parts.align_frame is not None:
            zf.writestr(ALIGN_MEMBER, _npy(parts.align_frame))
    tmp.replace(path)
    return path


def _load(zf: zipfile.ZipFile, member: str) -> np.ndarray:
    return np.load(io.BytesIO(zf.read(member)), allow_pickle=False)  # type: ignore[no-any-return]


def _head(zf: zipfile.ZipFile, meta: ModelMeta) -> DefectHead:
    weights = _load(zf, "defect_head.npy")
    if weights.ndim != 2 or weights.shape[1] != meta.feature_dim:
        raise ValueError(f"defect head weights of shape {weights.shape}, {meta.feature_dim} columns expected")
    missing = {"bank_mean", "bank_std", "head_mean", "head_std"} - set(meta.defect_head)
    if missing:
        raise ValueError(f"defect head settings lack {sorted(missing)}")
    try:  # the head checks its rows against its windows; and its rule is known
        head = DefectHead.from_dict(meta.defect_head, weights)
        head_rule(meta.defect_head)
    except InspectionError as e:
        raise ValueError(str(e)) from e
    return head


def read_model(path: Path | str) -> ModelParts:
    """The parts of the ``.aion`` file at ``path``; :class:`ModelFileError` if it is missing,
    damaged, of a newer format, or its arrays do not fit its metadata."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            meta = ModelMeta.from_dict(json.loads(zf.read("meta.json")))
            onnx = zf.read("backbone.onnx")
            bank = _load(zf, "memory_bank.npy")
            centroids = _load(zf, "ivf_centroids.npy") if meta.knn == "ivf" else None
            held = None
            if HELD_BACK_MEMBER in zf.namelist():  # files before this member have none
                held = _load(zf, HELD_BACK_MEMBER)
                n_fps = len(meta.calibration.get("good_fingerprints") or [])
                if held.shape != (n_fps, meta.grid, meta.grid):
                    raise ValueError(
                        f"held-back patch scores of shape {held.shape}, {(n_fps, meta.grid, meta.grid)} expected"
                    )
            unusual = None
            if UNUSUAL_MEMBER in zf.namelist():
                unusual = _load(zf, UNUSUAL_MEMBER)
                n_unusual = len(meta.calibration.get("unusual_good") or [])
                if unusual.shape != (n_unusual, meta.grid, meta.grid):
                    raise ValueError(
                        f"unusual good images' patch scores of shape {unusual.shape}, "
                        f"{(n_unusual, meta.grid, meta.grid)} expected"
                    )
            head = _head(zf, meta) if meta.defect_head else None
            frame = None
            if (meta.area or {}).get("align"):
                frame = _load(zf, ALIGN_MEMBER)
                if frame.ndim != 2 or frame.dtype != np.uint8:
                    raise ValueError(
                        f"alignment reference of {frame.dtype} {frame.shape}, 2-D uint8 expected"
                    )
    except FileNotFoundError as e:
        raise ModelFileError(f"모델 파일이 없음: {path} / Model file not found: {path}") from e
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as e:
        raise ModelFileError(f"모델 파일이 손상됨: {path} ({e}) / Damaged model file: {path} ({e})") from e
    if bank.ndim != 2 or bank.shape[1] != meta.feature_dim:
        raise ModelFileError(f"메모리 뱅크 모양이 잘못됨: {bank.shape} / Bad memory bank shape: {bank.shape}")
    if centroids is not None and (
        centroids.ndim != 2 or centroids.shape[1] != meta.feature_dim or sum(meta.ivf_sizes) != len(bank)
    ):
        raise ModelFileError(f"IVF 목록이 잘못됨: {path} / Bad IVF lists in {path}")
    return ModelParts(meta, onnx, bank, centroids, head, held, unusual, frame)
