"""Stream, queue, schedule and Step Functions consumers: one module per function."""
