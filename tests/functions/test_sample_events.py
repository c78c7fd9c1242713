"""Every handler has a sample event in events/, and answers it with the contract's envelope."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import pytest

from infra.topology import all_routes

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER_ORDER = "ord_01KAXYZ0000000000000000000"
PLACEHOLDER_PAYMENT = "pay_01KAXYZ0000000000000000000"
HTML_ROUTES = {"functions.payments.handlers.sandbox_page.handler"}  # pages for a browser, not the JSON envelope


def _event_path(handler: str) -> Path:
    parts = handler.split(".")  # functions.<service>.handlers|consumers.<module>.handler
    service, module = parts[1], parts[-2]
    return ROOT / "events" / service / f"{module}.json"


@pytest.mark.parametrize("route", all_routes(), ids=lambda r: r.handler)
def test_handler_has_a_sample_event_that_matches_its_route(route):
    event = json.loads(_event_path(route.handler).read_text())
    assert (event["httpMethod"], event["resource"]) == (route.method, route.path)


def _realistic(event: dict, tokens: dict, local_stack) -> dict:
    """Swap the sample's placeholders for this stack's real users, tokens, products, orders and payments."""
    import jwt

    from shared.tokens import as_rest_api_claims

    event = copy.deepcopy(event)
    sample_claims = (event["requestContext"].get("authorizer") or {}).get("claims") or {}
    role = sample_claims.get("cognito:groups", "customer")
    claims = jwt.decode(tokens[role]["AccessToken"], options={"verify_signature": False})
    if sample_claims:
        event["requestContext"]["authorizer"] = {"claims": as_rest_api_claims(claims)}
    placeholder_category = "cat_01KAXYZ0000000000000000000"
    if placeholder_category in json.dumps(event):
        event = json.loads(json.dumps(event).replace(placeholder_category, _real_category(local_stack)))
    placeholder_sku = "sku_01KAXYZ0000000000000000000SAMP"
    if placeholder_sku in json.dumps(event):
        sku_id = _new_stocked_sku(local_stack, tokens)
        event = json.loads(json.dumps(event).replace(placeholder_sku, sku_id))
        placeholder_token = "ct_SAMPLEGUESTTOKEN0000000000000000000000000000"
        if placeholder_token in json.dumps(event):
            event = json.loads(json.dumps(event).replace(placeholder_token, _new_guest_cart(local_stack, sku_id)))
    elif "ct_SAMPLEGUESTTOKEN" in json.dumps(event):
        token = _new_guest_cart(local_stack, _new_stocked_sku(local_stack, tokens))
        event = json.loads(json.dumps(event).replace("ct_SAMPLEGUESTTOKEN0000000000000000000000000000", token))
    if (event.get("pathParameters") or {}).get("product_id"):
        reviewing = (event["httpMethod"], event["resource"]) == ("POST", "/api/v1/products/{product_id}/reviews")
        product_id = _bought_product(local_stack, tokens) if reviewing else _new_product(local_stack, tokens)
        event["pathParameters"]["product_id"] = product_id
        event["path"] = event["resource"].replace("{product_id}", product_id)
    if event.get("pathParameters", {}) and "user_id" in event["pathParameters"]:
        event["pathParameters"]["user_id"] = claims["sub"]
        event["path"] = event["resource"].replace("{user_id}", claims["sub"])
    if event.get("body"):
        body = json.loads(event["body"])
        unique = uuid.uuid4().hex[:8]
        if event["resource"].endswith("/auth/register"):
            body["email"] = f"sample.{unique}@example.com"
        elif event["resource"].endswith("/auth/confirm"):
            body["email"] = "customer@example.com"  # moto accepts any code for an existing user
        elif event["resource"].endswith("/auth/login"):
            body["password"] = local_stack.demo_password
        elif event["resource"].endswith("/auth/refresh"):
            body["refresh_token"] = tokens["customer"]["RefreshToken"]
        elif "name" in body and event["resource"].endswith("/categories"):
            body["name"] = f"{body['name']} {unique}"
        event["body"] = json.dumps(body)
    return _with_orders_and_payments(event, tokens, local_stack)


def _with_orders_and_payments(event: dict, tokens: dict, local_stack) -> dict:
    """A new Idempotency-Key per run, and new orders of the demo customer for the placeholders."""
    if "Idempotency-Key" in (event.get("headers") or {}):
        event = _with_headers(event, {"Idempotency-Key": uuid.uuid4().hex})  # a new request, never a replay
    if (event["httpMethod"], event["resource"]) == ("POST", "/api/v1/orders"):
        _fill_customer_cart(local_stack, tokens)
    if PLACEHOLDER_ORDER in json.dumps(event):
        # shipping and refunding need a paid order
        to_ship = event["resource"].startswith("/api/v1/seller/orders/") or event["resource"].endswith("/refunds")
        order = _confirmed_order(local_stack, tokens) if to_ship else _pending_order(local_stack, tokens)
        if event["resource"].endswith("/deliver"):  # only a shipped part is delivered
            from tests.conftest import Api

            seller = Api(local_stack.url, tokens["seller"]["AccessToken"])
            shipped = seller.request("PUT", f"/api/v1/seller/orders/{order['order_id']}/ship", json={"carrier": "UPS", "tracking_number": "1Z"})
            assert shipped.status_code == 200, shipped.text
        event = _replaced(event, PLACEHOLDER_ORDER, order["order_id"])
    if PLACEHOLDER_PAYMENT in json.dumps(event):
        order = _pending_order(local_stack, tokens)
        event = _replaced(event, PLACEHOLDER_PAYMENT, order["payment"]["payment_id"])
        if event["resource"] == "/api/v1/payments/webhooks/{provider}":
            event = _signed_webhook(event, order, local_stack)
    return event


def _replaced(event: dict, placeholder: str, real: str) -> dict:
    return json.loads(json.dumps(event).replace(placeholder, real))


def _with_headers(event: dict, headers: dict[str, str]) -> dict:
    event = copy.deepcopy(event)
    for name, value in headers.items():
        event["headers"][name] = value
        event["multiValueHeaders"][name] = [value]
    return event


def _real_category(local_stack) -> str:
    import requests

    return requests.get(f"{local_stack.url}/api/v1/categories", timeout=30).json()["data"][0]["category_id"]


def _new_product(local_stack, tokens) -> str:
    import requests

    body = json.loads(_event_path("functions.catalog.handlers.create_product.handler").read_text())["body"]
    body = json.loads(body.replace("cat_01KAXYZ0000000000000000000", _real_category(local_stack)))
    response = requests.post(f"{local_stack.url}/api/v1/products", json=body, timeout=30,
                             headers={"Authorization": f"Bearer {tokens['seller']['AccessToken']}"})
    assert response.status_code == 201, response.text
    return response.json()["data"]["product_id"]


def _new_stocked_sku(local_stack, tokens) -> str:
    """A SKU of a new product of the demo seller, with stock."""
    import requests

    product_id = _new_product(local_stack, tokens)
    sku_id = requests.get(f"{local_stack.url}/api/v1/products/{product_id}", timeout=30).json()["data"]["skus"][0]["sku_id"]
    response = requests.put(f"{local_stack.url}/api/v1/inventory/{sku_id}", json={"on_hand": 10}, timeout=30,
                            headers={"Authorization": f"Bearer {tokens['seller']['AccessToken']}"})
    assert response.status_code == 200, response.text
    return sku_id


def _customer(local_stack, tokens):
    """The demo customer (the signed-in user of the customer samples), over HTTP."""
    from tests.conftest import Api

    return Api(local_stack.url, tokens["customer"]["AccessToken"])


def _fill_customer_cart(local_stack, tokens) -> str:
    """The demo customer's cart, emptied, then holding one unit of a new stocked SKU; the SKU."""
    customer = _customer(local_stack, tokens)
    sku_id = _new_stocked_sku(local_stack, tokens)
    cleared = customer.request("DELETE", "/api/v1/cart")
    assert cleared.status_code in (204, 404), cleared.text  # 404: no cart yet
    added = customer.post("/api/v1/cart/items", json={"sku_id": sku_id, "quantity": 1})
    assert added.status_code in (200, 201), added.text
    return sku_id


