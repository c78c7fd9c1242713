"""What the catalog offers other services: SKUs and their prices, and products.

The only module of functions/catalog/ another service may import (.importlinter).

  SkuId                     the SKU id type every endpoint validates with
  SkuInfo, lookup_skus      SKUs by id (price, product, seller, limits)
  current_or_last_known     prices for the cart, behind a circuit breaker (ADR 0027)
  verified_prices           prices checkout charges (fresh reads only)
  CatalogUnavailable        the catalog could not answer (503)
  get_product               a product (reviews check it exists)
"""

from __future__ import annotations

from functions.catalog.prices import CatalogUnavailable, current_or_last_known
from functions.catalog.prices import verified as verified_prices
from functions.catalog.products import get_product
from functions.catalog.schemas import SkuId
from functions.catalog.skus import SkuInfo
from functions.catalog.skus import lookup as lookup_skus

__all__ = ["CatalogUnavailable", "SkuId", "SkuInfo", "current_or_last_known", "get_product", "lookup_skus", "verified_prices"]
