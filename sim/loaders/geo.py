"""Coordinates: units, telling degrees from metres, and the local plane for lon/lat data.

Longitude/latitude (WGS84) become metres on a local equirectangular plane
about the centre of the data's bounding box::

    x = R * cos(lat0) * (lon - lon0) * pi/180,    y = R * (lat - lat0) * pi/180

with ``R = 6,371,008.8 m`` (the IUGG mean Earth radius). Across a city (tens of
km) its distances are within a few tenths of a percent of the great-circle
ones. The origin goes into ``City.meta`` (``geo_origin_lon``,
``geo_origin_lat``) and from there into ``summary.json``, so the GeoJSON
export can invert the formula exactly without re-reading the input files.
"""

from __future__ import annotations

import numpy as np

__all__ = ["EARTH_RADIUS_M", "UNIT_M", "fit_scale", "looks_like_degrees", "project_lonlat", "unproject"]

EARTH_RADIUS_M = 6_371_008.8

#: Metres per unit.
UNIT_M: dict[str, float] = {"m": 1.0, "km": 1000.0, "ft": 0.3048, "mi": 1609.344}


def looks_like_degrees(x: np.ndarray, y: np.ndarray) -> bool:
    """Longitudes and latitudes of one city: in range, and spread over less than five degrees."""
    if len(x) == 0 or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return False
    in_range = bool(np.all(np.abs(x) <= 180.0) and np.all(np.abs(y) <= 90.0))
    return in_range and float(np.ptp(x)) < 5.0 and float(np.ptp(y)) < 5.0


def project_lonlat(lon: np.ndarray, lat: np.ndarray,
                   origin: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Local metres from lon/lat; returns ``x, y, lon0, lat0``.

    The origin is ``origin`` when given, else the centre of the bounding box.
    """
    if origin is None:
        origin = (float((np.min(lon) + np.max(lon)) / 2.0), float((np.min(lat) + np.max(lat)) / 2.0))
    lon0, lat0 = round(origin[0], 7), round(origin[1], 7)
    k = EARTH_RADIUS_M * np.pi / 180.0
    return k * np.cos(np.radians(lat0)) * (lon - lon0), k * (lat - lat0), lon0, lat0


def unproject(x: np.ndarray, y: np.ndarray, lon0: float, lat0: float) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of :func:`project_lonlat`."""
    k = EARTH_RADIUS_M * np.pi / 180.0
    return lon0 + x / (k * np.cos(np.radians(lat0))), lat0 + y / k


def fit_scale(x: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray, length_m: np.ndarray) -> float:
    """Median of link length over straight-line distance between its end nodes (1.0 when unknown).

    Roads are a little longer than the straight line between their ends, so
    for coordinates in metres this is about 1 to 1.3; far from it, the
    coordinates are in another unit (feet, schematic units) and this factor
    brings them to metres.
    """
    d = np.hypot(x[u] - x[v], y[u] - y[v])
    ok = np.isfinite(length_m) & (length_m > 0) & (d > 0)
    if ok.sum() == 0:
        return 1.0
    return float(np.median(length_m[ok] / d[ok]))
