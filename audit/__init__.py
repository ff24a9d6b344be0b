"""The supervisors' operation log: ledger search in the caller's scope, chain verification, evidence export.

A service on top of an evaluation; imports `evaluation` and below only. `query` maps ledger subjects to
sites and projects (the scope rules are documented there), `evidence` builds an inspector's zip for one
project, `views` is the API router; the console page is `api.pages.audit`.
"""
