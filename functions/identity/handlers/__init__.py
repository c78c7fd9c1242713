"""API Gateway handlers: one module per route, each a two-line `handler`."""
