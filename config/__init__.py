"""Ground floor: settings, the database engine, keys and signing, sealing primitives, the clock, rule parameters.

Owns what every other package needs and nothing domain-specific. Imports no other Yidi package.
"""
