"""Users, roles and site scopes; login, sessions and API tokens."""
