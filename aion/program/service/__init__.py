"""Use cases of program operations over the database (sessions in, never committed here)."""
