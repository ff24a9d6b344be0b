"""Every package's scheduled-job bodies in one table: job id -> `f(session, *, now) -> dict` of counts.

Each package keeps its bodies in its own `scheduled.py`; only the composition root joins them, so no
package needs to know of another's jobs. The runner (api.jobs.runner) gives each its trigger.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from audit import witness as ledger_jobs
from av_monitor import scheduled as av_jobs
from evaluation import scheduled as evaluation_jobs
from notify import scheduled as notify_jobs
from operations import scheduled as operation_jobs

JobBody = Callable[..., dict[str, Any]]
BODIES: dict[str, JobBody] = {
    **notify_jobs.BODIES,
    **evaluation_jobs.BODIES,
    **av_jobs.BODIES,
    **operation_jobs.BODIES,
    **ledger_jobs.BODIES,
}
