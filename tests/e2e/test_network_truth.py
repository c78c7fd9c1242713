"""ADR 0049 over HTTP: with POST /cart/items in the VPC (its placement before the fix), a signed-in
add answers what a Lambda timeout gives (API Gateway's 502, the
template's DEFAULT_5XX response) and its log says why; guests, who send
no token, are unaffected. As the template places it now (out of the VPC), both work."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from tests.conftest import Api

ADD_ITEM = "functions.cart.handlers.add_item.handler"


@contextmanager
def _placed(local_stack, in_vpc: bool) -> Iterator[None]:
    """The add-to-cart function with (or without) the template's VpcConfig, on a cold instance:
    its verifier has no keys yet (each Lambda instance fetches its own)."""
    import shared.tokens

    runtime = local_stack.runtime
    [spec] = [spec for spec in runtime.functions.values() if spec.handler == ADD_ITEM]
    runtime.register(dataclasses.replace(spec, in_vpc=in_vpc))
    shared.tokens._verifier.cache_clear()
    try:
        yield
    finally:
        runtime.register(spec)
        shared.tokens._verifier.cache_clear()


def test_the_template_keeps_add_to_cart_out_of_the_vpc_and_gives_the_vpc_its_routes(local_stack) -> None:
    [spec] = [spec for spec in local_stack.runtime.functions.values() if spec.handler == ADD_ITEM]
    assert spec.in_vpc is False
    assert {"dynamodb", "secretsmanager"} <= local_stack.runtime.network.endpoints
    assert local_stack.runtime.network.nat is False


def test_in_the_vpc_a_signed_in_add_times_out_and_a_guest_add_works(local_stack, customer, stocked_product, caplog) -> None:
    # GIVEN POST /cart/items in the VPC's isolated subnets, as before ADR 0049
    sku = stocked_product([10])["skus"][0]["sku_id"]
    customer.request("DELETE", "/api/v1/cart")
    with _placed(local_stack, in_vpc=True), caplog.at_level(logging.ERROR):
        # WHEN a signed-in shopper adds (the token's keys come from Cognito's JWKS host)
        signed_in = customer.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 1})
        # AND a guest adds
        guest = Api(local_stack.url).post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 1})
    # THEN the signed-in add fails as a timed-out function does behind API Gateway
    assert signed_in.status_code == 502, signed_in.text
    assert signed_in.json()["error"]["code"] == "INTERNAL_ERROR"  # the template's DEFAULT_5XX gateway response
    # AND the log names the function, the rule and the timeout
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Task timed out after 10.00 seconds" in logged
    assert "cannot reach" in logged and "isolated subnets reaches only its VPC endpoints" in logged
    assert "a public AWS host such as Cognito's JWKS" in logged
    # AND the guest (no token, no JWKS) is unaffected
    assert guest.status_code == 201, guest.text


def test_out_of_the_vpc_a_signed_in_add_works(local_stack, customer, stocked_product) -> None:
    sku = stocked_product([10])["skus"][0]["sku_id"]
    customer.request("DELETE", "/api/v1/cart")
    with _placed(local_stack, in_vpc=False):
        added = customer.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 2})
    assert added.status_code in (200, 201), added.text
    assert added.json()["data"]["items"][0]["quantity"] == 2
