"""The pure solver core: frozen integer-indexed problems in, committees out (CP-SAT, rejection sampling, seating).

No database, no clock, no settings (an import-linter contract checks it); imports only `config.rules`.
"""
