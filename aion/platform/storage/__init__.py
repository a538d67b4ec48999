"""Content-addressed blob storage for data sets: chunked, constant-memory, deduplicated, resumable."""