def _settle_pending_orders(local_stack, tokens) -> None:
    """Cancel the demo customer's orders still waiting for payment: one cart has one unpaid checkout
    at a time (docs/decisions/0019-one-checkout-per-cart.md), and each sample wants a new one."""
    from tests.checkout.conftest import wait_until

    customer = _customer(local_stack, tokens)
    for order in customer.get("/api/v1/orders?limit=100").json()["data"]["items"]:
        if order["status"] in ("PROCESSING", "PENDING_PAYMENT"):
            customer.request("PUT", f"/api/v1/orders/{order['order_id']}/cancel")
    assert wait_until(lambda: all(o["status"] not in ("PROCESSING", "PENDING_PAYMENT")
                                  for o in customer.get("/api/v1/orders?limit=100").json()["data"]["items"]))


def _pending_order(local_stack, tokens) -> dict:
    """A new order of the demo customer, awaiting payment (POST /orders answered 201)."""
    from tests.checkout.conftest import checkout, wait_until

    _settle_pending_orders(local_stack, tokens)
    _fill_customer_cart(local_stack, tokens)

    def placed():
        # a paid order's saga frees the cart in its last step (ClearCart), just after CONFIRMED
        response = checkout(_customer(local_stack, tokens))
        refused = response.status_code == 409 and response.json()["error"]["code"] == "CART_ALREADY_CHECKED_OUT"
        return None if refused else response

    created = wait_until(placed, timeout=10)
    assert created is not None
    assert created.status_code == 201, created.text
    return created.json()["data"]


