"""The coordinator web console: server-rendered pages.

Why server-rendered Jinja2 pages with a little vanilla JavaScript and no npm build: nothing has to
be built or downloaded when the service is installed (the trading centres' intranets often have no
route to a package registry), every form works without JavaScript (the scripts only add polling and
confirmations), and charts are inline SVG rendered on the server, so no chart library is shipped.

Pages call the domain services directly (not the HTTP API), authenticate with the session cookie,
apply the same roles and site scopes as the API (`evaluation.visibility`), ledger every refusal and
check the session's CSRF token on every POST form. Each area is one module with its own router;
`router` gathers them, all hidden from the OpenAPI schema.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.pages import (
    audit,
    calendar,
    closures,
    dayplan,
    draws,
    expert_home,
    login,
    notices,
    openings,
    project_form,
    projects,
    recordings,
    registry,
    rooms,
    stats,
    terminal,
    transparency,
    user_forms,
    venue_forms,
    wall,
)

router = APIRouter(include_in_schema=False)
# project_form first: its /projects/new must win over /projects/{code}.
for _module in (login, calendar, project_form, projects, draws, dayplan, notices, rooms, stats, registry,
                closures, venue_forms, user_forms, terminal, audit, recordings, wall, openings, expert_home,
                transparency):
    router.include_router(_module.router)
