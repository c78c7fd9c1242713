"""Cart service: a guest's or a user's cart, each line backed by a stock hold (through inventory.api).
Other services use `api.py`; the table is `store.py`'s."""
