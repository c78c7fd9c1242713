"""Product images: presigned upload straight to the bucket, CDN URL on the product."""

from __future__ import annotations

import uuid

import requests


def _product(seller, anonymous) -> dict:
    tree = anonymous.get("/api/v1/categories").json()["data"]
    category = next(c for n in tree for c in n["children"] if c["name"] == "Lighting")["category_id"]
    body = {"title": f"Lamp {uuid.uuid4().hex[:6]}", "brand": "Lumina", "category_id": category,
            "skus": [{"options": {}, "price": 2599, "currency": "USD"}]}
    return seller.post("/api/v1/products", json=body).json()["data"]


def test_seller_uploads_an_image_and_adds_its_cdn_url(seller, anonymous):
    product = _product(seller, anonymous)
    # WHEN the seller asks for an upload
    response = seller.post(f"/api/v1/products/{product['product_id']}/images", json={"content_type": "image/png"})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    upload, image_url = data["upload"], data["image_url"]
    assert upload["fields"]["Content-Type"] == "image/png" and upload["max_bytes"] == 5 * 1024 * 1024
    assert f"products/{product['product_id']}/" in image_url and image_url.endswith(".png")
    # AND posts the file straight to the bucket with the presigned fields
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    posted = requests.post(upload["url"], data=upload["fields"], files={"file": ("lamp.png", png, "image/png")}, timeout=30)
    assert posted.status_code in (200, 204), posted.text
    # THEN the image is served at its URL, and the product can show it
    assert requests.get(image_url, timeout=30).content == png
    updated = seller.request("PUT", f"/api/v1/products/{product['product_id']}", json={"images": [image_url]})
    assert updated.status_code == 200 and updated.json()["data"]["images"] == [image_url]


def test_uploads_are_for_owners_and_images_only(seller, customer, admin, anonymous):
    product = _product(seller, anonymous)
    path = f"/api/v1/products/{product['product_id']}/images"
    assert customer.post(path, json={"content_type": "image/png"}).status_code == 403
    assert anonymous.post(path, json={"content_type": "image/png"}).status_code == 401
    assert admin.post(path, json={"content_type": "image/jpeg"}).status_code == 201
    bad = seller.post(path, json={"content_type": "application/pdf"})
    assert bad.status_code == 400 and bad.json()["error"]["details"]["fields"][0]["field"] == "body.content_type"
    assert seller.post("/api/v1/products/prd_01ARZ3NDEKTSV4RRFFQ69G5FAV/images", json={"content_type": "image/png"}).status_code == 404
    # Plain-http images from anywhere but the stage's own CDN are refused.
    refused = seller.request("PUT", f"/api/v1/products/{product['product_id']}", json={"images": ["http://evil.example.com/x.png"]})
    assert refused.status_code == 400
