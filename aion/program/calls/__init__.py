"""Calls: eligibility rules, deadlines with extensions, duplicate-support checks."""
