"""The AI utilization platform: jobs on shared compute and content-addressed data storage."""
