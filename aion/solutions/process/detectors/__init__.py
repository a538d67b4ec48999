"""Anomaly detectors for sensor series: one contract (:class:`Detector`), several implementations."""

from aion.solutions.process.detectors.autoencoder import ConvAutoencoderDetector
from aion.solutions.process.detectors.base import Detector
from aion.solutions.process.detectors.iforest import IsolationForestDetector
from aion.solutions.process.detectors.pca import PCADetector
from aion.solutions.process.detectors.robust import EWMADetector, RobustZDetector
from aion.solutions.process.detectors.selector import AutoDetector, default_candidates

REGISTRY: dict[str, type[Detector]] = {
    cls.name: cls
    for cls in (
        RobustZDetector,
        EWMADetector,
        PCADetector,
        IsolationForestDetector,
        ConvAutoencoderDetector,
        AutoDetector,
    )
}

__all__ = [
    "REGISTRY",
    "AutoDetector",
    "ConvAutoencoderDetector",
    "Detector",
    "EWMADetector",
    "IsolationForestDetector",
    "PCADetector",
    "RobustZDetector",
    "default_candidates",
]
