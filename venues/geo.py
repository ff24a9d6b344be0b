"""Geography: great-circle distances (rule S3) and the packaged reference regions."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, overload

import numpy as np
import numpy.typing as npt

# The IUGG mean Earth radius; draw-rules.md fixes it so that S3 distances are reproducible.
EARTH_RADIUS_KM = 6371.0088

FloatArray = npt.NDArray[np.float64]


@overload
def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float: ...


@overload
def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> FloatArray: ...


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> float | FloatArray:
    """Great-circle distance in km between WGS-84 points; elementwise (broadcasting) on arrays."""
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    h = np.sin(dphi / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2.0) ** 2
    # Rounding can push h a hair above 1 for antipodal points; arcsin would then return NaN.
    d = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    if d.ndim == 0:
        return float(d)
    return d


@dataclass(frozen=True, slots=True)
class Region:
    """One row of the reference regions table (6-digit administrative code and a centre point)."""

    code: str
    name_zh: str
    name_en: str
    province_zh: str
    lat: float
    lon: float
    role_hint: str

    @property
    def prefecture(self) -> str:
        """The prefecture-level prefix (first 4 digits) that rule S6 compares."""
        return prefecture_of(self.code)


def prefecture_of(region_code: str) -> str:
    """Prefecture-level part of a 6-digit region code (rule S6 compares these)."""
    return region_code[:4]


@lru_cache(maxsize=1)
def _regions() -> tuple[Region, ...]:
    text = resources.files("venues").joinpath("data/regions.csv").read_text(encoding="utf-8")
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        out.append(
            Region(
                code=row["region_code"].strip(),
                name_zh=row["name_zh"].strip(),
                name_en=row["name_en"].strip(),
                province_zh=row["province_zh"].strip(),
                lat=float(row["lat"]),
                lon=float(row["lon"]),
                role_hint=row.get("role_hint", "").strip(),
            )
        )
    return tuple(out)


def load_regions() -> list[Region]:
    """Read the packaged reference regions (venues/data/regions.csv), in file order."""
    return list(_regions())


def region_by_code(code: str) -> Region | None:
    """The reference region with this 6-digit code, or None when it is not in the table."""
    for region in _regions():
        if region.code == code:
            return region
    return None
