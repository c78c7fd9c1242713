"""The API's one OpenAPI 3.1 document, generated from the handlers.

    python -m infra.openapi           # (re)write docs/openapi.json
    python -m infra.openapi --check   # exit 1 if docs/openapi.json is stale

Every route of infra/topology.py `all_routes()` contributes its handler module's resolver
(`app`): powertools describes the request side (body models, path and query parameters) from the
handler's signature. Each resolver's schema is merged with powertools' `OpenAPIMerge`, after a
check that no two handlers define a component with the same name and a different schema (the
merge would silently keep one). The edge conventions powertools cannot see are added here:

- security: the Cognito bearer token on `Auth.USER` routes, optional on `Auth.OPTIONAL`, none
  on `Auth.PUBLIC` (from the topology, the same source the gateway's authorizer is built from);
- headers the handlers read themselves: `Idempotency-Key`, `X-Cart-Token`, the webhook's
  signature headers;
- responses: powertools would describe the handler's return value (and a 422 for validation,
  which shared/http.py answers as 400); handlers return the envelope of
  the API's conventions (shared/http.py), so each route gets its success envelope with a data schema and the
  error envelope for the statuses that apply to it.

The local stack serves this document at /api/openapi.json (local/docs.py).
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from infra.topology import SERVICES, Auth, Route, all_routes

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT_PATH = ROOT / "docs" / "openapi.json"
COMMAND = "python -m infra.openapi"

TITLE = "Shop API"
VERSION = "1"
BEARER = "bearerAuth"
JSON_MEDIA = "application/json"
REF = "#/components/schemas/"

DESCRIPTION = """\
The marketplace's public API (contract v1).

* **Envelope.** Every JSON answer is enveloped: success `{"status": "success", "data": ..., "meta": {"request_id", "timestamp"}}`,
  error `{"status": "error", "error": {"code", "message", "details"}, "meta": {...}}`. Error codes are stable.
  API Gateway's own answers use the same error envelope (`GatewayErrorEnvelope`, whose `meta` has the `request_id` only):
  401 `UNAUTHORIZED` from the authorizer, 404 `NOT_FOUND` for a path or method the API does not have, 429 `RATE_LIMITED`
  when throttled, 413 `REQUEST_TOO_LARGE`, 504 `SERVICE_UNAVAILABLE` on a timeout, other 5xx `INTERNAL_ERROR`.
* **Auth.** `Authorization: Bearer <Cognito access token>` (from `POST /api/v1/auth/login`). Routes marked with the lock
  require it; cart routes accept it optionally (a guest uses the `X-Cart-Token` header instead). Without a token, or with
  a bad one, API Gateway's authorizer answers 401 `UNAUTHORIZED` before any handler runs.
* **Money** is integer minor units plus `currency`. **Lists** take `limit` (default 20, max 100) and `cursor`, and answer
  `data.items` and `data.next_cursor`.
