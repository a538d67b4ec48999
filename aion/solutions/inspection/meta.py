"""The model file's metadata (``meta.json`` inside a ``.aion`` file) and its format versions."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from aion.solutions.inspection.errors import ModelFileError
from aion.solutions.inspection.threshold import calibration_warning

FORMAT = "aion-inspection"
#: The newest format this code reads. Files are written as 4, or 7 when they hold a defect head
#: (so that older readers refuse what they would misread, and read everything else). Format 5
#: heads have two window radii; format 6 heads any number; format 7 heads also row and column
#: bands (``strips``), no image mean unless stored (``head.py``), and their rule of combination
#: with the bank (:data:`COMBINE_RULES`).
#: Format 8: the search is coarse to fine (``search_stride`` 2 and ``refine_level``, ``coarse.py``).
#: Format 9: an inspection area (``area``: a crop and ignore boxes, ``area.py``); written only
#: when there is one, so that older readers refuse a model they would score on the whole photo.
#: Format 10: an area that follows the part (``area["align"]``, ``align.py``) with its reference
#: (:data:`~.modelfile.ALIGN_MEMBER`); written only then, so that format 9 readers refuse a model
#: whose crop they would hold still.
#: Format 11: a part that may also turn (``area["turn"]``, degrees); written only then, so that
#: format 10 readers refuse a model whose crop they would not turn.
FORMAT_VERSION = 11
HEAD_FORMAT_VERSION = 7
SEARCH_FORMAT_VERSION = 8
AREA_FORMAT_VERSION = 9
ALIGN_FORMAT_VERSION = 10
TURN_FORMAT_VERSION = 11


@dataclass(frozen=True)
class ModelMeta:
    """Everything needed besides the backbone and the memory bank (stored as ``meta.json``)."""

    backbone: str
    resolution: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    grid: int
    feature_dim: int
    sigma: float
    threshold: float
    score_low: float
    threshold_method: str = "frr"
    target_frr: float = 0.01
    thresholds: dict[str, float] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)
    knn: str = "exact"  # "exact" or "ivf" (lists in ivf_sizes and ivf_centroids.npy)
    # image score: mean of the highest ``top_fraction`` of the anomaly map (0: its maximum) ...
    top_fraction: float = 0.0
    # ... or (format 4) the largest of the statistics over these fractions, each standardised by
    # the held-back good images' mean and deviation (``scoring.py``)
    score_fractions: list[float] = field(default_factory=list)
    score_mean: list[float] = field(default_factory=list)
    score_std: list[float] = field(default_factory=list)
    # per-channel factors applied to the backbone's features before the search (empty: none)
    feature_scale: list[float] = field(default_factory=list)
    blocks: list[int] = field(default_factory=list)  # backbone levels used (information only)
    layers: list[str] = field(default_factory=list)  # an ONNX backbone's feature maps (information)
    ivf_sizes: list[int] = field(default_factory=list)
    ivf_nprobe: int = 0
    ivf_dim: int = 0  # lists scanned in this many principal directions of the bank (0: all)
    # format 8: 2 = every other row and column of patches searched, the rest interpolated except
    # around a patch farther than refine_level from the bank (coarse.py); 1 = every patch
    search_stride: int = 1
    refine_level: float = 0.0
    # "pixels": the graph takes uint8 (N, S, S, 3) and returns scaled (N, P, D) patch features
    # (format 3); "normalised": it takes (N, 3, S, S) normalised floats and returns (N, D, h, w)
    graph_input: str = "normalised"
    n_train_images: int = 0
    # the good training images' file fingerprints (``data.fingerprint``): every one is in the bank
    # (the held-back ones after calibration), so ``evaluate`` does not score them as new parts
    train_fingerprints: list[str] = field(default_factory=list)
    created_at: str = ""
    # format 5 to 7: the defect head's settings (``DefectHead.to_dict``), how its logits and the
    # bank's distances are standardised (``bank_mean``, ``bank_std``, ``head_mean``, ``head_std``)
    # and joined (``combine``, format 7; format 5 and 6 summed them); ``head_images``: the images
    # it learned from (``ImageItem.key``), which ``evaluate`` leaves out
    defect_head: dict[str, Any] = field(default_factory=dict)
    head_images: list[str] = field(default_factory=list)
    # format 9: the part of each photo inspected (``InspectionArea.to_dict``; empty: the whole photo)
    area: dict[str, Any] = field(default_factory=dict)
    format: str = FORMAT
    version: int = 4

    def calibration_warning(self) -> str | None:
        """What the threshold cannot promise (bilingual; ``threshold.calibration_warning``): the
        rule training reports and the evaluation report shows, read from this file alone."""
        n_good = int(self.calibration.get("n_good", 0))
        return calibration_warning(n_good, self.target_frr, self.threshold_method, self.n_train_images == 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelMeta:
        if d.get("format") != FORMAT or int(d.get("version", 0)) > FORMAT_VERSION:
            raise ModelFileError(
                f"지원하지 않는 모델 형식: {d.get('format')} v{d.get('version')} / "
                f"Unsupported model format: {d.get('format')} v{d.get('version')} (expected {FORMAT} v{FORMAT_VERSION} or older)"
            )
        names = set(cls.__dataclass_fields__)
        d = {k: v for k, v in d.items() if k in names}
        d["mean"] = tuple(d["mean"])
        d["std"] = tuple(d["std"])
        return cls(**d)
