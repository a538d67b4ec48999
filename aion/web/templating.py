"""Jinja2 rendering with the reader's language, the user and the CSRF token in context."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from aion.i18n import LANGUAGE_NAMES, gettext
from aion.web.forms import pick_language
from aion.web.nav import items_for

AION_DIR = Path(__file__).resolve().parent.parent
# Each domain keeps its templates in <domain>/templates/<domain>/...
TEMPLATE_DIRS = [AION_DIR / "web" / "templates", AION_DIR / "accounts" / "templates"]

# Short notices shown after a redirect (?msg=key); only known keys are shown.
FLASH = {
    "saved": "Saved.",
    "created": "Created.",
    "password_changed": "Your password was changed.",
    "logged_out": "You have logged out.",
    "unlocked": "The account was unlocked.",
    "token_revoked": "The token was revoked.",
}

ROLE_LABELS = {
    "admin": "Administrator",
    "operator": "Program operator",
    "consultant": "Consultant",
    "evaluator": "Evaluator",
    "company_admin": "Company administrator",
    "company_member": "Company member",
    "instructor": "Instructor",
    "learner": "Learner",
}

SIZE_LABELS = {
    "micro": "Micro enterprise",
    "small": "Small enterprise",
    "medium": "Medium enterprise",
    "large": "Large enterprise",
}

#: What a job's or model version's metric key means (English message ids; the key itself is
#: shown beside it for people who know it). Keys not named here are shown as they are.
METRIC_LABELS = {
    "image_auroc": "Image AUROC",
    "pixel_auroc": "Pixel AUROC",
    "aupro": "AUPRO (per-region overlap)",
    "f1": "F1 score",
    "threshold": "Threshold",
    "false_reject_rate": "False-reject rate",
    "escape_rate": "Escape rate",
    "calibration_frr": "False-reject rate on held-back good images",
    "ms_per_image": "Milliseconds per image",
    "images_per_second": "Images per second",
    "train_images": "Training images",
    "defect_images": "Labelled defect images",
    "head_images": "Images the defect head learned from",
    "train_seconds": "Training time (seconds)",
    # good training images scored above the threshold as new parts (goodcheck.py): each a
    # defective part among the good ones or a view the model saw too rarely
    "good_images_rejected": "Good training images rejected as new parts",
    # measured on the masked images the head learned from, each scored by a head fitted without
    # it (training's out-of-fold check), not on the evaluation's images
    "head_pixel_auroc_bank": "Masked images, out of fold: pixel AUROC, memory bank alone",
    "head_pixel_auroc_head": "Masked images, out of fold: pixel AUROC, with the defect head",
    "head_aupro_bank": "Masked images, out of fold: AUPRO, memory bank alone",
    "head_aupro_head": "Masked images, out of fold: AUPRO, with the defect head",
    "target_far": "Target false-alarm rate",
    "rows": "Rows",
    "sensors": "Sensors",
    "normal_start": "Normal period start (row)",
    "normal_end": "Normal period end (row)",
    "alarms": "Alarms",
}

#: What a registered model's kind means (English message ids); other kinds are shown as stored.
MODEL_KINDS = {"inspection": "Visual inspection", "process": "Process monitoring"}

#: Metrics that are shares (shown as percentages) and counts (shown as whole numbers).
RATE_METRICS = frozenset({"false_reject_rate", "escape_rate", "calibration_frr", "target_frr", "target_far"})
COUNT_METRICS = frozenset(
    {
        "train_images",
        "defect_images",
        "head_images",
        "rows",
        "sensors",
        "normal_start",
        "normal_end",
        "alarms",
    }
)
#: Metrics in units worth one decimal (times, speeds).
UNIT_METRICS = frozenset({"ms_per_image", "images_per_second", "train_seconds"})
#: Metrics that are scores between 0 and 1 (shown with four decimals: 1.0000, not 1).
SCORE_METRICS = frozenset(
    {"image_auroc", "pixel_auroc", "aupro", "f1"} | {k for k in METRIC_LABELS if k.startswith("head_")}
)

#: What the stage a running job reports means (English message ids); other messages are shown
#: in the reader's language when they are bilingual ("Korean / English"), else as they are.
JOB_STAGES = {
    "load": "Loading the data",
    "features": "Extracting features",
    "coreset": "Building the memory bank",
    "calibrate": "Scoring the held-back good images",
    "defect head": "Training the defect head",
    "evaluate": "Evaluating",
    "score": "Scoring",
    "normal period": "Learning the normal period",
    "drift margin": "Setting the drift margin",
    "done": "Done",
}


def metric_value(key: str, value: object) -> str:
    """A metric's value as a reader expects it: shares in percent, counts whole, times and speeds
    with one decimal, other numbers to 4 places.

    >>> metric_value("false_reject_rate", 0.08333), metric_value("train_images", 240.0)
    ('8.3%', '240')
    >>> metric_value("ms_per_image", 14.6926), metric_value("image_auroc", 1.0), metric_value("f1", None)
    ('14.7', '1.0000', '')
    >>> metric_value("threshold", 34.172730803), metric_value("threshold", 2.0)
    ('34.1727', '2')
    """
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if key in RATE_METRICS:
        return f"{value * 100:.1f}%"
    if key in COUNT_METRICS:
        return f"{round(value):,}"
    if key in UNIT_METRICS:
        return f"{value:,.1f}"
    if key in SCORE_METRICS:
        return f"{value:.4f}"
    return f"{round(value, 4):g}" if abs(value) < 1e5 else f"{value:,.0f}"


def metric_items(metrics: dict[str, Any]) -> list[tuple[str, Any]]:
    """A job's or version's metrics in a reader's order: those :data:`METRIC_LABELS` names in its
    order (quality, threshold, rates, speed, counts), then any others by key.

    >>> [k for k, _ in metric_items({"zeta": 1, "train_images": 19, "f1": 1.0, "image_auroc": 1.0})]
    ['image_auroc', 'f1', 'train_images', 'zeta']
    """
    order = {k: i for i, k in enumerate(METRIC_LABELS)}
    return sorted(metrics.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))


#: What an audit log action means (English message ids); other actions are shown as recorded.
AUDIT_ACTIONS = {
    "create": "Created",
    "update": "Changed",
    "delete": "Deleted",
    "login.success": "Logged in",
    "login.failed": "Login failed",
    "login.refused_inactive": "Login refused: account disabled",
    "login.refused_locked": "Login refused: account locked",
    "logout": "Logged out",
    "user.locked": "Account locked",
    "user.unlock": "Account unlocked",
    "dataset_version": "Data set version committed",
    "dataset_labels": "Labels changed",
    "model_promote": "Model version promoted",
    "model_rollback": "Model version rolled back",
    "model_deploy": "Model deployed to a line machine",
    "model_undeploy": "Model removed from a line machine",
    "model_trial_start": "Model version put on trial on a line",
    "model_trial_end": "Model trial ended",
    "inspection_threshold": "Inspection threshold saved",
    "job_submit": "Job submitted",
    "job_cancel": "Job cancelled",
    "line_alarm_ack": "Alarm acknowledged",
    "line_interlock_off": "Interlock switched off",
}


def field_list(values: object) -> str:
    """A stored record's fields as a reader scans them (the audit log): ``key: value`` pairs, an
    empty value as "-", Korean as Korean (not ``\\uXXXX`` escapes), nested values as compact JSON.

    >>> field_list({"name": "1호 펌프", "job_id": None, "metrics": {"alarms": 3, "f1": None}})
    'name: 1호 펌프 · job_id: - · metrics: {"alarms": 3, "f1": "-"}'
    >>> field_list(None), field_list([1, 2])
    ('', '[1, 2]')
    """
    if not values:
        return ""
    if not isinstance(values, dict):
        return json.dumps(values, ensure_ascii=False, default=str)

    def dashes(v: object) -> object:
        if isinstance(v, dict):
            return {k: dashes(x) for k, x in v.items()}
        if isinstance(v, list):
            return [dashes(x) for x in v]
        return "-" if v is None else v

    def one(v: object) -> str:
        v = dashes(v)
        return json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, dict | list) else str(v)

    return " · ".join(f"{k}: {one(v)}" for k, v in values.items())


env = Environment(
    loader=FileSystemLoader([str(p) for p in TEMPLATE_DIRS]),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def add_template_dir(path: Path) -> None:
    """Let a domain register its template folder."""
    loader = env.loader
    assert isinstance(loader, FileSystemLoader)
    if str(path) not in loader.searchpath:
        loader.searchpath.append(str(path))


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang: str = getattr(request.state, "lang", "ko")

    def _(msgid: str, **params: Any) -> str:
        return gettext(lang, msgid, **params)

    ctx = {
        "request": request,
        "lang": lang,
        "languages": LANGUAGE_NAMES,
        "_": _,
        "user": getattr(request.state, "viewer", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "role_name": lambda role: _(ROLE_LABELS.get(role) or str(role)),
        "size_name": lambda size: _(SIZE_LABELS.get(size) or str(size)),
        "metric_name": lambda key: _(METRIC_LABELS[key]) if key in METRIC_LABELS else str(key),
        "pick": lambda text: pick_language(str(text), lang),  # a stored "Korean / English" message
        "metric_value": metric_value,
        "metric_items": metric_items,
        "field_list": field_list,
        "audit_action": lambda code: _(AUDIT_ACTIONS[code]) if code in AUDIT_ACTIONS else str(code),
        "model_kind": lambda kind: _(MODEL_KINDS[kind]) if kind in MODEL_KINDS else str(kind),
        "job_message": lambda text: (
            _(JOB_STAGES[text]) if text in JOB_STAGES else pick_language(str(text), lang)
        ),
        "nav_items": items_for,
        "flash": FLASH.get(request.query_params.get("msg", ""), ""),
        **context,
    }
    html = env.get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code)