* Generated from the handlers by `python -m infra.openapi`; do not edit by hand.
"""


# -- schemas the handlers cannot describe (their return value is the envelope) ----------------------
def _ref(name: str) -> dict[str, Any]:
    return {"$ref": REF + name}


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None, description: str | None = None) -> dict[str, Any]:
    """An object with these properties (more may come: the contract lets fields be added)."""
    schema: dict[str, Any] = {"type": "object", "properties": {**required, **(optional or {})}}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def _list_of(item: str) -> dict[str, Any]:
    return _obj({"items": {"type": "array", "items": _ref(item)}, "next_cursor": NULLABLE_STRING},
                description="One page, newest first; pass `next_cursor` as `cursor` for the next (null: no more).")


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
NULLABLE_STRING = {"type": ["string", "null"]}
TIMESTAMP = {"type": "string", "format": "date-time"}
MONEY = {"type": "integer", "description": "Minor units (cents) of `currency`."}
CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217"}
NULLABLE_CURRENCY = {"type": ["string", "null"], "pattern": "^[A-Z]{3}$"}
OPTIONS = {"type": "object", "additionalProperties": STRING, "description": 'SKU options, e.g. {"size": "M", "color": "blue"}'}
ORDER_STATUS = {"type": "string", "enum": ["PROCESSING", "PENDING_PAYMENT", "CONFIRMED", "SHIPPED", "DELIVERED", "CANCELLED", "FAILED", "REFUNDED"]}
RATING = _obj({"average": {"type": ["number", "null"]}, "count": INTEGER})
ERROR_CODE_PATTERN = "^[A-Z][A-Z0-9_]*$"

ERROR = _obj({
    "code": {"type": "string", "pattern": ERROR_CODE_PATTERN, "examples": ["VALIDATION_ERROR", "OUT_OF_STOCK"]},
    "message": STRING,
    "details": {"type": "object", "description": "Machine-readable specifics, e.g. `fields` for VALIDATION_ERROR."},
})

SCHEMAS: dict[str, dict[str, Any]] = {
    "Meta": _obj({"request_id": STRING, "timestamp": TIMESTAMP}),
    "ErrorEnvelope": {
        **_obj(
            {"status": {"const": "error"}, "error": ERROR, "meta": _ref("Meta")},
            description="Every error the API answers: the envelope with a stable error code.",
        ),
    },
    # infra/api.py GATEWAY_ERRORS: gateway responses are templates without VTL, which cannot format a timestamp.
    "GatewayErrorEnvelope": _obj(
        {"status": {"const": "error"}, "error": ERROR, "meta": _ref("GatewayMeta")},
        description="API Gateway's own answer (the authorizer's 401, an unknown route's 404, throttling, timeouts): the error "
                    "envelope, its `meta` with the request id only.",
    ),
    "GatewayMeta": _obj({"request_id": STRING}),
    "SuccessEnvelope": _obj({"status": {"const": "success"}, "data": {}, "meta": _ref("Meta")},
                            description="Every success answer with a body; each operation names its `data` schema."),
    # identity
    "RegisteredUser": _obj({"user_id": STRING, "email": STRING, "name": STRING, "roles": {"type": "array", "items": STRING}}),
    "Confirmation": _obj({"email": STRING, "confirmed": BOOLEAN}),
    "Tokens": _obj({"access_token": STRING, "refresh_token": STRING, "expires_in": INTEGER, "token_type": {"const": "Bearer"}}),
    "RefreshedTokens": _obj({"access_token": STRING, "expires_in": INTEGER, "token_type": {"const": "Bearer"}}),
    "UserProfile": _obj(
        {
            "user_id": STRING, "email": STRING, "name": STRING, "roles": {"type": "array", "items": STRING},
            "phone": NULLABLE_STRING, "addresses": {"type": "array", "items": {"type": "object"}}, "created_at": TIMESTAMP,
        }
    ),
    # catalog
    "CategoryNode": _obj(
        {"category_id": STRING, "name": STRING, "slug": STRING, "parent_id": NULLABLE_STRING,
         "children": {"type": "array", "items": _ref("CategoryNode")}}
    ),
    "CategoryTree": {"type": "array", "items": _ref("CategoryNode"), "description": "Roots sorted by name, each with its children."},
    "ProductSku": _obj(
        {"sku_id": STRING, "options": OPTIONS, "price": MONEY, "currency": CURRENCY, "max_per_cart": INTEGER},
        {"availability": _obj({"in_stock": BOOLEAN, "available": INTEGER}, description="On the product page only.")},
    ),
    "Product": _obj(
        {
            "product_id": STRING, "title": STRING, "description": STRING, "brand": STRING, "category_id": STRING,
            "attributes": {"type": "object"}, "images": {"type": "array", "items": STRING},
            "seller": _obj({"id": STRING, "name": NULLABLE_STRING}), "rating": RATING,
            "skus": {"type": "array", "items": _ref("ProductSku")}, "free": BOOLEAN, "version": INTEGER,
            "created_at": TIMESTAMP, "updated_at": TIMESTAMP,
        }
    ),
    "ProductList": _list_of("Product"),
    "ImageUpload": _obj(
        {
            "upload": _obj({"url": STRING, "fields": {"type": "object", "additionalProperties": STRING}, "max_bytes": INTEGER,
                            "expires_in": INTEGER}, description="A presigned POST: send `fields` and then the file as `file`."),
            "image_url": STRING,
        }
    ),
    "Review": _obj({"review_id": STRING, "user_id": STRING, "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                    "title": STRING, "body": STRING, "created_at": TIMESTAMP}),
    "ReviewList": _list_of("Review"),
    # inventory
    "Stock": _obj({"sku_id": STRING, "on_hand": INTEGER, "reserved": INTEGER, "available": INTEGER,
                   "buckets": {"type": "integer", "minimum": 1, "maximum": 32,
                               "description": "Stock buckets of a hot SKU (1: unbucketed); the counters are their sum."}}),
    # cart
    "CartLine": _obj(
        {
            "sku_id": STRING, "product_id": STRING, "title": STRING, "options": OPTIONS, "image": NULLABLE_STRING,
            "quantity": INTEGER, "unit_price": MONEY, "currency": CURRENCY, "line_total": MONEY,
            "reserved_until": {"type": ["string", "null"], "format": "date-time", "description": "When the stock hold expires (null: not held)."},
            "price_changed": BOOLEAN,
            "price_may_have_changed": {"type": "boolean", "description": "The catalog could not be asked: the price shown is the last known one (checkout verifies it)."},
            "purchasable": BOOLEAN,
        }
    ),
    "Cart": _obj({"cart_id": NULLABLE_STRING, "items": {"type": "array", "items": _ref("CartLine")}, "subtotal": MONEY,
                  "currency": NULLABLE_CURRENCY,
                  "price_may_have_changed": {"type": "boolean", "description": "Some line's price could not be verified just now."}}),
    # search
    "SearchHit": _obj(
        {"product_id": STRING, "title": NULLABLE_STRING, "image": NULLABLE_STRING, "price": {"type": ["integer", "null"]},
         "currency": NULLABLE_CURRENCY, "rating": RATING},
        {"highlight": _obj({"title": STRING})},
    ),
    "FacetValue": _obj({"value": {"type": ["string", "integer", "boolean"]}, "count": INTEGER}),
    "PriceBucket": _obj({"from": {"type": ["integer", "null"]}, "to": {"type": ["integer", "null"]}, "count": INTEGER}),
    "SearchResult": _obj(
        {
            "items": {"type": "array", "items": _ref("SearchHit")},
            "facets": _obj({
                **{name: {"type": "array", "items": _ref("FacetValue")} for name in ("brand", "color", "size", "category")},
                "price": {"type": "array", "items": _ref("PriceBucket")},
            }),
            "total": INTEGER, "next_cursor": NULLABLE_STRING,
        }
    ),
    "Suggestions": _obj({"suggestions": {"type": "array", "items": STRING}}),
    # orders
    "OrderLine": _obj({"sku_id": STRING, "product_id": STRING, "seller_id": STRING, "title": STRING, "options": OPTIONS,
                       "quantity": INTEGER, "unit_price": MONEY, "currency": CURRENCY, "line_total": MONEY}),
    "OrderPayment": _obj(
        {"payment_id": STRING, "status": NULLABLE_STRING, "provider": NULLABLE_STRING, "payment_url": NULLABLE_STRING},
        {"amount": MONEY, "refunded_total": MONEY},
        description="The order's payment as the payment record says it is; `payment_url` only while the order can be paid.",
    ),
    "Refund": _obj({"amount": MONEY, "refunded_total": MONEY, "source": {"enum": ["provider", "api"]}, "at": TIMESTAMP},
                   {"refund_ref": STRING, "event_id": STRING, "reason": STRING, "by": STRING, "seller_id": STRING,
                    "refund_id": STRING}),
    "Order": _obj(
        {
            "order_id": STRING, "status": ORDER_STATUS, "items": {"type": "array", "items": _ref("OrderLine")},
            "total": MONEY, "currency": NULLABLE_CURRENCY, "shipping_address": {"type": "object"},
            "payment": {"anyOf": [_ref("OrderPayment"), {"type": "null"}]},
            "payment_deadline": {"type": ["string", "null"], "format": "date-time"},
            "history": {"type": "array", "items": _obj({"status": ORDER_STATUS, "at": TIMESTAMP}, {"reason": NULLABLE_STRING})},
            "shipments": {"type": "array", "items": _ref("OrderShipment")},
            "reason": NULLABLE_STRING, "created_at": TIMESTAMP, "updated_at": TIMESTAMP,
        },
        {"failure": _obj({"code": STRING, "message": STRING}, {"details": {"type": "object"}}),
         "refunded_total": MONEY, "refunds": {"type": "array", "items": _ref("Refund")}},
    ),
    "OrderShipment": _obj(
        {"seller_id": STRING, "status": {"enum": ["NOT_SHIPPED", "SHIPPED", "DELIVERED"]}, "sku_ids": {"type": "array", "items": STRING},
         "carrier": NULLABLE_STRING, "tracking_number": NULLABLE_STRING,
         "shipped_at": {"type": ["string", "null"], "format": "date-time"},
         "delivered_at": {"type": ["string", "null"], "format": "date-time"}},
        description="One seller's parcel of the order (every seller ships and delivers their own lines).",
    ),
    "OrderList": _list_of("Order"),
    "OrderRefund": _obj(
        {"refund": _ref("Refund"), "order": {"type": "object", "description": "The order (a seller: id, status, refunded_total, own lines)."}},
    ),
    "SellerOrder": _obj(
        {
            "order_id": STRING, "status": ORDER_STATUS, "items": {"type": "array", "items": {"type": "object"}},
            "subtotal": MONEY, "currency": NULLABLE_CURRENCY, "shipping_address": {"type": "object"},
            "shipment": {"type": ["object", "null"]}, "created_at": TIMESTAMP, "updated_at": TIMESTAMP,
        },
        description="A seller's part of an order: only the seller's own lines.",
    ),
    "SellerOrderList": _list_of("SellerOrder"),
    # payments
    "Payment": _obj(
        {"payment_id": STRING, "order_id": STRING, "amount": MONEY, "currency": CURRENCY, "status": STRING, "provider": STRING,
         "payment_url": NULLABLE_STRING, "created_at": STRING, "updated_at": STRING},
        {"client_secret": {"type": "string", "description": "For a provider's client-side SDK (Stripe), while pending."},
         "refunded_total": MONEY},
    ),
    "WebhookReceipt": _obj({"received": {"const": True}, "event_id": STRING,
                            "outcome": {"type": "string", "description": "What the event did, e.g. `duplicate` or `ignored`."}}),
    "SandboxPayment": _obj({"payment_id": STRING, "outcome": {"enum": ["succeeded", "failed"]}, "webhook_id": STRING,
                            "delivered": BOOLEAN, "webhook_status": INTEGER}),
    # request bodies read by hand (no powertools model)
    "WebhookEvent": _obj(
        {"type": {"enum": ["payment.succeeded", "payment.failed", "payment.refunded"]},
         "data": _obj({"payment_id": STRING, "amount": MONEY, "currency": CURRENCY})},
        description="Standard Webhooks event (a `stripe` provider sends Stripe's events with `Stripe-Signature` instead).",
    ),
    "SandboxOutcome": _obj({"outcome": {"enum": ["succeeded", "failed"]}}),
}


# -- what each route answers ------------------------------------------------------------------------
def _header(description: str, required: bool = True, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": schema or STRING}


LOCATION = {"Location": _header("The new resource's path.")}
REPLAYED = {"Idempotent-Replayed": _header("`true` when this is the stored answer to an earlier request with the same key.", False)}
CART_TOKEN_OUT = {"X-Cart-Token": _header("The new guest cart's token: send it back as `X-Cart-Token`.")}

# (method, path) -> {status: (description, data schema name or None for no body, response headers)}
SUCCESS: dict[tuple[str, str], dict[int, tuple[str, str | None, dict[str, Any]]]] = {
    ("POST", "/api/v1/auth/register"): {201: ("Registered (confirmed at once on stages with auto-confirmation).", "RegisteredUser", LOCATION)},
    ("POST", "/api/v1/auth/confirm"): {200: ("Confirmed.", "Confirmation", {})},
    ("POST", "/api/v1/auth/login"): {200: ("Signed in.", "Tokens", {})},
    ("POST", "/api/v1/auth/refresh"): {200: ("A new access token.", "RefreshedTokens", {})},
    ("GET", "/api/v1/users/me"): {200: ("The profile.", "UserProfile", {})},
    ("PUT", "/api/v1/users/me"): {200: ("The updated profile.", "UserProfile", {})},
    ("GET", "/api/v1/users/{user_id}"): {200: ("The profile.", "UserProfile", {})},
    ("GET", "/api/v1/categories"): {200: ("The tree.", "CategoryTree", {})},
    ("POST", "/api/v1/categories"): {201: ("Created.", "CategoryNode", {})},
    ("POST", "/api/v1/products"): {201: ("Created, with every SKU's `sku_id`.", "Product", LOCATION)},
    ("GET", "/api/v1/products"): {200: ("A page of products.", "ProductList", {})},
    ("GET", "/api/v1/products/{product_id}"): {200: ("The product page, each SKU with its availability.", "Product", {})},
    ("PUT", "/api/v1/products/{product_id}"): {200: ("The updated product.", "Product", {})},
    ("DELETE", "/api/v1/products/{product_id}"): {204: ("Deleted (soft: it leaves reads and search).", None, {})},
    ("POST", "/api/v1/products/{product_id}/images"): {201: ("Upload the file with the presigned POST.", "ImageUpload", {})},
    ("GET", "/api/v1/products/{product_id}/reviews"): {200: ("A page of reviews.", "ReviewList", {})},
    ("POST", "/api/v1/products/{product_id}/reviews"): {201: ("Created; the product's rating moved.", "Review", {})},
    ("GET", "/api/v1/inventory/{sku_id}"): {200: ("The counters.", "Stock", {})},
    ("PUT", "/api/v1/inventory/{sku_id}"): {200: ("The new counters.", "Stock", {})},
    ("GET", "/api/v1/cart"): {200: ("The cart (a guest without a token: an empty one).", "Cart", {})},
    ("POST", "/api/v1/cart/items"): {
        200: ("The cart, with the stock held.", "Cart", {}),
        201: ("A guest's first add: a new cart, and its token.", "Cart", CART_TOKEN_OUT),
    },
    ("PUT", "/api/v1/cart/items/{sku_id}"): {200: ("The cart; the hold moved by the difference.", "Cart", {})},
    ("DELETE", "/api/v1/cart/items/{sku_id}"): {200: ("The cart; the hold is released.", "Cart", {})},
    ("DELETE", "/api/v1/cart"): {204: ("Emptied; every hold released.", None, {})},
    ("GET", "/api/v1/search"): {200: ("Hits, facets and the total.", "SearchResult", {})},
    ("GET", "/api/v1/search/suggest"): {200: ("Completions.", "Suggestions", {})},
    ("POST", "/api/v1/orders"): {
        201: ("PENDING_PAYMENT, with the payment to make.", "Order", {**LOCATION, **REPLAYED}),
        202: ("PROCESSING: the payment is not ready yet; poll the order.", "Order", {**LOCATION, **REPLAYED}),
    },
    ("GET", "/api/v1/orders"): {200: ("A page of the user's orders.", "OrderList", {})},
    ("GET", "/api/v1/orders/{order_id}"): {200: ("The order with its history.", "Order", {})},
    ("PUT", "/api/v1/orders/{order_id}/cancel"): {200: ("CANCELLED: stock returned, refund started if paid.", "Order", {})},
    ("GET", "/api/v1/seller/orders"): {200: ("A page of the seller's order parts.", "SellerOrderList", {})},
    ("PUT", "/api/v1/seller/orders/{order_id}/ship"): {200: ("The seller's part: their lines and shipment only.", "SellerOrder", {})},
    ("PUT", "/api/v1/seller/orders/{order_id}/deliver"): {200: ("The seller's part, delivered.", "SellerOrder", {})},
    ("POST", "/api/v1/payments"): {201: ("The order's payment intent.", "Payment", {**LOCATION, **REPLAYED})},
    ("GET", "/api/v1/payments/{payment_id}"): {200: ("The payment.", "Payment", {})},
    ("POST", "/api/v1/payments/webhooks/{provider}"): {200: ("Accepted (also a duplicate).", "WebhookReceipt", {})},
    ("POST", "/api/v1/orders/{order_id}/refunds"): {201: ("Refunded through the provider.", "OrderRefund", REPLAYED)},
    ("GET", "/api/v1/sandbox/payments/{payment_id}"): {200: ("The sandbox's payment page.", "text/html", {})},
    ("POST", "/api/v1/sandbox/payments/{payment_id}"): {200: ("The sandbox sent its signed webhook.", "SandboxPayment", {})},
}

# Errors beyond the ones derived from the route (see _error_statuses), with what they mean there.
ERROR_TEXT_400 = "VALIDATION_ERROR: the body, a parameter or a header is invalid (`details.fields`), or the body is not JSON."
ERRORS: dict[tuple[str, str], dict[int, str]] = {
    ("POST", "/api/v1/auth/register"): {409: "EMAIL_TAKEN"},
    ("POST", "/api/v1/auth/confirm"): {409: "INVALID_STATE: already confirmed."},
    ("POST", "/api/v1/auth/login"): {401: "UNAUTHORIZED: wrong email or password.",
                                     429: "RATE_LIMITED: too many failed sign-ins (per email from this client address, or per address); `details.retry_after_seconds`."},
    ("POST", "/api/v1/auth/refresh"): {401: "UNAUTHORIZED: the refresh token is not valid."},
    ("GET", "/api/v1/users/me"): {404: "NOT_FOUND: the account no longer exists."},
    ("PUT", "/api/v1/users/me"): {404: "NOT_FOUND: the account no longer exists."},
    ("POST", "/api/v1/categories"): {409: "ALREADY_EXISTS: a sibling has this name."},
    ("POST", "/api/v1/products"): {400: ERROR_TEXT_400 + " ZERO_PRICE: a price of 0 on a product not marked `free`.",
                                   404: "NOT_FOUND: the seller's account no longer exists."},
    ("PUT", "/api/v1/products/{product_id}"): {400: ERROR_TEXT_400 + " ZERO_PRICE: a price of 0 on a product not marked `free`.",
                                               409: "CONFLICT: the product changed meanwhile; read it again."},
    ("POST", "/api/v1/products/{product_id}/reviews"): {
        403: "FORBIDDEN: only a buyer with a confirmed order of the product may review it (never its seller).",
        409: "ALREADY_EXISTS: one review per buyer; CONFLICT: busy, retry.",
    },
    ("PUT", "/api/v1/inventory/{sku_id}"): {409: "CONFLICT: below what is reserved (`details.reserved`).",
                                            503: "SERVICE_UNAVAILABLE: the stock is very busy; retry."},
    ("POST", "/api/v1/cart/items"): {
        409: "OUT_OF_STOCK: `details {sku_id, requested, available}`; QUANTITY_LIMIT_EXCEEDED: more than the SKU's "
             "`max_per_cart` (`details {sku_id, max_per_cart, in_cart, requested}`); HOLD_TIME_EXCEEDED: a guest cart past "
             "its maximum hold time (sign in); the cart is unchanged.",
        429: "RATE_LIMITED: too many new guest carts from this address this minute (a tokenless, anonymous add); sign in or retry.",
        503: "SERVICE_UNAVAILABLE: busy; retry. CATALOG_UNAVAILABLE: the SKU cannot be looked up now; retry."},
    ("PUT", "/api/v1/cart/items/{sku_id}"): {409: "OUT_OF_STOCK: the increase is not available; QUANTITY_LIMIT_EXCEEDED; HOLD_TIME_EXCEEDED.",
                                            503: "SERVICE_UNAVAILABLE: busy; retry."},
    ("DELETE", "/api/v1/cart/items/{sku_id}"): {503: "SERVICE_UNAVAILABLE: busy; retry."},
    ("DELETE", "/api/v1/cart"): {503: "SERVICE_UNAVAILABLE: busy; retry."},
    ("GET", "/api/v1/search"): {503: "SERVICE_UNAVAILABLE: search is down; retry shortly."},
    ("GET", "/api/v1/search/suggest"): {503: "SERVICE_UNAVAILABLE: search is down; retry shortly."},
    ("POST", "/api/v1/orders"): {
        409: "The checkout failed (e.g. OUT_OF_STOCK, an empty cart, CART_ALREADY_CHECKED_OUT: another order waiting for "
             "its payment holds this cart, `details.pending_order_id`; `details.order_id` names the FAILED order), "
             "or IDEMPOTENCY_IN_PROGRESS: the first request with this key is still running.",
        422: "IDEMPOTENCY_KEY_REUSED: the key was used with another body.",
        503: "CATALOG_UNAVAILABLE: prices could not be verified (nothing charged, nothing held for the order); "
             "retry after `Retry-After` seconds, with the same key or a new one.",
    },
    ("PUT", "/api/v1/orders/{order_id}/cancel"): {409: "INVALID_STATE: only PENDING_PAYMENT or CONFIRMED (not shipped) orders."},
    ("PUT", "/api/v1/seller/orders/{order_id}/ship"): {409: "INVALID_STATE: only CONFIRMED orders ship."},
    ("PUT", "/api/v1/seller/orders/{order_id}/deliver"): {409: "INVALID_STATE: only a shipped part of a paid order is delivered."},
    ("POST", "/api/v1/payments"): {
        404: "NOT_FOUND: no such order (another user's looks the same).",
        409: "INVALID_STATE: the order has no payment yet (poll the order); IDEMPOTENCY_IN_PROGRESS.",
        422: "IDEMPOTENCY_KEY_REUSED: the key was used with another body.",
    },
    ("POST", "/api/v1/payments/webhooks/{provider}"): {
        400: "INVALID_WEBHOOK: a bad or stale signature, a malformed event, an unknown payment or one that does not match "
             "the event (amount, currency, the provider's reference); nothing changed.",
        404: "NOT_FOUND: not this stage's payment provider.",
    },
    ("POST", "/api/v1/orders/{order_id}/refunds"): {
        404: "NOT_FOUND: no such order, or (a seller) none of its lines are the seller's.",
        409: "INVALID_STATE: the order is not paid (or refunded already); REFUND_EXCEEDS_REFUNDABLE: more than the caller "
             "may refund (`details.refundable`); REFUND_IN_PROGRESS: another refund of it is in flight; IDEMPOTENCY_IN_PROGRESS.",
        422: "IDEMPOTENCY_KEY_REUSED: the key was used with another body.",
    },
}

ERROR_TEXT = {
    400: ERROR_TEXT_400,
    401: "UNAUTHORIZED: no valid access token.",
    403: "FORBIDDEN: the caller's role may not do this.",
    404: "NOT_FOUND: no such resource (another user's looks the same).",
}


def _parameters(operation: dict[str, Any]) -> list[dict[str, Any]]:
    return operation.get("parameters") or []


def _error_statuses(route: Route, operation: dict[str, Any], app: Any) -> dict[int, str]:
    """The error statuses a route answers, from what it is: its auth, roles, inputs and path."""
    params = _parameters(operation)
    statuses: dict[int, str] = {}
    constrained = any(
        p["in"] == "query" or (p["in"] == "header" and p.get("required")) or (p["in"] == "path" and set(p.get("schema", {})) - {"type", "title"})
        for p in params
    )
    if "requestBody" in operation or constrained:
        statuses[400] = ERROR_TEXT[400]
    if route.cursors:
        statuses[400] = ERROR_TEXT[400] + " INVALID_CURSOR: a `cursor` this list did not hand out (shared/cursors.py)."
    if route.auth is Auth.USER:
        statuses[401] = ERROR_TEXT[401] + " API Gateway's authorizer answers it, before the handler (`GatewayErrorEnvelope`)."
    elif route.auth is Auth.OPTIONAL:
        statuses[401] = "UNAUTHORIZED: a token was sent and it is invalid or expired (guests send none)."
    if getattr(app, "required_roles", None):
        statuses[403] = ERROR_TEXT[403] + f" Allowed: {', '.join(app.required_roles)}."
    if any(p["in"] == "path" for p in params):
        statuses[404] = ERROR_TEXT[404]
    if route.auth is Auth.OPTIONAL:
        statuses[404] = "NOT_FOUND: no such cart (an unknown or expired `X-Cart-Token`), or no such line or SKU."
    statuses.update(ERRORS.get((route.method, route.path), {}))
    return dict(sorted(statuses.items()))


def _error_response(route: Route, status: int, text: str) -> dict[str, Any]:
    schema: dict[str, Any] = _ref("ErrorEnvelope")
    if status == 401 and route.auth is Auth.USER:
        schema = {"anyOf": [_ref("ErrorEnvelope"), _ref("GatewayErrorEnvelope")]}
    return {"description": text, "content": {JSON_MEDIA: {"schema": schema}}}


def _success_response(description: str, data: str | None, headers: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if headers:
        response["headers"] = copy.deepcopy(headers)
    if data == "text/html":
        response["content"] = {"text/html": {"schema": {"type": "string"}}}
    elif data is not None:
        response["content"] = {JSON_MEDIA: {"schema": _ref(f"{data}Envelope")}}
    return response


def _envelopes() -> dict[str, dict[str, Any]]:
    """`<Data>Envelope` for every data schema a success response names."""
    names = {data for answers in SUCCESS.values() for _, data, _ in answers.values() if data not in (None, "text/html")}
    return {f"{name}Envelope": _obj({"status": {"const": "success"}, "data": _ref(name), "meta": _ref("Meta")},
                                    description=f"The success envelope around {name}.") for name in sorted(names)}


# -- request headers the handlers read themselves -----------------------------------------------------
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": True,
    "description": "Any unique string per intended operation (e.g. a UUID): a retry with the same key and body gets the "
                   "first answer (`Idempotent-Replayed: true`); with another body, 422. Kept 24 h.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
CART_TOKEN = {
    "name": "X-Cart-Token", "in": "header", "required": False,
    "description": "A guest's cart (from the first add's `X-Cart-Token` response header). Signed in and with a guest token: "
                   "the guest cart merges into the user's.",
    "schema": {"type": "string", "pattern": "^ct_[A-Za-z0-9_-]{43}$"},
}
WEBHOOK_HEADERS = [
    {"name": name, "in": "header", "required": False, "description": text, "schema": {"type": "string"}}
    for name, text in (
        ("webhook-id", "Standard Webhooks: the event's id (de-duplication)."),
        ("webhook-timestamp", "Standard Webhooks: Unix seconds; older than 5 minutes is stale."),
        ("webhook-signature", 'Standard Webhooks: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.'),
        ("Stripe-Signature", 'Stripe (`/webhooks/stripe`): `t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{body}">`.'),
    )
]


def _extra_request(route: Route, operation: dict[str, Any]) -> None:
    key = (route.method, route.path)
    params = operation.setdefault("parameters", [])
    if key in {("POST", "/api/v1/orders"), ("POST", "/api/v1/payments"), ("POST", "/api/v1/orders/{order_id}/refunds")}:
        params.append(copy.deepcopy(IDEMPOTENCY_KEY))
    if route.auth is Auth.OPTIONAL and route.path.startswith("/api/v1/cart"):
        params.append(copy.deepcopy(CART_TOKEN))
    if key == ("POST", "/api/v1/payments/webhooks/{provider}"):
        params.extend(copy.deepcopy(WEBHOOK_HEADERS))
        operation["requestBody"] = {"required": True, "content": {JSON_MEDIA: {"schema": _ref("WebhookEvent")}}}
    if key == ("POST", "/api/v1/sandbox/payments/{payment_id}"):
        operation["requestBody"] = {
            "required": True,
            "content": {JSON_MEDIA: {"schema": _ref("SandboxOutcome")},
                        "application/x-www-form-urlencoded": {"schema": _ref("SandboxOutcome")}},
        }
    if not params:
        del operation["parameters"]


def _security(route: Route) -> list[dict[str, list[str]]]:
    if route.auth is Auth.USER:
        return [{BEARER: []}]
    if route.auth is Auth.OPTIONAL:
        return [{}, {BEARER: []}]
    return []


# -- assembling -----------------------------------------------------------------------------------------
def _resolver(route: Route) -> Any:
    module = importlib.import_module(route.handler.rpartition(".")[0])
    return module.app


def _service_of(route: Route) -> str:
    return next(service.name for service in SERVICES if route in service.routes)


def _openapi_of(app: Any) -> dict[str, Any]:
    return app.get_openapi_schema().model_dump(by_alias=True, exclude_none=True, mode="json")


def _check_components(seen: dict[str, tuple[str, Any]], route: Route, components: dict[str, Any]) -> None:
    """Same name, different schema: the merge would keep one silently. Name models uniquely."""
    for name, schema in components.get("schemas", {}).items():
        if name in SCHEMAS or name.endswith("Envelope"):
            raise ValueError(f"{route.handler}: model {name!r} has the name of a schema infra/openapi.py defines; rename one")
        if name in seen and seen[name][1] != schema:
            raise ValueError(f"model {name!r} is defined differently by {seen[name][0]} and {route.handler}; name models uniquely")
        seen.setdefault(name, (route.handler, schema))


def _referenced(document: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    pending: list[Any] = [document.get("paths", {})]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(REF) and ref[len(REF):] not in names:
                names.add(ref[len(REF):])
                pending.append(document["components"]["schemas"].get(ref[len(REF):]))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return names


def build_document() -> dict[str, Any]:
    """The whole API's OpenAPI document (a fresh dict each call)."""
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

    merge = OpenAPIMerge(title=TITLE, version=VERSION, description=DESCRIPTION, on_conflict="error")
    seen: dict[str, tuple[str, Any]] = {}
    routes = all_routes()
    apps = {}
    for route in routes:
        app = apps[route] = _resolver(route)
        schema = _openapi_of(app)
        own = {path: {method: op for method, op in item.items() if method == route.method.lower()}
               for path, item in schema.get("paths", {}).items()}
        if route.path not in own or not own[route.path]:
            raise ValueError(f"{route.handler} has no {route.method} {route.path} route (the topology says it does)")
        schema["paths"] = {route.path: own[route.path]}  # only the topology's route: the handler's one
        _check_components(seen, route, schema.get("components", {}))
        merge.add_schema(schema)
    document = copy.deepcopy(merge.get_openapi_schema())

    for route in routes:
        operation = document["paths"][route.path][route.method.lower()]
        _extra_request(route, operation)
        operation["operationId"] = route.function_id
        operation["summary"] = route.description or f"{route.method} {route.path}"
        operation["tags"] = [_service_of(route)]
        operation["security"] = _security(route)
        successes = SUCCESS.get((route.method, route.path), {200: ("Success.", None, {})})
        responses = {str(status): _success_response(*answer) for status, answer in successes.items()}
        if (route.method, route.path) not in SUCCESS:
            responses["200"]["content"] = {JSON_MEDIA: {"schema": _ref("SuccessEnvelope")}}
        for status, text in _error_statuses(route, operation, apps[route]).items():
            responses[str(status)] = _error_response(route, status, text)
        operation["responses"] = responses

    components = document.setdefault("components", {})
    components.setdefault("schemas", {}).update(copy.deepcopy({**SCHEMAS, **_envelopes()}))
    components["securitySchemes"] = {
        BEARER: {
            "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": "A Cognito access token (`access_token` from POST /api/v1/auth/login).",
        }
    }
    # powertools' validation-error models and any unused ones go; the envelopes stay (for clients).
    used = _referenced(document) | {"SuccessEnvelope", "ErrorEnvelope", "Meta", "GatewayErrorEnvelope", "GatewayMeta"}
    components["schemas"] = {name: schema for name, schema in components["schemas"].items() if name in used}
    document["tags"] = [{"name": service.name} for service in SERVICES if service.routes]
    document["servers"] = [{"url": "/", "description": "The host serving the API (the local stack sets its own URL)."}]
    return document


def with_server(document: dict[str, Any], url: str) -> dict[str, Any]:
    """The document as served from `url` (the local stack's)."""
    return {**document, "servers": [{"url": url, "description": "This server."}]}


def render(document: dict[str, Any]) -> str:
    """Stable text: sorted keys, indent 2, a final newline (what docs/openapi.json holds)."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description="Write the API's OpenAPI document to docs/openapi.json.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from what the handlers give")
    parser.add_argument("--output", type=Path, default=DOCUMENT_PATH)
    args = parser.parse_args(argv)
    document = build_document()
    text = render(document)
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
    if args.check:
        if current != text:
            print(f"{args.output} is stale: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    if current != text:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    operations = sum(len(item) for item in document["paths"].values())
    print(f"{args.output}: {operations} operations{'' if current != text else ' (unchanged)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
