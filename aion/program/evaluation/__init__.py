"""Evaluation and selection: rubrics, aggregation, ranking, conflicts of interest, blind review."""