def _confirmed_order(local_stack, tokens) -> dict:
    """A new paid (CONFIRMED) order of the demo customer, of one item of the demo seller."""
    from tests.checkout.conftest import pay, wait_for_order

    order = _pending_order(local_stack, tokens)
    pay(order["payment"]["payment_url"])
    return wait_for_order(_customer(local_stack, tokens), order["order_id"], ("CONFIRMED",))


def _bought_product(local_stack, tokens) -> str:
    """A new product of the demo seller that the demo customer has bought (may review)."""
    return _confirmed_order(local_stack, tokens)["items"][0]["product_id"]


def _webhook_secret(local_stack) -> str:
    import boto3

    client = boto3.client("secretsmanager", endpoint_url=local_stack.moto.endpoint, region_name="us-east-1")
    arn = local_stack.runtime.environment["PAYMENT_WEBHOOK_SECRET_ARN"]
    return json.loads(client.get_secret_value(SecretId=arn)["SecretString"])["current"]


def _signed_webhook(event: dict, order: dict, local_stack) -> dict:
    """The provider's event for the order's payment, for its amount, signed now (a new webhook id)."""
    from functions.payments.signatures import sign_standard_webhook

    body = json.loads(event["body"])
    body["data"].update(amount=order["total"], currency=order["currency"])
    event = {**event, "body": json.dumps(body, separators=(",", ":"))}
    return _with_headers(event, sign_standard_webhook(event["body"], _webhook_secret(local_stack), f"msg_{uuid.uuid4().hex}"))


def _content_type(result: dict) -> str:
    headers = {**(result.get("headers") or {}), **{k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()}}
    return next((value for name, value in headers.items() if name.lower() == "content-type"), "")


def _new_guest_cart(local_stack, sku_id: str) -> str:
    """A guest cart holding one unit of the SKU; its X-Cart-Token."""
    import requests

    response = requests.post(f"{local_stack.url}/api/v1/cart/items", json={"sku_id": sku_id, "quantity": 1}, timeout=30)
    assert response.status_code == 201, response.text
    return response.headers["X-Cart-Token"]


@pytest.mark.parametrize("route", all_routes(), ids=lambda r: r.handler)
def test_handler_answers_its_sample_event_with_the_envelope(local_stack, tokens, route):
    # GIVEN the sample event, with this stack's real users, tokens, products and orders in place of
    # placeholders (the reviewed product is one the sample's customer bought)
    event = _realistic(json.loads(_event_path(route.handler).read_text()), tokens, local_stack)
    function = next(r.function_name for r in local_stack.gateway.routes if r.key == f"{route.method} {route.path}")
    # WHEN the handler runs in-process, as Lambda would run it
    result = local_stack.runtime.invoke(function, event)
    # THEN it answers a 2xx in the success envelope, echoing the request id
    assert 200 <= result["statusCode"] < 300, result
    if route.handler in HTML_ROUTES:
        # (a page for a browser answers HTML, not the JSON envelope)
        assert result["statusCode"] == 200 and _content_type(result).startswith("text/html"), result
        return
    if result["statusCode"] == 204:
        assert not result["body"]
        return
    body = json.loads(result["body"])
    assert body["status"] == "success"
    assert body["meta"]["request_id"] == event["requestContext"]["requestId"]


def test_an_exception_in_a_handler_is_a_500_envelope_not_a_crash(local_stack, monkeypatch):
    # GIVEN the data layer fails unexpectedly
    from functions.catalog.handlers import list_categories

    def boom():
        raise RuntimeError("table unreachable")

    monkeypatch.setattr(list_categories, "category_tree", boom)
    event = json.loads(_event_path("functions.catalog.handlers.list_categories.handler").read_text())
    # WHEN the handler runs
    from local.lambda_runtime import LambdaContext

    result = list_categories.handler(event, LambdaContext("CatalogListCategories", 512, 10, "req-1"))
    # THEN the client gets a 500 with a stable code and no internals
    body = json.loads(result["body"])
    assert result["statusCode"] == 500
    assert body["error"]["code"] == "INTERNAL_ERROR" and "unreachable" not in result["body"]


def test_stream_consumers_have_sample_events_they_process(local_stack):
    """Every stream consumer has events/<service>/<module>.json and processes it without failures."""
    import redis

    from infra.topology import all_stream_consumers

    for consumer in all_stream_consumers():
        event = json.loads(_event_path(consumer.handler).read_text())
        function = next(lid for lid, spec in local_stack.runtime.functions.items() if spec.handler == consumer.handler)
        assert local_stack.runtime.invoke(function, event) == {"batchItemFailures": []}
    cache = redis.Redis.from_url(local_stack.cache.url, decode_responses=True)
    assert cache.get("product:{prd_01KAXYZ0000000000000000000}:version") == "3"
