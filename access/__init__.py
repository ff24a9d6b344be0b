"""Access control: users, roles, site scopes, passwords, tokens, CSRF, the FastAPI dependencies and the error shape.

A foundation every domain's router uses (`access.deps`). Imports only `config` and `ledger`; project scopes,
which need evaluations, live in `evaluation.visibility` and `evaluation.guards`.
"""
