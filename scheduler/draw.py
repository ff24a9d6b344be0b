"""Run a draw on an instance document and build the `draw-result/1` document (D3: pure and replayable)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from config.rules import RuleParams
from scheduler.encoder import IdMaps, encode
from scheduler.exceptions import InstanceError
from scheduler.instance import RESULT_FORMAT, Instance, canonical_bytes, parse_instance, sha256_hex
from scheduler.solver.dayplan import solve_day
from scheduler.solver.problem import Problem
from scheduler.solver.project import DrawConfig, Outcome

logger = logging.getLogger(__name__)


def _v(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def software() -> str:
    """Name and version of everything the draw's output depends on."""
    return f"yidi {_v('yidi')} (numpy {_v('numpy')}, ortools {_v('ortools')})"


def parse_seed(seed_hex: str) -> bytes:
    """Decode a hex seed; raise InstanceError naming `seed` when it is not hex."""
    try:
        raw = bytes.fromhex(seed_hex)
    except ValueError:
        raise InstanceError("seed", "must be an even number of hexadecimal digits") from None
    if not raw:
        raise InstanceError("seed", "must not be empty")
    return raw


def seed_commitment(seed_hex: str) -> str:
    """The published commitment to a seed: SHA-256 of its bytes, hex."""
    return hashlib.sha256(parse_seed(seed_hex)).hexdigest()


def derived_seed(seed_hex: str, i: int) -> str:
    """Seed of the i-th draw of `--repeat`: hex SHA-256 of the seed bytes, ':' and i in decimal."""
    return hashlib.sha256(parse_seed(seed_hex) + b":" + str(i).encode("ascii")).hexdigest()


def limits_from_settings() -> DrawConfig:
    """The draw's deterministic effort limits from the deployment settings."""
    from config.settings import get_settings

    s = get_settings()
    return DrawConfig(batch=s.draw_batch_size, max_proposals=s.draw_max_proposals,
                      cpsat_seconds=s.cpsat_deterministic_seconds, max_aux_choices=s.max_aux_choices_tried)


def limits_of(result: dict[str, Any]) -> DrawConfig:
    """The limits a result was drawn with (recorded in it, so a replay uses the same: D3)."""
    lim = result.get("limits") or {}
    return DrawConfig(batch=int(lim.get("batch", 512)), max_proposals=int(lim.get("max_proposals", 200_000)),
                      cpsat_seconds=float(lim.get("cpsat_seconds", 5.0)),
                      max_aux_choices=int(lim.get("max_aux_choices", 120)))


def resolve_rules(inst: Instance, base: RuleParams | None = None) -> RuleParams:
    """Deployment rules (or the defaults) overridden by the instance's `rules` object."""
    try:
        return (base or RuleParams()).merged(inst.rules)
    except ValueError as exc:
        errors = getattr(exc, "errors", None)
        if callable(errors):
            err = errors()[0]
            raise InstanceError("$.rules." + ".".join(str(x) for x in err["loc"]), err["msg"]) from None
        raise InstanceError("$.rules", str(exc)) from None


def _project_doc(problem: Problem, ids: IdMaps, pi: int, out: Outcome) -> dict[str, Any]:
    p = problem.projects[pi]
    seats = []
    for need, members in zip(p.needs, out.members, strict=False):
        for e in sorted(members, key=lambda x: ids.experts[x]):
            site = out.seat_site[e]
            seats.append({"expert": ids.experts[e], "need": need.code, "site": ids.sites[site],
                          "room": ids.rooms[out.site_room[site]]})
    warnings = list(out.warnings)
    for rep in out.report:
        if out.status == "drawn" and rep["max_inclusion"] > problem.rules.max_predictability:
            warnings.append(
                "predictability: need %s has %d eligible experts, so each is drawn with probability up to "
                "%.2f (> %.2f); widen the pool with more or cross-province auxiliary sites or a larger "
                "max_travel_km" % (rep["need"], rep["eligible"], rep["max_inclusion"],
                                   problem.rules.max_predictability)
            )
    unmet = []
    for u in out.unmet:
        u = dict(u)
        if u.get("sites"):
            u["sites"] = [ids.sites[s] for s in u["sites"]]
            u["advice"] += " (no room with enough free seats at %s)" % ", ".join(u["sites"])
        else:
            u.pop("sites", None)
        unmet.append(u)
    return {
        "project": ids.projects[pi],
        "status": out.status,
        "sampling": out.sampling,
        "aux_sites": [ids.sites[s] for s in out.sites[1:]],
        "seats": seats,
        # Where the tenderer representatives sit (the main site's room), even with no expert there.
        "representatives_room": (ids.rooms[out.site_room[out.sites[0]]]
                                 if p.reps and out.sites and out.sites[0] in out.site_room else None),
        "alternates": [
            {"need": need.code, "experts": [ids.experts[a] for a in alts]}
            for need, alts in zip(p.needs, out.alternates, strict=False)
        ],
        "warnings": warnings,
        "unmet": unmet,
        "report": out.report,
        "proposals": out.proposals,
    }


def draw_parsed(
    doc: dict[str, Any],
    inst: Instance,
    seed_hex: str,
    *,
    base_rules: RuleParams | None = None,
    cfg: DrawConfig | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Draw an already validated instance (`doc` is its raw document, hashed as given)."""
    seed = parse_seed(seed_hex)
    rules = resolve_rules(inst, base_rules)
    problem, ids = encode(inst, rules)
    cfg = cfg or limits_from_settings()
    outcomes, _ = solve_day(problem, ids.projects, seed, cfg, progress)
    return {
        "format": RESULT_FORMAT,
        "instance_sha256": sha256_hex(canonical_bytes(doc)),
        "seed_sha256": hashlib.sha256(seed).hexdigest(),
        "seed": seed.hex(),
        "software": software(),
        "rules": rules.as_json(),
        "limits": {"batch": cfg.batch, "max_proposals": cfg.max_proposals, "cpsat_seconds": cfg.cpsat_seconds,
                   "max_aux_choices": cfg.max_aux_choices},
        "projects": [_project_doc(problem, ids, pi, outcomes[pi]) for pi in range(len(problem.projects))],
    }


def draw_instance(doc: dict[str, Any], seed_hex: str, **kwargs: Any) -> dict[str, Any]:
    """Validate an instance document and draw it with the given hex seed."""
    return draw_parsed(doc, parse_instance(doc), seed_hex, **kwargs)


def dumps_result(result: dict[str, Any], *, compact: bool = False) -> str:
    """The printed form of a result: stable, so a replay is byte-identical."""
    if compact:
        return json.dumps(result, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(result, ensure_ascii=False, indent=2)
