"""How a defect head's logits join the memory bank's distances into one patch score."""

from __future__ import annotations

from typing import Any, Literal, cast

import numpy as np

from aion.solutions.inspection.errors import InspectionError

#: How the standardised bank distance ``b`` and head logit ``h`` of a patch make its score:
#: ``"logaddexp"``, ``log(e^b + e^h)``, a soft maximum (format 7: a patch is as anomalous as the
#: more confident of the two says), or ``"sum"``, ``b + h`` (format 5 and 6 heads).
CombineRule = Literal["logaddexp", "sum"]
COMBINE_RULES: tuple[CombineRule, ...] = ("logaddexp", "sum")


def head_rule(settings: dict[str, Any]) -> CombineRule:
    """The rule of combination in a head's stored settings (``meta.defect_head``): format 5 and 6
    heads stored none and were summed.

    >>> head_rule({}), head_rule({"combine": "logaddexp"})
    ('sum', 'logaddexp')
    """
    rule = settings.get("combine", "sum")
    if rule not in COMBINE_RULES:
        raise InspectionError(
            f"알 수 없는 결합 방식: {rule!r} (가능: {', '.join(COMBINE_RULES)}) / "
            f"Unknown combination rule {rule!r} (valid: {', '.join(COMBINE_RULES)})"
        )
    return cast(CombineRule, rule)


def combine(
    bank: np.ndarray,
    logits: np.ndarray,
    bank_mean: float,
    bank_std: float,
    head_mean: float,
    head_std: float,
    rule: CombineRule,
) -> np.ndarray:
    """Patch distances and defect-head logits, each standardised on good images, joined by
    ``rule`` (:data:`COMBINE_RULES`).

    >>> combine(np.array([2.0]), np.array([-1.0]), 1.0, 0.5, 0.0, 2.0, rule="sum").tolist()
    [1.5]
    >>> round(float(combine(np.array([2.0]), np.array([-1.0]), 1.0, 0.5, 0.0, 2.0, "logaddexp")[0]), 4)
    2.0789
    """
    out = (bank - np.float32(bank_mean)) / np.float32(bank_std)
    head = (logits - np.float32(head_mean)) / np.float32(head_std)
    if rule == "sum":
        out += head
    else:
        np.logaddexp(out, head, out=out)
    return out.astype(np.float32, copy=False)
