"""What the search service offers outside itself: the name of the product index's alias (the
domain's fine-grained access roles are scoped to it: infra/search_security.py).

The only module of functions/search/ another service (or infra/) may import (.importlinter).
"""

from __future__ import annotations

from functions.search.mapping import ALIAS

__all__ = ["ALIAS"]
