"""Root exception of the program-operations domain.

Messages are Korean first, then English, and name the bad value and the valid options.
"""

from __future__ import annotations

from aion.errors import AionError


class ProgramError(AionError):
    """Root of every error raised by ``aion.program``."""


class InvalidBRNError(ProgramError, ValueError):
    """A Korean business registration number that is malformed or fails its check digit."""


class QuestionnaireError(ProgramError, ValueError):
    """A questionnaire definition or a set of answers that does not fit it."""


class EvaluationError(ProgramError, ValueError):
    """Bad rubric, score sheet or aggregation request."""


class CallError(ProgramError, ValueError):
    """Bad call definition, eligibility rule or deadline."""


class KPIError(ProgramError, ValueError):
    """Bad KPI target, record or export request."""


class ReportError(ProgramError):
    """A report (PDF, Excel) could not be produced, e.g. no Korean font is installed."""
