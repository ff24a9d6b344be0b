"""The composition root: the FastAPI app, the whole schema and its migrations, jobs, console pages, CLI, demo data.

Composition only: it wires every package together and may import all of them; nothing imports it.
"""
