"""Catalog service: categories (and, later, products, SKUs and reviews). Owns the catalog table."""
