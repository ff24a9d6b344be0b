"""Accounts: the login routes and user administration (roles, bindings to an expert or a room).

It imports `experts` and `venues` (an account may be bound to an expert or a room) and the foundations;
the users, tokens and dependencies themselves are the foundation `access`.
"""
