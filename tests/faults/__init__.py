"""Fault tests (issue #7, item 4): each fault the system must survive, injected into the session's
local stack, and the invariants checked once it has recovered (tests/faults/conftest.py):

- stock: on_hand == available + reserved, the ledger reconciles, the holds add up
  (tests/inventory/stock_audit.py);
- search: the index matches the tables for every product touched (catalog version, title,
  prices, SKUs, each SKU's stock version, in_stock);
- availability: the cache holds no value the table contradicts;
- orders: none left PROCESSING / PENDING_PAYMENT; a CANCELLED or FAILED one has its stock back,
  no hold left and its money not kept; a CONFIRMED one sold exactly its quantities.

How a fault is injected: OpenSearch and the cache are reached through a `FlakyLink` (a TCP hop
that refuses and cuts connections while the server keeps its data); code faults by monkeypatching
the in-process handlers; stream deliveries by driving the poller (`streams` fixture); a slow or
failing table in the moto server itself (`catalog_fault`), so the SDK's real timeouts run.

| Fault (issue #7)                      | Where it is tested                                                       |
|---------------------------------------|--------------------------------------------------------------------------|
| OpenSearch down during indexing       | faults/test_search_outage.py: a blip ridden out by the stream retries;    |
|                                       | an outage past the retries, parked batches replayed (ops.replay_failures) |
|                                       | also: search/test_indexer.py, search/test_stock_sync.py (each consumer    |
|                                       | with OpenSearch down), search/test_replay.py (replay details)             |
| The cache down                        | faults/test_cache_outage.py: pages and cart from DynamoDB, availability   |
|                                       | converges on a cache that comes back with stale values; a price change    |
|                                       | during a long outage, its parked invalidation replayed (ops.replay_failures)|
|                                       | also: e2e/test_availability_cache.py (cache back empty, one BatchGetItem),|
|                                       | e2e/test_product_cache.py (breaker), inventory/test_availability_projector|
|                                       | faults/test_admission_gate.py: the gate down, out of date or wrong: adds  |
|                                       | go to DynamoDB, 0 oversold (issue 13)                                     |
| The payment provider timing out       | faults/test_payment_provider_timeout.py: timeouts ridden out by the       |
|                                       | step's retries; a provider that never answers -> CANCELLED, stock back    |
| A Lambda task crashing mid-saga       | checkout/test_checkout_failures.py::test_a_step_that_crashes_mid_saga_... |
|                                       | (crashing every time -> compensated, refunded);                           |
|                                       | faults/test_saga_task_crash.py (dying once after its transaction          |
|                                       | committed -> retried, CONFIRMED once, stock sold once)                    |
| The catalog table slow or failing     | faults/test_catalog_outage.py: the cart answers with last-known prices    |
| during cart pricing and checkout      | flagged `price_may_have_changed`; checkout 503 CATALOG_UNAVAILABLE within |
| (issue #14, ADR 0027)                 | POST /orders' wait, nothing held or charged; the breaker stops asking;    |
|                                       | the same key checks out once the catalog is back                          |
| A stream consumer crashing mid-batch  | faults/test_stream_consumer_crash.py: the availability projector and the  |
|                                       | search stock sync failing one record of a batch; the order settler        |
|                                       | crashing on a cancelled order (and the cancel handler dying before it)    |
|                                       | also: local/test_streams.py (the poller's retry semantics)                |
"""
