"""Order mail goes only to a verified address: a user who changes their email to one nobody has
verified keeps getting order mail at the verified one (functions/notifications/recipients.py)."""

from __future__ import annotations

import boto3

from tests.checkout.conftest import checkout, pay, payable, register, wait_for_order, wait_until


def test_order_mail_goes_to_the_verified_address_not_a_newly_typed_one(local_stack, stocked_product):
    from functions.notifications.outbox import read_outbox

    # GIVEN a shopper who signed up (address verified) and then set a new email through Cognito,
    # which nobody has verified
    shopper = register(local_stack)
    me = shopper.get("/api/v1/users/me").json()["data"]
    verified = me["email"]
    token = shopper.session.headers["Authorization"].removeprefix("Bearer ")
    idp = boto3.client("cognito-idp", endpoint_url=local_stack.moto.endpoint, region_name="us-east-1")
    unverified = f"attacker-{verified}"
    idp.update_user_attributes(AccessToken=token, UserAttributes=[{"Name": "email", "Value": unverified}])
    # WHEN they buy something
    sku = stocked_product([5])["skus"][0]["sku_id"]
    assert shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 1}).status_code in (200, 201)
    order = payable(shopper, checkout(shopper))
    pay(order["payment"]["payment_url"])
    wait_for_order(shopper, order["order_id"], ("CONFIRMED",))

    # THEN the confirmation went to the verified address, and nothing to the unverified one
    def confirmation():
        return next((m for m in read_outbox(order["order_id"]) if m["kind"] == "order-confirmation"), None)

    notice = wait_until(confirmation, timeout=30)
    assert notice and notice["to"] == verified, read_outbox(order["order_id"])
    assert all(message["to"] != unverified for message in read_outbox(order["order_id"]))
