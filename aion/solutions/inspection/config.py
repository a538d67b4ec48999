"""Training configuration (plain dataclass; stored names match the CLI options)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aion.solutions.inspection.area import InspectionArea
from aion.solutions.inspection.errors import InspectionError


@dataclass
class TrainConfig:
    """How to train an inspection model. Defaults are generic, not tuned to any data set.

    >>> TrainConfig(target_frr=0.02).target_frr
    0.02
    """

    backbone: str = "efficientnet-lite0"  # or resnet18, wide_resnet50_2, onnx (a user's graph)
    # torchvision checkpoint for ResNet backbones, the .onnx file for "onnx"; None = shipped Lite0
    weights: Path | None = None
    # an ONNX backbone's feature maps (tensor names; None: its stride-8 and stride-16 stage ends,
    # onnxbackbone.default_levels) and the input normalisation it expects (onnxbackbone.PIXEL_NORMS)
    layers: tuple[str, ...] | None = None
    pixel_norm: str = "imagenet"
    resolution: int = 256  # images are resized (whole, or their area's crop) to resolution x resolution
    # the part of each photo inspected: a crop, and boxes whose anomaly is ignored (area.py);
    # the default is the whole photo
    area: InspectionArea = field(default_factory=InspectionArea)
    # for an area that follows the part (``area.align``): the image the crop was drawn on (its name
    # or its path in the data set); None: the first training image
    align_reference: str | None = None
    # memory bank size as a fraction of all training patches (2%: docs/benchmarks.md, tenth session)
    coreset_ratio: float = 0.02
    min_bank_size: int = 1000  # ... but at least this many patches (or all of them)
    max_bank_size: int = 20000  # ... and at most this many (search cost grows with the bank)
    target_frr: float = 0.01  # accepted false-reject rate on held-out good images
    holdout_fraction: float = 0.2  # share of good training images kept back for the threshold
    # ... but at least this many (docs/inspection.md, *Thresholds*): a threshold on n good images'
    # scores is passed by a new good part n / (n + 1) of the time at best. A set of at most this
    # many holds back every image, each scored against the bank less its own patches (leave one out)
    min_calibration_images: int = 100
    use_defects: bool = True  # labelled defect images, when given, set an F1-optimal threshold
    # labelled defect images given with masks (``defects=``, ``--defects``) also train a defect
    # head beside the memory bank (head.py); False: they only set the threshold
    defect_head: bool = True
    # the head also learns from each masked image flipped left-right, upside down and both (a
    # defect flipped is still a defect): about +0.012 pixel AUROC with 5 masks per kind on
    # magnetic_tile; False for parts whose defects depend on their orientation
    head_flips: bool = True
    sigma: float = 4.0  # Gaussian smoothing of the anomaly map, in pixels at model resolution
    # image score: mean of the highest top_fraction of the anomaly map (0: its maximum), and
    # beside it the means of these larger shares (1.0: the whole map); each statistic is
    # standardised on the held-back good images and the largest counts (empty: top_fraction alone)
    top_fraction: float = 0.01
    pooled_fractions: tuple[float, ...] = (0.1, 1.0)
    # backbone levels (EfficientNet-Lite0 block indices; None: the backbone's default)
    blocks: tuple[int, ...] | None = None
    level_norm: bool = True  # scale each level to the same mean patch norm (on the good images)
    batch_size: int = 8
    threads: int | None = None  # CPU threads for torch / onnxruntime / faiss (None: library default)
    knn: str = "auto"  # "exact", "ivf" (inverted file, ~10x less search) or "auto" (ivf for >= 1024 rows)
    # 2: search every other row and column of patches, interpolate the rest, and search exactly
    # around any patch farther from the bank than this quantile of the held-back good images'
    # patch distances (coarse.py; a third of the search, same accuracy); 1: every patch
    search_stride: int = 2
    refine_quantile: float = 0.99
    seed: int = 0
    # score every good training image as a new part and list those above the threshold
    # (goodcheck.py); False: only the held-back ones (scored for the threshold anyway) are checked
    check_good: bool = True

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["weights"] = str(self.weights) if self.weights else None
        d["blocks"] = list(self.blocks) if self.blocks else None
        d["layers"] = list(self.layers) if self.layers else None
        d["pooled_fractions"] = list(self.pooled_fractions)
        d["area"] = self.area.to_dict()
        return d


def calibration_count(n_good: int, fraction: float, minimum: int) -> int:
    """How many of ``n_good`` good images set the threshold: ``fraction`` of them held back, at
    least ``minimum``; every image when that is all of them or the set is under 4 (each then
    scored leave one out, or a single image against itself).

    >>> [calibration_count(n, 0.2, 100) for n in (1, 3, 24, 100, 101, 400, 1000)]
    [1, 3, 24, 100, 100, 100, 200]
    >>> calibration_count(10, 0.2, 0)
    2
    """
    n_cal = max(int(round(n_good * fraction)), min(n_good, minimum))
    return n_good if n_good < 4 or n_cal < 1 or n_cal >= n_good else n_cal


def check_resolution(resolution: int) -> None:
    """Refuse a model size the patch grid cannot take (every backbone: a multiple of 32, >= 64).

    >>> check_resolution(250)
    Traceback (most recent call last):
    ...
    aion.solutions.inspection.errors.InspectionError: 해상도는 64 이상, 32의 배수여야 함: 250 / Resolution must be a multiple of 32 and >= 64: 250
    """
    if resolution % 32 or resolution < 64:
        raise InspectionError(
            f"해상도는 64 이상, 32의 배수여야 함: {resolution} / "
            f"Resolution must be a multiple of 32 and >= 64: {resolution}"
        )
