"""Venues: sites, rooms, opening hours, closures and the geography of regions.

Imports `config`, `ledger` and `access` (its router's dependencies); nothing about experts or evaluations.
"""
