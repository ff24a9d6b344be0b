"""The draw only: instance format, encoder, the pure solver, draw, replay, replacement and re-planning rules.

No database and no web (an import-linter contract checks it): instances in, results out. Imports
`config` (rule parameters) and `venues.geo`; the database side of a draw is `evaluation`.
"""
