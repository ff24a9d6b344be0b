"""The `draw-instance/1` interchange format: parsing, validation and canonical hashing."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import date
from itertools import chain
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from scheduler.exceptions import InstanceError
from scheduler.export_gc import gc_paused

FORMAT = "draw-instance/1"
RESULT_FORMAT = "draw-result/1"
SPECIALTY_RE = re.compile(r"^[A-Z](\d\d)+$")
REGION_RE = re.compile(r"^\d{6}$")

Procedure = Literal["engineering_tender", "gp_tender", "gp_negotiation"]
RelationKind = Literal["former_employment", "director", "shareholder", "relative", "legal_dispute", "avoid"]
ExpertStatus = Literal["active", "suspended", "removed", "blacklisted"]


# A capital letter and 2-digit levels (评标专家专业分类标准), e.g. A0801.
SpecialtyCode = Annotated[str, StringConstraints(pattern=SPECIALTY_RE.pattern)]


class _M(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class RoomIn(_M):
    id: str = Field(min_length=1)
    seats: int = Field(ge=0)


class SiteIn(_M):
    id: str = Field(min_length=1)
    name: str = ""
    region: str = Field(pattern=REGION_RE.pattern)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    active: bool = True
    rooms: list[RoomIn] = Field(default_factory=list)


class OrgIn(_M):
    id: str = Field(min_length=1)
    name: str = ""


class LeaveIn(_M):
    from_: date = Field(alias="from")
    to: date


class ExpertIn(_M):
    id: str = Field(min_length=1)
    name: str = ""
    birth_date: date
    region: str = Field(pattern=REGION_RE.pattern)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    employer: str | None = None
    specialties: list[SpecialtyCode] = Field(min_length=1)
    status: ExpertStatus = "active"
    leave: list[LeaveIn] = Field(default_factory=list)


class RelationIn(_M):
    expert: str
    org: str
    kind: RelationKind
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None


class PenaltyIn(_M):
    expert: str
    date: date
    reason: str = ""


class HistoryIn(_M):
    project: str
    tenderer: str | None = None
    start: AwareDatetime
    end: AwareDatetime
    experts: list[str] = Field(default_factory=list)


class BookingIn(_M):
    expert: str
    start: AwareDatetime
    end: AwareDatetime


class RoomBookingIn(_M):
    room: str
    seats: int = Field(ge=0)
    start: AwareDatetime
    end: AwareDatetime


class NeedIn(_M):
    specialty: str = Field(pattern=SPECIALTY_RE.pattern)
    count: int = Field(ge=1)


class ProjectIn(_M):
    id: str = Field(min_length=1)
    name: str = ""
    procedure: Procedure
    budget: float = Field(ge=0)
    region: str = Field(pattern=REGION_RE.pattern)
    tenderer: str
    agent: str | None = None
    bidders: list[str] = Field(default_factory=list)
    supervisor_orgs: list[str] = Field(default_factory=list)
    start: AwareDatetime
    end: AwareDatetime
    size: int = Field(ge=1)
    representatives: int = Field(ge=0)
    main_site: str
    aux_sites: list[str] | None = Field(default=None, max_length=20)
    needs: list[NeedIn] = Field(min_length=1)
    excluded_experts: list[str] = Field(default_factory=list)


class Instance(_M):
    format: Literal["draw-instance/1"]
    rules: dict[str, Any] = Field(default_factory=dict)
    sites: list[SiteIn]
    orgs: list[OrgIn] = Field(default_factory=list)
    experts: list[ExpertIn]
    relations: list[RelationIn] = Field(default_factory=list)
    penalties: list[PenaltyIn] = Field(default_factory=list)
    history: list[HistoryIn] = Field(default_factory=list)
    bookings: list[BookingIn] = Field(default_factory=list)
    room_bookings: list[RoomBookingIn] = Field(default_factory=list)
    projects: list[ProjectIn]


def json_path(loc: Iterable[Any]) -> str:
    """Render a pydantic location tuple as a JSON path: `projects[3].needs[0].count`."""
    out = "$"
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{'from' if part == 'from_' else part}"
    return out


def canonical_bytes(doc: Any) -> bytes:
    """Canonical JSON: keys sorted, no insignificant white space, UTF-8."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def parse_instance(doc: Any) -> Instance:
    """Validate a decoded instance document; raise InstanceError naming the JSON path."""
    if not isinstance(doc, dict):
        raise InstanceError("$", "an instance must be a JSON object")
    with gc_paused():
        try:
            inst = Instance.model_validate(doc)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise InstanceError(json_path(err["loc"]), err["msg"]) from None
        _check_references(inst)
    return inst


def _unique(keys: list[str], path: str, what: str) -> set[str]:
    seen = set(keys)
    if len(seen) != len(keys):
        dup: set[str] = set()
        for i, key in enumerate(keys):
            if key in dup:
                raise InstanceError(path.format(i), f"duplicate {what} id {key!r}")
            dup.add(key)
    return seen


def _need(ids: set[str], value: str | None, path: str, what: str) -> None:
    if value is not None and value not in ids:
        raise InstanceError(path, f"unknown {what} {value!r}")


