"""Fulfilment over HTTP: each seller ships and delivers their own part; the buyer sees every
parcel (carrier, tracking number, when it shipped and arrived) and the order's history; the
seller's answers never show the rest of the order; the shipped email carries the tracking."""

from __future__ import annotations

import uuid

from tests.checkout.conftest import checkout, pay, payable, register, wait_for_order, wait_until


def _product(seller, category_id: str, on_hand: int = 10) -> str:
    body = {"title": f"Parcel Tee {uuid.uuid4().hex[:8]}", "brand": "Testwear", "category_id": category_id,
            "skus": [{"options": {"size": "M"}, "price": 1500, "currency": "USD"}]}
    created = seller.post("/api/v1/products", json=body)
    assert created.status_code == 201, created.text
    sku = created.json()["data"]["skus"][0]["sku_id"]
    assert seller.request("PUT", f"/api/v1/inventory/{sku}", json={"on_hand": on_hand}).status_code == 200
    return sku


def _two_seller_order(local_stack, shopper, seller, leaf_category_id):
    other = register(local_stack, "seller")
    skus = [_product(seller, leaf_category_id), _product(other, leaf_category_id)]
    for sku in skus:
        assert shopper.post("/api/v1/cart/items", json={"sku_id": sku, "quantity": 1}).status_code in (200, 201)
    order = payable(shopper, checkout(shopper))
    pay(order["payment"]["payment_url"])
    return wait_for_order(shopper, order["order_id"], ("CONFIRMED",)), other, skus


def _put(api, order_id: str, action: str, **body):
    return api.request("PUT", f"/api/v1/seller/orders/{order_id}/{action}", json=body or None)


def test_each_seller_ships_and_delivers_their_part_and_the_buyer_sees_every_parcel(local_stack, shopper, seller, leaf_category_id):
    # GIVEN a paid order with one line from each of two sellers
    order, other, (mine, theirs) = _two_seller_order(local_stack, shopper, seller, leaf_category_id)
    order_id = order["order_id"]
    # WHEN the first seller tries to deliver before shipping: 409, nothing changes
    early = _put(seller, order_id, "deliver")
    assert early.status_code == 409 and early.json()["error"]["code"] == "INVALID_STATE", early.text
    # WHEN the first seller ships
    shipped = _put(seller, order_id, "ship", carrier="UPS", tracking_number="1Z999")
    assert shipped.status_code == 200, shipped.text
    answer = shipped.json()["data"]
    # THEN the answer is that seller's part only: no total, no payment link, no other seller's lines
    assert [item["sku_id"] for item in answer["items"]] == [mine], answer
    assert not {"total", "payment", "history", "shipments"} & set(answer), answer
    assert answer["shipment"]["carrier"] == "UPS" and answer["shipment"]["tracking_number"] == "1Z999", answer
    # AND the order is not SHIPPED until the other seller ships too; the buyer sees one parcel on its way
    view = shopper.get(f"/api/v1/orders/{order_id}").json()["data"]
    assert view["status"] == "CONFIRMED", view
    parcels = {parcel["sku_ids"][0]: parcel for parcel in view["shipments"]}
    assert parcels[mine]["status"] == "SHIPPED" and parcels[mine]["carrier"] == "UPS" and parcels[mine]["tracking_number"] == "1Z999"
    assert parcels[mine]["shipped_at"] and parcels[mine]["delivered_at"] is None
    assert parcels[theirs]["status"] == "NOT_SHIPPED" and parcels[theirs]["tracking_number"] is None
    # WHEN the second seller ships, and shipping again is answered with the first record
    assert _put(other, order_id, "ship", carrier="DHL", tracking_number="JD01").status_code == 200
    again = _put(other, order_id, "ship", carrier="FedEx", tracking_number="other")
    assert again.status_code == 200 and again.json()["data"]["shipment"]["tracking_number"] == "JD01", again.text
    # THEN the order is SHIPPED
    assert shopper.get(f"/api/v1/orders/{order_id}").json()["data"]["status"] == "SHIPPED"
    # WHEN each seller records their delivery
    delivered = _put(seller, order_id, "deliver")
    assert delivered.status_code == 200, delivered.text
    assert [item["sku_id"] for item in delivered.json()["data"]["items"]] == [mine]
    assert delivered.json()["data"]["shipment"]["delivered_at"]
    assert shopper.get(f"/api/v1/orders/{order_id}").json()["data"]["status"] == "SHIPPED"  # one parcel still out
    assert _put(other, order_id, "deliver").status_code == 200
    # THEN the order is DELIVERED, every parcel has its times, the history each transition's time
    final = shopper.get(f"/api/v1/orders/{order_id}").json()["data"]
    assert final["status"] == "DELIVERED", final
    assert all(parcel["status"] == "DELIVERED" and parcel["shipped_at"] <= parcel["delivered_at"] for parcel in final["shipments"])
    statuses = [entry["status"] for entry in final["history"]]
    assert statuses[-3:] == ["CONFIRMED", "SHIPPED", "DELIVERED"] and all(entry["at"] for entry in final["history"]), final["history"]
    # AND a repeated delivery changes nothing; a stranger and the buyer cannot deliver
    assert _put(seller, order_id, "deliver").status_code == 200
    assert _put(register(local_stack, "seller"), order_id, "deliver").status_code == 404
    assert _put(shopper, order_id, "deliver").status_code == 403
    assert shopper.get(f"/api/v1/orders/{order_id}").json()["data"]["status"] == "DELIVERED"


def test_the_shipped_email_carries_the_carrier_and_tracking_number(shopper, seller, bought):
    from functions.notifications.outbox import read_outbox

    # GIVEN a paid order
    order, _ = bought()
    # WHEN its seller ships it
    assert _put(seller, order["order_id"], "ship", carrier="UPS", tracking_number="1ZTRACK42").status_code == 200

    # THEN the buyer's shipped notice names the carrier and the tracking number
    def shipped_notice():
        return next((m for m in read_outbox(order["order_id"]) if m["kind"] == "order-shipped"), None)

    notice = wait_until(shipped_notice, timeout=30)
    assert notice, read_outbox(order["order_id"])
    assert "UPS 1ZTRACK42" in notice["body"], notice["body"]
