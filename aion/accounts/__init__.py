"""Companies (tenants), agencies, users, roles, sessions and API tokens."""
