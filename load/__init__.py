"""`make load`: a bounded locust run of the shopper mix against the local stack, then the invariants."""
