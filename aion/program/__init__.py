"""Program operations: calls, evaluation, diagnosis, KPIs (pure, database-free engines)."""
