"""Settings, read from the environment (prefix ``NETZATLAS_``) or passed explicitly."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Root of the source checkout (holds ``data/``); used to find the bundled demo data.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "netzatlas"


class Settings(BaseSettings):
    """netzatlas settings. Every field can be set as ``NETZATLAS_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="NETZATLAS_", extra="ignore")

    database_url: str | None = Field(
        default=None, description="An existing PostGIS; unset means the embedded local cluster."
    )
    home: Path = Field(default_factory=_default_home, description="Data directory (cluster, outputs).")
    db_port: int = Field(default=54329, description="Port of the embedded cluster (loopback only).")
    db_name: str = "netzatlas"
    db_user: str = "netzatlas"
    storage_srid: int = Field(default=25832, description="CRS of stored geometries (ETRS89 / UTM 32N).")
    municipality_ars: str = Field(default="053340002002", description="Regional key (ARS) of the city.")
    municipality_name: str = "Aachen"
    municipality_boundary: Path = Field(
        default=DATA_DIR / "aachen" / "boundaries" / "aachen_stadtgrenze_vg250_simplified.geojson",
        description="Boundary file used to clip imports and to check coordinates.",
    )
    max_distance_outside_km: float = Field(
        default=20.0, description="Points farther than this outside the municipality are rejected."
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    api_exact_count_below: int = Field(
        default=100_000, description="numberMatched is an exact count when the planner expects fewer matching rows "
                                     "than this, else the planner's estimate (flagged numberMatchedEstimated)."
    )
    basemap_url: str | None = Field(
        default=None, description="XYZ tile URL of an external basemap; unset draws the registry's own."
    )
    # --- API limits (docs/security.md): refused with 413/400 before the work is done ---------------------------
    limit_body_bytes: int = Field(default=8_388_608, description="Largest body of a single-feature write "
                                  "(POST/PUT/PATCH items).")
    limit_sync_body_bytes: int = Field(default=134_217_728, description="Largest body of a sync request.")
    limit_sync_json_bytes: int = Field(default=33_554_432, description="Largest sync body sent as one GeoJSON "
                                       "document (parsed whole; larger syncs are sent as NDJSON, streamed).")
    limit_process_body_bytes: int = Field(default=65_536, description="Largest body of a process execution.")
    limit_other_body_bytes: int = Field(default=65_536, description="Largest body of any other request.")
    limit_value_bytes: int = Field(default=16_384, description="Largest text value of one property (UTF-8 bytes).")
    limit_attributes_bytes: int = Field(default=65_536, description="Largest free-form attributes object (as JSON).")
    limit_vertices: int = Field(default=100_000, description="Most vertices in one geometry.")
    limit_sync_features: int = Field(default=250_000, description="Most features in one sync request.")
    limit_sync_vertices: int = Field(default=3_000_000, description="Most vertices of all geometries in one sync "
                                     "request (what a sync holds in memory grows with it).")
    limit_ndjson_line_bytes: int = Field(default=8_388_608, description="Longest NDJSON line of a sync.")
    limit_json_depth: int = Field(default=64, description="Deepest nesting of a feature's JSON.")
    limit_page_bytes: int = Field(default=33_554_432, description="A page of items or changes is cut after this.")
    limit_tile_bytes: int = Field(default=4_194_304, description="Largest vector tile served.")
    limit_jobs_per_org: int = Field(default=2, description="Analysis jobs one organization may run at once.")
    limit_process_min_resolution_m: float = Field(default=5.0, description="Finest raster cell of an API run (m).")
    limit_process_cells: int = Field(default=25_000_000, description="Most raster cells of an API coverage run.")

    @property
    def local_db_dir(self) -> Path:
        return self.home / "pgdata"

    @property
    def output_dir(self) -> Path:
        return self.home / "output"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; call ``get_settings.cache_clear()`` after changing env)."""
    return Settings()
