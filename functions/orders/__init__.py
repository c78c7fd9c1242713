"""Orders service: orders and checkout. (The checkout issue brings the orders table, the saga and
the endpoints; until then this package is only the read side other services call.)"""
