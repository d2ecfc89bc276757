"""The versioned AWS price catalog (``aws-prices.json``) and its loader.

``scripts/pricing/build_catalog.py`` writes the file from AWS Price List offer files; the
estimator reads it here. Prices are strings in the file and ``Decimal`` in memory.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.costs.exceptions import CatalogError

CATALOG_PATH = Path(__file__).with_name("aws-prices.json")
SCHEMA_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InstanceType(_Model):
    vcpu: int
    memory_gib: Decimal
    arch: str  # x86_64 or arm64 (Graviton)
    current_generation: bool = True


class RdsPrices(_Model):
    instance: dict[str, dict[str, Decimal]] = Field(default_factory=dict)  # engine → class → $/h
    storage: dict[str, Decimal] = Field(default_factory=dict)  # storage type → $/GB-month


class RegionPrices(_Model):
    ec2: dict[str, Decimal] = Field(default_factory=dict)  # instance type → $/hour (Linux)
    ebs: dict[str, dict[str, Decimal]] = Field(default_factory=dict)  # volume → dimension → $
    rds: RdsPrices = Field(default_factory=RdsPrices)
    prices: dict[str, Decimal] = Field(default_factory=dict)  # named unit prices (eip_hour, ...)

    def price(self, key: str) -> Decimal | None:
        return self.prices.get(key)


class Catalog(_Model):
    schema_version: int
    version: str
    date: str
    currency: str
    source: str
    hours_per_month: Decimal = Decimal(730)
    instance_types: dict[str, InstanceType] = Field(default_factory=dict)
    regions: dict[str, RegionPrices]

    def region(self, name: str) -> RegionPrices | None:
        return self.regions.get(name)


def parse_catalog(data: bytes | str) -> Catalog:
    """Validate a catalog document; refuse a schema this code does not know."""
    try:
        catalog = Catalog.model_validate_json(data)
    except ValidationError as exc:
        raise CatalogError(f"malformed price catalog: {exc.errors()[0]['msg']}") from exc
    if catalog.schema_version != SCHEMA_VERSION:
        raise CatalogError(f"price catalog schema {catalog.schema_version} is not supported")
    return catalog


@lru_cache(maxsize=4)
def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    """The committed catalog, read once per process (a Lambda reuses it across invocations)."""
    try:
        return parse_catalog(path.read_bytes())
    except OSError as exc:
        raise CatalogError(f"cannot read price catalog {path.name}: {exc.strerror}") from exc
