"""Suite-wide set-up: a test seal key, and the database fixtures (SQLite and PostgreSQL)."""

import base64
import os
import tempfile

# A fixed throw-away key, so tests never write a development key file into the checkout.
os.environ.setdefault("YIDI_SEAL_KEY", base64.b64encode(bytes(range(32))).decode())
os.environ.setdefault("YIDI_DATABASE_URL", "sqlite:///./var/test-default.db")
# The checkpoint signing key lives outside the checkout (and outside every database), as in production.
os.environ.setdefault("YIDI_LEDGER_SIGNING_KEY_FILE",
                      os.path.join(tempfile.mkdtemp(prefix="yidi-ledger-key-"), "ledger-signing-key.pem"))
# Apps under test run no background jobs; job tests start their own schedulers.
os.environ.setdefault("YIDI_JOBS_ENABLED", "false")

import pytest  # noqa: E402

from api import i18n  # noqa: E402
from tests.demo_support import Doc, full_province, little_province  # noqa: E402

# A page that asks for a message absent from its language's catalogue fails the test that renders it.
i18n.set_strict(True)

pytest_plugins = ["tests.db_fixtures", "tests.sfu_fixtures", "tests.tsa_fixtures"]


@pytest.fixture(scope="module")
def province() -> Doc:
    """The full demo province (20,000 experts, 150 projects), generated once per test run."""
    return full_province()


@pytest.fixture(scope="module")
def little() -> Doc:
    """The small demo province (1,500 experts, 12 projects)."""
    return little_province()
