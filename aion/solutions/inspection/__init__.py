"""Visual quality inspection: PatchCore-style anomaly detection from good images only.

Public API (torch is imported only by :func:`train`)::

    from aion.solutions.inspection import TrainConfig, train, evaluate, InspectionModel
    model = train("parts/", TrainConfig(target_frr=0.01))
    model.save("parts.aion")
    with InspectionModel.load("parts.aion", threads=2) as edge:   # onnxruntime + numpy only
        report = evaluate(edge, "parts/")                        # threads stopped on leaving
"""

from __future__ import annotations

from aion.solutions.inspection.config import TrainConfig
from aion.solutions.inspection.data import ImageItem, InspectionDataset, load_dataset
from aion.solutions.inspection.errors import BadImageError, DatasetError, InspectionError, ModelFileError
from aion.solutions.inspection.evaluation import EvaluationReport, evaluate
from aion.solutions.inspection.model import InspectionModel, Prediction, PredictionBatch
from aion.solutions.inspection.training import TrainReport, train

__all__ = [
    "BadImageError",
    "DatasetError",
    "EvaluationReport",
    "ImageItem",
    "InspectionDataset",
    "InspectionError",
    "InspectionModel",
    "ModelFileError",
    "Prediction",
    "PredictionBatch",
    "TrainConfig",
    "TrainReport",
    "evaluate",
    "load_dataset",
    "train",
]
