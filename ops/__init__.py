"""Operator commands, run from a workstation or a one-off task with the deployed stack's
environment (AWS credentials, CATALOG_TABLE_NAME, SEARCH_URL, SEARCH_AUTH=sigv4):

  python -m ops.search_reindex                      rebuild the search index, zero downtime
  python -m ops.replay_failures --queue-url URL     re-drive a stream consumer's DLQ through that consumer
"""
