"""Alembic migrations (``aion db upgrade``)."""
