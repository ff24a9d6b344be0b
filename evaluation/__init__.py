"""The life of an evaluation in the database: projects, bids, draws and seats, replacements, re-planning, statistics.

Runs the pure draw (`scheduler`) against stored venues and experts, seals its results, writes invitations
to the outbox and holds the project scopes. Imports the packages below it (not `operations`), nothing above.
"""