def _all_known(ids: set[str], values: list[str], path: str, what: str) -> None:
    # Paths are only formatted on failure: building one per item costs more than the check.
    if not ids.issuperset(values):
        i = next(i for i, v in enumerate(values) if v not in ids)
        raise InstanceError(path.format(i), f"unknown {what} {values[i]!r}")


def _window(start: Any, end: Any, path: str) -> None:
    if end <= start:
        raise InstanceError(f"{path}.end", "must be after start")


def _check_references(inst: Instance) -> None:
    sites = _unique([s.id for s in inst.sites], "$.sites[{}].id", "site")
    room_list = [r.id for s in inst.sites for r in s.rooms]
    if len(set(room_list)) != len(room_list):
        for i, s in enumerate(inst.sites):
            for j, r in enumerate(s.rooms):
                if room_list.count(r.id) > 1:
                    raise InstanceError(f"$.sites[{i}].rooms[{j}].id", f"duplicate room id {r.id!r}")
    rooms = set(room_list)
    orgs = _unique([o.id for o in inst.orgs], "$.orgs[{}].id", "org")
    experts = _unique([e.id for e in inst.experts], "$.experts[{}].id", "expert")
    _unique([p.id for p in inst.projects], "$.projects[{}].id", "project")
    employers = [e.employer for e in inst.experts if e.employer is not None]
    if not orgs.issuperset(employers):
        for i, e in enumerate(inst.experts):
            _need(orgs, e.employer, f"$.experts[{i}].employer", "org")
    for i, e in enumerate(inst.experts):
        if e.leave and any(lv.to < lv.from_ for lv in e.leave):
            j = next(j for j, lv in enumerate(e.leave) if lv.to < lv.from_)
            raise InstanceError(f"$.experts[{i}].leave[{j}].to", "must not be before from")
    _all_known(experts, [r.expert for r in inst.relations], "$.relations[{}].expert", "expert")
    _all_known(orgs, [r.org for r in inst.relations], "$.relations[{}].org", "org")
    _all_known(experts, [p.expert for p in inst.penalties], "$.penalties[{}].expert", "expert")
    history = inst.history
    # One pass over all of history first; the item-by-item pass, which names the first bad item,
    # runs only when something is wrong.
    if not (all(h.end > h.start for h in history)
            and orgs.issuperset(h.tenderer for h in history if h.tenderer is not None)
            and experts.issuperset(chain.from_iterable(h.experts for h in history))):
        for i, h in enumerate(history):
            if h.end <= h.start:
                _window(h.start, h.end, f"$.history[{i}]")
            if h.tenderer is not None and h.tenderer not in orgs:
                raise InstanceError(f"$.history[{i}].tenderer", f"unknown org {h.tenderer!r}")
            if not experts.issuperset(h.experts):
                _all_known(experts, h.experts, f"$.history[{i}].experts[{{}}]", "expert")
    _all_known(experts, [b.expert for b in inst.bookings], "$.bookings[{}].expert", "expert")
    for i, b in enumerate(inst.bookings):
        _window(b.start, b.end, f"$.bookings[{i}]")
    _all_known(rooms, [b.room for b in inst.room_bookings], "$.room_bookings[{}].room", "room")
    for i, rb in enumerate(inst.room_bookings):
        _window(rb.start, rb.end, f"$.room_bookings[{i}]")
    for i, p in enumerate(inst.projects):
        path = f"$.projects[{i}]"
        _window(p.start, p.end, path)
        _need(orgs, p.tenderer, f"{path}.tenderer", "org")
        _need(orgs, p.agent, f"{path}.agent", "org")
        for key in ("bidders", "supervisor_orgs"):
            for j, o in enumerate(getattr(p, key)):
                _need(orgs, o, f"{path}.{key}[{j}]", "org")
        _need(sites, p.main_site, f"{path}.main_site", "site")
        if p.aux_sites is not None:
            seen: set[str] = set()
            for j, aux in enumerate(p.aux_sites):
                _need(sites, aux, f"{path}.aux_sites[{j}]", "site")
                if aux == p.main_site:
                    raise InstanceError(f"{path}.aux_sites[{j}]", "the main site cannot also be auxiliary")
                if aux in seen:
                    raise InstanceError(f"{path}.aux_sites[{j}]", f"site {aux!r} listed twice")
                seen.add(aux)
        for j, x in enumerate(p.excluded_experts):
            _need(experts, x, f"{path}.excluded_experts[{j}]", "expert")
        codes = [n.specialty for n in p.needs]
        if len(set(codes)) != len(codes):
            raise InstanceError(f"{path}.needs", "a specialty is listed twice; merge the counts")
        if p.representatives > p.size:
            raise InstanceError(f"{path}.representatives", "exceeds the committee size")
        total = sum(n.count for n in p.needs)
        if total != p.size - p.representatives:
            raise InstanceError(
                f"{path}.needs",
                f"counts add up to {total}, but size - representatives = {p.size - p.representatives}",
            )


def load_instance_file(path: str) -> tuple[dict[str, Any], Instance]:
    """Read and validate an instance file; return the raw document and the parsed model."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise InstanceError("$", f"file not found: {path}") from None
    except UnicodeDecodeError:
        raise InstanceError("$", "the file is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InstanceError("$", f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    return doc, parse_instance(doc)
