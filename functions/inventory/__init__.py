"""Inventory service: stock per SKU. (Reservations, the ledger and the cart arrive with the
inventory issue; this module is the read side other services call, and the demo seed's writer.)"""
