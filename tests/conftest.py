"""Suite-wide set-up: a test seal key, and the database fixtures (SQLite and PostgreSQL)."""

import base64
import os

# A fixed throw-away key, so tests never write a development key file into the checkout.
os.environ.setdefault("YIDI_SEAL_KEY", base64.b64encode(bytes(range(32))).decode())
os.environ.setdefault("YIDI_DATABASE_URL", "sqlite:///./var/test-default.db")

pytest_plugins = ["tests.db_fixtures"]
