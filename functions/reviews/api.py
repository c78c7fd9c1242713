"""What the reviews service offers other services: nothing yet. Reviews sit above orders and the
catalog (who bought what decides who may review) and nothing below calls up into them; the
product page shows the rating the catalog keeps with the product.

The only module of functions/reviews/ another service may import (.importlinter).
"""

from __future__ import annotations

__all__: list[str] = []
