"""Automatic choice of detectors from the normal period (and labelled events when there are any).

No single unsupervised method wins everywhere, so the platform decides, not the user:

1. split the normal period in time: the first part fits, the last part is held out;
2. each candidate's limit is set at the target false-alarm rate on the fitting part;
3. candidates are rated on the held-out part: the false alarms they raise there beyond the target
   (drift the fit did not see), weighted by ``far_weight``, against how many synthetic faults they catch (a step of ``fault_sigma`` robust sigmas on
   one sensor, then a broken correlation), or, when labelled events are given, how well their
   scores separate events from normal rows (AUC);
4. the best ``top_k`` are refitted on the whole normal period; their scores, each divided by its
   own limit, are averaged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from aion.solutions.process.detectors.base import ArrayLike, Detector, as_matrix, impute

_NAN = float("nan")


@dataclass
class CandidateRating:
    """How one candidate did on the held-out normal rows."""

    name: str
    holdout_far: float
    detection: float
    utility: float
    chosen: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_candidates(autoencoder: bool = True, seed: int = 0) -> list[Detector]:
    from aion.solutions.process.detectors.autoencoder import ConvAutoencoderDetector
    from aion.solutions.process.detectors.iforest import IsolationForestDetector
    from aion.solutions.process.detectors.pca import PCADetector
    from aion.solutions.process.detectors.robust import EWMADetector, RobustZDetector

    out: list[Detector] = [
        RobustZDetector(),
        EWMADetector(),
        PCADetector(),
        IsolationForestDetector(seed=seed),
    ]
    if autoencoder:
        out.append(ConvAutoencoderDetector(seed=seed))
    return out


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    from scipy.stats import rankdata

    if len(pos) == 0 or len(neg) == 0:
        return 0.5
    r = rankdata(np.concatenate([pos, neg]))
    return float((r[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


class AutoDetector(Detector):
    """Selects and ensembles candidate detectors; see the module docstring for the procedure."""

    name = "auto"
    online_min_samples = 256

    def __init__(
        self,
        candidates: list[Detector] | None = None,
        target_far: float = 0.01,
        holdout: float = 0.3,
        top_k: int = 2,
        fault_sigma: float = 4.0,
        autoencoder: bool = True,
        far_weight: float = 10.0,
        seed: int = 0,
    ) -> None:
        self.candidates = candidates
        self.far_weight = far_weight
        self.target_far = target_far
        self.holdout = holdout
        self.top_k = top_k
        self.fault_sigma = fault_sigma
        self.autoencoder = autoencoder
        self.seed = seed

    def fit_labelled(
        self,
        X: ArrayLike,
        events: np.ndarray | None = None,
        feature_names: list[str] | None = None,
        progress: Callable[[str, float], None] | None = None,
    ) -> AutoDetector:
        """Fit on rows of ``X`` where ``events`` is 0 (all rows if None); events only rate candidates."""
        self._events = None if events is None else np.asarray(events, dtype=bool).copy()
        self._progress = progress
        try:
            return self.fit(X, feature_names=feature_names)
        finally:
            self._events = None
            self._progress = None

    def _fit(self, X: np.ndarray) -> None:
        events = self.__dict__.get("_events")
        progress = self.__dict__.get("_progress")
        normal = X if events is None or len(events) != len(X) else X[~events]
        event_rows = None if events is None or len(events) != len(X) or not events.any() else X[events]
        cands = [c.clone() for c in (self.candidates or default_candidates(self.autoencoder, self.seed))]
        n = len(normal)
        cut = int(n * (1.0 - self.holdout))
        q = 1.0 - self.target_far
        ratings: list[CandidateRating] = []
        if n >= 40 and cut >= 20:
            fit_part, hold = normal[:cut], normal[cut:]
            faults = self._synthetic_faults(fit_part, hold)
            for i, c in enumerate(cands):
                if progress:
                    progress(f"rate {c.name}", i / (len(cands) + 1))
                c.fit(fit_part, feature_names=self.feature_names_)
                limit = max(float(np.quantile(c.score(fit_part), q)), 1e-12)
                far = float(np.mean(c.score(hold) > limit))
                if event_rows is not None:
                    det = _auc(c.score(event_rows), c.score(hold))
                else:
                    det = float(np.mean([np.mean(c.score(f) > limit) for f in faults]))
                util = det - self.far_weight * max(0.0, far - self.target_far)
                ratings.append(CandidateRating(c.name, far, det, util))
            order = sorted(range(len(cands)), key=lambda i: -ratings[i].utility)
        else:
            ratings = [CandidateRating(c.name, float("nan"), float("nan"), 0.0) for c in cands]
            order = list(range(len(cands)))
        chosen = order[: max(1, self.top_k)]
        self.__dict__.pop("_online_", None)
        self.__dict__.pop("_fused_", None)
        self.members_: list[Detector] = []
        self.limits_: list[float] = []
        for i in chosen:
            ratings[i].chosen = True
            m = cands[i].clone().fit(normal, feature_names=self.feature_names_)
            self.members_.append(m)
            self.limits_.append(max(float(np.quantile(m.score(normal), q)), 1e-12))
        self.ratings_ = ratings
        if progress:
            progress("selected " + "+".join(m.name for m in self.members_), 1.0)

    def _synthetic_faults(self, fit_part: np.ndarray, hold: np.ndarray) -> list[np.ndarray]:
        rng = np.random.default_rng(self.seed)
        d = hold.shape[1]
        out = []
        for j in rng.permutation(d)[: min(d, 4)]:
            f = hold.copy()
            f[:, j] += self.fault_sigma * self.scale_[j] * rng.choice([-1.0, 1.0])
            out.append(f)
        if d > 1:
            f = hold.copy()
            j = int(rng.integers(d))
            f[:, j] = self.center_[j] + (self.center_[j] - f[:, j])  # mirror: breaks correlations
            out.append(f)
        return out

    def _score(self, X: np.ndarray) -> np.ndarray:
        parts = [m.score(X) / lim for m, lim in zip(self.members_, self.limits_, strict=True)]
        return np.mean(parts, axis=0)

    def contributions(self, X: ArrayLike) -> np.ndarray:
        self._check_fitted()
        arr = impute(as_matrix(X), self.center_)
        return np.mean([m.contributions(arr) for m in self.members_], axis=0)

    def score_one(self, x: dict[str, float]) -> float:
        """Reads each sensor once and hands the values to every member."""
        if not self.is_fitted:
            return 0.0
        vals = [x.get(k, _NAN) for k in self.feature_names_]
        vals = [_NAN if v is None else v for v in vals] if None in vals else vals
        fused = self.__dict__.get("_fused_")
        if fused is not None:
            return fused.score_values(vals)
        total = 0.0
        for m, inv in self.__dict__.get("_online_") or self._online():
            total += m.score_values(vals) * inv
        return total

    def _online(self) -> list[tuple[Detector, float]]:
        """Members with ``1 / (limit * members)``: the ensemble mean as one multiply-add each."""
        k = len(self.members_)
        pairs = [(m, 1.0 / (lim * k)) for m, lim in zip(self.members_, self.limits_, strict=True)]
        self._online_ = pairs
        self._fused_ = _RobustEwmaKernel.of(pairs)
        return pairs

    def score_many(self, X: ArrayLike) -> np.ndarray:
        self._check_fitted()
        arr = impute(as_matrix(X), self.center_)
        parts = [m.score_many(arr) / lim for m, lim in zip(self.members_, self.limits_, strict=True)]
        return np.mean(parts, axis=0)

    def describe(self) -> list[dict[str, Any]]:
        """The ratings of every candidate (chosen or not), for reports and the web page."""
        return [r.to_dict() for r in getattr(self, "ratings_", [])]


class _RobustEwmaKernel:
    """The usual pair (robust z and EWMA on the same normal period) in one pass over the sensors.

    Both members standardise with the same centre and scale, so each reading is standardised once.
    The EWMA member's state is shared (the kernel updates it), so switching between this path and
    the members' own ``score_one`` keeps one consistent state.
    """

    def __init__(self, rz: Any, ew: Any, w_rz: float, w_ew: float) -> None:
        self.rz, self.ew = rz, ew
        self.w_rz, self.w_ew = w_rz, w_ew * ew.sigma_factor_
        self.cs = list(zip(rz._centers_, rz._inv_, strict=True))

    @classmethod
    def of(cls, pairs: list[tuple[Detector, float]]) -> _RobustEwmaKernel | None:
        from aion.solutions.process.detectors.robust import EWMADetector, RobustZDetector

        if len(pairs) != 2:
            return None
        by = {type(m): (m, w) for m, w in pairs}
        if set(by) != {RobustZDetector, EWMADetector}:
            return None
        (rz, w_rz), (ew, w_ew) = by[RobustZDetector], by[EWMADetector]
        if not (np.array_equal(rz.center_, ew.center_) and np.array_equal(rz.scale_, ew.scale_)):
            return None
        return cls(rz, ew, w_rz, w_ew)

    def score_values(self, vals: list[float]) -> float:
        a = self.ew.alpha
        b = 1.0 - a
        old = self.ew._state_list_
        new: list[float] = []
        push = new.append
        best_z = best_e = 0.0
        for v, (c, s), e in zip(vals, self.cs, old, strict=False):
            if v == v:
                z = (v - c) * s
                e = b * e + a * z
                if z < 0:
                    z = -z
                if z > best_z:
                    best_z = z
            else:
                e = b * e
            push(e)
            if e < 0:
                e = -e
            if e > best_e:
                best_e = e
        self.ew._state_list_ = new
        return best_z * self.w_rz + best_e * self.w_ew
