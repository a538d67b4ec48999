"""Threshold choice: from a target false-reject rate on good images, or F1-optimal with defects."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aion.solutions.inspection.errors import InspectionError


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    method: str  # "frr" or "f1"
    frr: float  # false-reject rate on the calibration good images
    escape_rate: float | None  # share of calibration defects passed (None without defects)
    f1: float | None


def frr_threshold(good_scores: np.ndarray, target_frr: float) -> float:
    """Smallest threshold that rejects at most ``target_frr`` of ``good_scores`` (score > t = reject).

    >>> frr_threshold(np.arange(1, 101, dtype=float), 0.05)
    95.0
    >>> frr_threshold(np.array([1.0, 2.0, 3.0]), 0.0)
    3.0
    """
    if not 0.0 <= target_frr < 1.0:
        raise InspectionError(
            f"목표 불량 오판율은 0 이상 1 미만: {target_frr} / target FRR must be in [0, 1): {target_frr}"
        )
    s = np.sort(np.asarray(good_scores, dtype=np.float64))[::-1]
    if len(s) == 0:
        raise InspectionError("임계값을 정할 양품 이미지가 없음 / No good images to set the threshold")
    k = int(np.floor(target_frr * len(s) + 1e-9))
    return float(s[min(k, len(s) - 1)])


def f1_threshold(good_scores: np.ndarray, defect_scores: np.ndarray) -> tuple[float, float]:
    """F1-optimal threshold (midway between neighbouring scores) and its F1.

    >>> f1_threshold(np.array([1.0, 2.0]), np.array([4.0, 5.0]))
    (3.0, 1.0)
    """
    g = np.asarray(good_scores, dtype=np.float64)
    d = np.asarray(defect_scores, dtype=np.float64)
    scores = np.concatenate([g, d])
    labels = np.concatenate([np.zeros(len(g)), np.ones(len(d))])
    order = np.argsort(scores, kind="stable")
    scores, labels = scores[order], labels[order]
    n_pos = labels.sum()
    best = (-1.0, 0.0, float(scores[0]) - 1.0)  # (f1, gap, threshold)
    tp_from = np.cumsum(labels[::-1])[::-1]  # positives among scores[i:]
    for i in range(1, len(scores) + 1):
        if i < len(scores) and scores[i] == scores[i - 1]:
            continue
        tp = tp_from[i] if i < len(scores) else 0.0
        pred = len(scores) - i
        f1 = 2 * tp / (pred + n_pos) if pred + n_pos else 0.0
        hi = scores[i] if i < len(scores) else scores[-1] + (scores[-1] - scores[0] + 1e-6)
        gap = hi - scores[i - 1]
        if (f1, gap) > best[:2]:
            best = (f1, gap, float((scores[i - 1] + hi) / 2))
    return best[2], float(best[0])


def choose_threshold(
    good_scores: np.ndarray, defect_scores: np.ndarray | None, target_frr: float, use_defects: bool = True
) -> ThresholdChoice:
    """F1-optimal when defect scores are given (and allowed), else from the target FRR."""
    good = np.asarray(good_scores, dtype=np.float64)
    t_frr = frr_threshold(good, target_frr)
    if use_defects and defect_scores is not None and len(defect_scores) > 0:
        t, f1 = f1_threshold(good, defect_scores)
        method = "f1"
    else:
        t, f1, method = t_frr, None, "frr"
    esc = (
        float(np.mean(np.asarray(defect_scores) <= t))
        if defect_scores is not None and len(defect_scores)
        else None
    )
    return ThresholdChoice(float(t), method, float(np.mean(good > t)), esc, f1)


def frr_floor(n_good: int) -> float:
    """The lowest false-reject rate a threshold set on ``n_good`` good images' scores can promise:
    a new good part scores above all of them with chance ``1 / (n_good + 1)`` (its rank among
    them is uniform), whatever the target.

    >>> round(frr_floor(4), 3), round(frr_floor(151), 4)
    (0.2, 0.0066)
    """
    return 1.0 / (max(n_good, 0) + 1)


def calibration_warning(n_good: int, target_frr: float, method: str, in_sample: bool = False) -> str | None:
    """A bilingual warning ("Korean / English") when the threshold cannot keep its promise: set
    from the target false-reject rate on too few good images (fewer than ``1 / target - 1``), or
    on the training image itself (``in_sample``: a set of one image). ``None`` when there is
    nothing to say.

    >>> calibration_warning(151, 0.01, "frr") is None, calibration_warning(4, 0.01, "f1") is None
    (True, True)
    >>> print(calibration_warning(4, 0.01, "frr").split(" / ")[1])  # doctest: +NORMALIZE_WHITESPACE
    The threshold rests on 4 good images' scores: a new good part scores above all of them about
    20.0% of the time, so the false-reject rate will be near 20.0%, not the target 1.0%. Add good
    images (about 99 are needed for 1.0%) and train again.
    """
    if in_sample:
        return (
            "양품 이미지가 1장뿐이라 임계값을 그 이미지 자신의 점수로 정했습니다: 새 양품도 대부분 불합격됩니다. "
            "양품 이미지를 더 넣어 다시 학습하세요. / "
            "With a single good image the threshold was set on that image's own score: most new good "
            "parts will be rejected. Add good images and train again."
        )
    if method != "frr" or n_good < 1:
        return None
    floor = frr_floor(n_good)
    if target_frr >= floor:
        return None
    need = int(np.ceil(1.0 / target_frr - 1.0)) if target_frr > 0 else None
    more_ko = f"{target_frr:.1%}에는 약 {need}장이 필요" if need else "많을수록 좋음"
    more_en = f"about {need} are needed for {target_frr:.1%}" if need else "the more, the better"
    return (
        f"임계값이 양품 이미지 {n_good}장의 점수로 정해졌습니다: 새 양품이 그 모두보다 높게 나올 확률이 약 "
        f"{floor:.1%}이므로 과검출률은 목표 {target_frr:.1%}가 아니라 {floor:.1%} 가까이 됩니다. 양품 이미지를 "
        f"더 넣어({more_ko}) 다시 학습하세요. / "
        f"The threshold rests on {n_good} good images' scores: a new good part scores above all of them "
        f"about {floor:.1%} of the time, so the false-reject rate will be near {floor:.1%}, not the target "
        f"{target_frr:.1%}. Add good images ({more_en}) and train again."
    )
