"""The search domain's OpenSearch security roles (fine-grained access control), as plain data.

`SearchDomain.grant(function, access)` maps the function's IAM role (a "backend role") to the
roles `ROLES_FOR_ACCESS[access]` names; the domain's custom resource
(infra/search_security_handler/index.py) PUTs these definitions and the mappings on every deploy
that changes them. Least privilege inside the domain: the IAM policy only lets a role reach the
domain, these roles say what it may do there.

Only strings and lists of strings: CloudFormation hands custom-resource properties to the
handler as strings anyway. Action groups are the security plugin's static ones
(https://docs.opensearch.org/latest/security/access-control/default-action-groups/).
"""

from __future__ import annotations

from typing import Any

from functions.search.api import ALIAS
from infra.topology import Access

# The alias and every versioned index behind it (products-v<N>, which reindexing creates later).
INDEX_PATTERNS = [f"{ALIAS}*"]

READER = "products_reader"
WRITER = "products_writer"
OPERATOR = "products_operator"

ROLES: dict[str, dict[str, Any]] = {
    READER: {
        "description": "Search API functions: _search on the products alias (queries and suggestions), nothing else.",
        "cluster_permissions": [],
        "index_permissions": [{"index_patterns": INDEX_PATTERNS, "allowed_actions": ["search"]}],
    },
    WRITER: {
        "description": "Stream writers (catalog indexer, stock sync): _mget the current documents and "
        "_bulk conditional writes into products*, and create the first products-v<N> with its aliases "
        "(mapping.ensure_index).",
        # _bulk and _mget are authorised at cluster level first, then per index ([s] shard
        # requests: `write`, and `get` for indices:data/read/mget[shard]).
        "cluster_permissions": ["indices:data/write/bulk", "indices:data/read/mget"],
        "index_permissions": [
            {
                "index_patterns": INDEX_PATTERNS,
                "allowed_actions": [
                    "write",  # index, update, delete documents (and put mappings)
                    "get",  # get / mget documents: writers merge onto what is there (functions/search/writer.py)
                    "create_index",
                    # GET products*/_alias/products, and creating an index with an alias
                    # (the security plugin requires indices:admin/aliases for that too)
                    "manage_aliases",
                    "indices:admin/get",  # GET products-v* (mapping.versioned_indices)
                ],
            }
        ],
    },
    OPERATOR: {
        "description": "Operators (ops/search_reindex.py, ops/replay_failures.py): manage the products "
        "indices and alias; no other index, no security settings.",
        "cluster_permissions": ["cluster_composite_ops", "cluster_monitor"],
        "index_permissions": [{"index_patterns": INDEX_PATTERNS, "allowed_actions": ["indices_all"]}],
    },
}

ROLES_FOR_ACCESS: dict[Access, tuple[str, ...]] = {
    Access.READ: (READER,),
    Access.WRITE: (WRITER,),
    Access.READ_WRITE: (READER, WRITER),
}
