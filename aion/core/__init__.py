"""Shared platform plumbing: database, tenancy, audit, security."""
