"""AI-readiness diagnosis: questionnaire, scoring, recommendations, roadmap, comparison, report."""
