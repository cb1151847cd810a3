"""Settings, read from the environment (prefix ``NETZATLAS_``) or passed explicitly."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Root of the source checkout (holds ``data/``); used to find the bundled demo data.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
#: The demo's municipality (Aachen) and the bundled boundary files.
AACHEN_ARS = "053340002002"
AACHEN_BOUNDARY = DATA_DIR / "aachen" / "boundaries" / "aachen_stadtgrenze_vg250_simplified.geojson"
GERMANY_BOUNDARIES = DATA_DIR / "germany" / "VG250_GEM_simplified.zip"
#: Names of municipalities by ARS where no boundary file tells them (the bundled VG250 zip holds only the key);
#: any other city sets ``NETZATLAS_MUNICIPALITY_NAME``.
KNOWN_MUNICIPALITIES = {AACHEN_ARS: "Aachen", "051130000000": "Essen"}
#: How messages call a city whose name is neither set nor known (followed by its ARS when there is one).
UNNAMED = "the municipality"


def ags(key: str) -> str:
    """The 8-digit municipality key (AGS) of a 12-digit ARS (its digits 1–5 and 10–12); another key as it is."""
    return key[:5] + key[9:] if len(key) == 12 else key


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
    municipality_ars: str | None = Field(
        default=None, description="Regional key (ARS, 12 digits) of the city; unset: Aachen's (the demo) unless a "
                                  "boundary file of its own is set, which then holds the one municipality.")
    municipality_name: str = Field(
        default="", description="Name of the city in messages and reports; unset: known from the ARS (Aachen, Essen), "
                                "else 'the municipality <ARS>'.")
    municipality_boundary: Path = Field(
        default=AACHEN_BOUNDARY,
        description="Boundary file used to clip imports and to check coordinates; unset: Aachen's for the demo, the "
                    "bundled VG250 of all German municipalities when another ARS is set.",
    )
    max_distance_outside_km: float = Field(
        default=20.0, description="Points farther than this outside the municipality are rejected."
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    #: behind a reverse proxy that serves the API under a path (e.g. https://gis.example.de/netzatlas/ → this
    #: server's /): that path, so links, Location headers and the web map name the proxy's address
    api_root_path: str = ""
    #: proxies whose X-Forwarded-Proto / X-Forwarded-For are trusted (uvicorn's forwarded_allow_ips)
    api_forwarded_allow_ips: str = "127.0.0.1"
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

    @model_validator(mode="after")
    def _municipality(self) -> Settings:
        """The municipality's defaults follow what is set: an ARS alone selects it from the bundled VG250 of all
        German municipalities (not Aachen's boundary), a boundary file alone holds the city (no Aachen ARS), nothing
        set is the Aachen demo; the name follows the ARS."""
        ars = (self.municipality_ars or "").strip() or None
        own_boundary = "municipality_boundary" in self.model_fields_set
        if ars is None and (not own_boundary or Path(self.municipality_boundary).resolve() == AACHEN_BOUNDARY):
            ars = AACHEN_ARS
        elif ars is not None and not own_boundary and ars not in (AACHEN_ARS, ags(AACHEN_ARS)):
            self.municipality_boundary = GERMANY_BOUNDARIES
        self.municipality_ars = ars
        if not self.municipality_name.strip():
            known = KNOWN_MUNICIPALITIES.get(ars or "") or next(
                (n for k, n in KNOWN_MUNICIPALITIES.items() if ars and ags(k) == ars), None)
            self.municipality_name = known or (f"{UNNAMED} {ars}" if ars else UNNAMED)
        return self

    @property
    def municipality_ags(self) -> str | None:
        """The 8-digit municipality key (AGS) of the ARS (the Breitbandatlas's key), None without an ARS."""
        ars = self.municipality_ars
        if ars and len(ars) == 12 and ars.isdigit():
            return ags(ars)
        return ars if ars and len(ars) == 8 and ars.isdigit() else None

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
