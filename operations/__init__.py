"""Long operations (imports, day-plan draws) in a background pool, with progress, heartbeats and the stale sweep.

A foundation beside `notify`: any domain may start an operation. Imports only `config` and `access`.
"""
