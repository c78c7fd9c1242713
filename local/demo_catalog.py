"""A deterministic demo catalog: 200+ products across the seeded category tree, with stock."""

from __future__ import annotations

import random
from typing import Any

COLORS = ["Black", "White", "Blue", "Red", "Green", "Grey", "Navy", "Beige"]
SIZES = ["XS", "S", "M", "L", "XL"]

# leaf category -> (product nouns, brands, price range in cents, option kinds)
CATALOG: dict[str, tuple[list[str], list[str], tuple[int, int], tuple[str, ...]]] = {
    "Phones": (["Smartphone", "Phone Case", "Charger"], ["Apex", "Nimbus", "Voltra"], (999, 99999), ("color",)),
    "Laptops": (["Ultrabook", "Gaming Laptop", "Laptop Sleeve"], ["Apex", "Kestrel", "Voltra"], (2999, 249999), ("color",)),
    "TVs": (["4K TV", "OLED TV", "TV Wall Mount"], ["Lumina", "Kestrel"], (4999, 299999), ()),
    "Audio": (["Wireless Headphones", "Bluetooth Speaker", "Earbuds"], ["Sonora", "Apex", "Nimbus"], (1999, 39999), ("color",)),
    "T-Shirts": (["Cotton T-Shirt", "Graphic Tee", "V-Neck T-Shirt", "Polo Shirt"], ["Northwind", "Urbanic", "Trailhead"], (999, 4999), ("size", "color")),
    "Jeans": (["Slim Jeans", "Relaxed Jeans", "Denim Shorts"], ["Urbanic", "Northwind"], (2999, 9999), ("size", "color")),
    "Shoes": (["Running Shoes", "Leather Boots", "Canvas Sneakers"], ["Stride", "Trailhead", "Urbanic"], (3999, 19999), ("size", "color")),
    "Jackets": (["Rain Jacket", "Down Jacket", "Fleece Jacket"], ["Trailhead", "Northwind"], (4999, 29999), ("size", "color")),
    "Cookware": (["Frying Pan", "Stock Pot", "Chef Knife"], ["Hearth", "Copperline"], (1499, 19999), ()),
    "Furniture": (["Desk Chair", "Bookshelf", "Coffee Table"], ["Oakhaus", "Hearth"], (4999, 59999), ("color",)),
    "Lighting": (["Desk Lamp", "Floor Lamp", "LED Strip"], ["Lumina", "Oakhaus"], (1499, 14999), ("color",)),
    "Fiction": (["Mystery Novel", "Fantasy Saga", "Sci-Fi Anthology"], ["Quill Press", "Harbor Books"], (799, 2999), ()),
    "Non-Fiction": (["Cookbook", "History of Trade", "Field Guide"], ["Quill Press", "Harbor Books"], (999, 3999), ()),
    "Children": (["Picture Book", "Activity Book"], ["Harbor Books"], (499, 1999), ()),
    "Cycling": (["Road Bike Helmet", "Bike Lights", "Cycling Jersey"], ["Stride", "Velo"], (1999, 14999), ("size", "color")),
    "Camping": (["Two-Person Tent", "Sleeping Bag", "Camp Stove"], ["Trailhead", "Summit"], (2999, 39999), ("color",)),
    "Fitness": (["Yoga Mat", "Dumbbell Set", "Resistance Bands"], ["Stride", "Summit"], (999, 19999), ("color",)),
}

ADJECTIVES = ["Classic", "Essential", "Premium", "Everyday", "Pro", "Lightweight", "Organic", "Eco"]


def demo_products(category_ids: dict[str, str], count: int = 204, seed: int = 42) -> list[tuple[dict[str, Any], list[int]]]:
    """[(create-product body, stock per SKU)] spread evenly over the leaf categories."""
    rng = random.Random(seed)
    leaves = [name for name in CATALOG if name in category_ids]
    products = []
    for index in range(count):
        leaf = leaves[index % len(leaves)]
        nouns, brands, (low, high), option_kinds = CATALOG[leaf]
        noun, brand = rng.choice(nouns), rng.choice(brands)
        colors = rng.sample(COLORS, k=2) if "color" in option_kinds else [None]
        sizes = rng.sample(SIZES, k=3) if "size" in option_kinds else [None]
        price = rng.randrange(low, high) // 100 * 100 + 99
        skus = []
        for color in colors:
            for size in sizes:
                options = {k: v for k, v in (("color", color), ("size", size)) if v}
                skus.append({"options": options, "price": price, "currency": "USD"})
        title = f"{rng.choice(ADJECTIVES)} {colors[0] + ' ' if colors[0] else ''}{noun}"
        body = {
            "title": title,
            "description": f"{title} by {brand}. A demo product in {leaf}.",
            "brand": brand,
            "category_id": category_ids[leaf],
            "attributes": {"demo": True, "origin": rng.choice(["US", "DE", "JP", "VN", "PT"])},
            "images": [f"https://images.example.com/demo/{index:04d}.jpg"],
            "skus": skus,
        }
        stock = [0 if rng.random() < 0.1 else rng.randrange(1, 60) for _ in skus]
        products.append((body, stock))
    return products
