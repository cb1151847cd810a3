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
    basemap_url: str | None = Field(
        default=None, description="XYZ tile URL of an external basemap; unset draws the registry's own."
    )

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
