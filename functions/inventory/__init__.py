"""Inventory service: stock per SKU, holds (reservations) for carts and orders, the ledger, hot-SKU
buckets, availability for pages and search, and who owns a SKU's stock. Other services use
`api.py`; the table is `store/`'s."""
