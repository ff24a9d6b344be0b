"""Great-circle distances and the packaged reference regions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from venues.geo import EARTH_RADIUS_KM, haversine_km, load_regions, prefecture_of, region_by_code


def test_one_degree_of_latitude_is_r_times_pi_over_180() -> None:
    assert haversine_km(36.0, 117.0, 37.0, 117.0) == pytest.approx(6371.0088 * math.pi / 180, rel=1e-12)


def test_equator_quarter_and_antipodes() -> None:
    assert haversine_km(0.0, 0.0, 0.0, 90.0) == pytest.approx(EARTH_RADIUS_KM * math.pi / 2, rel=1e-12)
    # arcsin is ill-conditioned next to 1: antipodal distances are good to ~1e-8 only.
    assert haversine_km(10.0, 20.0, -10.0, -160.0) == pytest.approx(EARTH_RADIUS_KM * math.pi, rel=1e-7)


def test_scalar_result_is_a_python_float_and_symmetric() -> None:
    d = haversine_km(36.651, 117.120, 36.067, 120.383)
    assert isinstance(d, float)
    assert d == pytest.approx(haversine_km(36.067, 120.383, 36.651, 117.120), rel=1e-15)
    # Jinan → Qingdao city centres, checked against the spherical law of cosines.
    p1, p2 = math.radians(36.651), math.radians(36.067)
    cos_c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(math.radians(120.383 - 117.120))
    assert d == pytest.approx(EARTH_RADIUS_KM * math.acos(cos_c), rel=1e-9)
    assert haversine_km(36.651, 117.120, 36.651, 117.120) == 0.0


def test_elementwise_and_broadcasting_on_arrays() -> None:
    lats = np.array([36.0, 0.0, 10.0])
    lons = np.array([117.0, 0.0, 20.0])
    to_lat = np.array([37.0, 0.0, -10.0])
    to_lon = np.array([117.0, 90.0, -160.0])
    got = haversine_km(lats, lons, to_lat, to_lon)
    assert got.shape == (3,)
    for i in range(3):
        assert got[i] == pytest.approx(haversine_km(float(lats[i]), float(lons[i]), float(to_lat[i]),
                                                    float(to_lon[i])), rel=1e-15)
    grid = haversine_km(lats[:, None], lons[:, None], to_lat[None, :], to_lon[None, :])
    assert grid.shape == (3, 3)
    assert grid[1, 2] == pytest.approx(haversine_km(0.0, 0.0, -10.0, -160.0), rel=1e-15)


def test_load_regions_reads_the_packaged_table() -> None:
    regions = load_regions()
    assert len(regions) == 40
    codes = [r.code for r in regions]
    assert len(set(codes)) == len(codes)
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    jinan = region_by_code("370100")
    assert jinan is not None and jinan.name_en == "Jinan" and jinan.lat == 36.651 and jinan.lon == 117.120
    assert jinan.prefecture == "3701" == prefecture_of("370114")
    assert region_by_code("999999") is None
    # A copy: callers may mutate the list without corrupting the cache.
    regions.clear()
    assert len(load_regions()) == 40
