"""Reading and writing vector files of the hierarchy through GDAL.

Reading goes through GeoDjango's GDAL bindings, so any format the system's GDAL reads works
(GeoJSON, Shapefile, GeoPackage, KML, …). Writing produces GeoJSON directly (coordinates as
Python's shortest round-trip repr, so they read back bit for bit) and GeoPackage through
``ogr2ogr`` from Debian's gdal-bin.
"""

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import shapely
from django.contrib.gis.gdal import DataSource, GDALException, SpatialReference
from django.utils.translation import gettext as _
from shapely.geometry.base import BaseGeometry

from gridcity import coords


class VectorFileError(Exception):
    """The file as a whole cannot be read: missing, unreadable, no such layer or field."""


@dataclass
class FeatureIn:
    """One feature as read: its position in the layer, attributes and WGS-84 geometry."""

    fid: int
    code: str | None
    name: str | None
    parent_code: str | None
    geom: BaseGeometry | None
    read_error: str | None = None

    @property
    def label(self) -> str:
        return f"feature {self.fid}" + (f" (code {self.code})" if self.code else "")


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def read_features(
    path: str | Path,
    *,
    code_field: str,
    name_field: str,
    parent_field: str | None = None,
    crs: str = "wgs84",
    layer: str | None = None,
) -> list[FeatureIn]:
    """Every feature of one layer, converted to WGS-84 lon/lat; per-feature problems recorded."""
    if crs not in coords.CRS_CHOICES:
        raise VectorFileError(_("unknown crs %(crs)r") % {"crs": crs})
    lyr = _layer_open(Path(path), layer)
    fields = list(lyr.fields)
    for wanted in (code_field, name_field, parent_field):
        if wanted is not None and wanted not in fields:
            raise VectorFileError(
                _("no field %(field)r in layer %(layer)s; it has: %(fields)s")
                % {"field": wanted, "layer": lyr.name, "fields": ", ".join(fields) or "-"}
            )
    reproject = lyr.srs is not None and not _is_wgs84(lyr.srs)
    features = []
    for number, feature in enumerate(lyr, start=1):
        item = FeatureIn(
            fid=number,
            code=_text(feature.get(code_field)),
            name=_text(feature.get(name_field)),
            parent_code=_text(feature.get(parent_field)) if parent_field else None,
            geom=None,
        )
        _geometry_read(item, feature, reproject=reproject, crs=crs)
        features.append(item)
    return features


def _layer_open(path: Path, layer: str | None):
    """The named layer of the file (the first without a name), or VectorFileError."""
    if not path.exists():
        raise VectorFileError(_("no such file: %(path)s") % {"path": path})
    try:
        source = DataSource(str(path))
    except GDALException as exc:
        raise VectorFileError(
            _("GDAL cannot read %(path)s: %(exc)s") % {"path": path, "exc": exc}
        ) from exc
    if layer is None:
        return source[0]
    names = [lyr.name for lyr in source]
    if layer not in names:
        raise VectorFileError(
            _("no layer %(layer)r; the file has %(names)s")
            % {"layer": layer, "names": ", ".join(names)}
        )
    return source[names.index(layer)]


def _geometry_read(item: FeatureIn, feature, *, reproject: bool, crs: str) -> None:
    """Set ``item.geom`` to the feature's geometry in WGS-84, or ``item.read_error``.

    A feature without any geometry keeps ``geom=None`` and is reported as empty later.
    """
    try:
        ogr = feature.geom
    except GDALException:
        return
    try:
        if reproject:
            ogr.transform(SpatialReference(4326))
        geom = shapely.force_2d(shapely.from_wkb(bytes(ogr.wkb)))
        if crs != "wgs84" and not geom.is_empty:
            geom = coords.shapely_transform(geom, crs, "wgs84")
        item.geom = geom
    except (GDALException, shapely.errors.GEOSException, TypeError, ValueError) as exc:
        item.read_error = _("the geometry cannot be read: %(exc)s") % {"exc": exc}


def _is_wgs84(srs: SpatialReference) -> bool:
    try:
        return srs.srid == 4326 or (srs.geographic and "WGS" in (srs.name or "").upper())
    except GDALException:
        return False


def write_geojson(path: str | Path, rows: Iterable[dict], *, name: str) -> int:
    """Write rows ({"properties": {...}, "geom": shapely}) as a GeoJSON FeatureCollection."""
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write(f'{{"type": "FeatureCollection", "name": {json.dumps(name)}, "features": [\n')
        for row in rows:
            if count:
                out.write(",\n")
            feature = {
                "type": "Feature",
                "properties": row["properties"],
                "geometry": shapely.geometry.mapping(row["geom"]),
            }
            out.write(json.dumps(feature, ensure_ascii=False))
            count += 1
        out.write("\n]}\n")
    return count


def write_geopackage(path: str | Path, layers: dict[str, list[dict]]) -> dict[str, int]:
    """Write one GeoPackage layer per entry of ``layers`` (name → rows)."""
    ogr2ogr = shutil.which("ogr2ogr")
    if ogr2ogr is None:
        raise VectorFileError(_("ogr2ogr is missing: install Debian's gdal-bin"))
    path = Path(path)
    if path.exists():
        path.unlink()
    counts = {}
    with tempfile.TemporaryDirectory() as tmp:
        for layer_name, rows in layers.items():
            source = Path(tmp) / f"{layer_name}.geojson"
            counts[layer_name] = write_geojson(source, rows, name=layer_name)
            args = [ogr2ogr, "-f", "GPKG", "-nln", layer_name, "-nlt", "MULTIPOLYGON"]
            if path.exists():
                args.append("-update")
            done = subprocess.run(
                [*args, str(path), str(source)], capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                raise VectorFileError(done.stderr.strip() or "ogr2ogr failed")
    return counts
