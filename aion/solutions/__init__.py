"""Domain solutions built on the AI-on platform (inspection, process monitoring, ...)."""
