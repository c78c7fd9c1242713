"""Settings every function reads from its environment, as one typed model.

CDK sets these variables on each function (infra/functions.py); the local stack gets the same
values from the synthesized template. Reading goes through `get_settings()` so it happens once
per cold start, and a missing variable fails loudly at the first use, not deep in a handler.
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field


class Settings(BaseModel, frozen=True):
    stage: str = Field(default="dev")
    service: str = Field(default="shop")
    catalog_table_name: str = Field(default="")
    reservation_ttl_seconds: int = Field(default=900, ge=5)
    payment_window_seconds: int = Field(default=900, ge=5)

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        values = {name: environ[name.upper()] for name in cls.model_fields if name.upper() in environ}
        return cls.model_validate(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environment()
