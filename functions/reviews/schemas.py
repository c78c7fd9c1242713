"""Request bodies of the review endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class _Body(BaseModel):
    # Built when first used (the handler calls `model_rebuild()` at import), as in the catalog's schemas.
    model_config = ConfigDict(extra="forbid", defer_build=True)


class CreateReviewRequest(_Body):
    rating: Annotated[int, Field(strict=True, ge=1, le=5)]  # 4.5, "5" and true are refused
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    body: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] = ""
