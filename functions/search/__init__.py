"""Search service: the OpenSearch product index (a derived copy of the catalog), its stream
indexer and the public search / suggest endpoints. Request handlers only read the index; the
catalog stream (functions.search.consumers.indexer) and the ops commands (ops/) are its only writers."""
