"""What must hold once a load run has settled, read straight from the stack's tables.

- stock: every SKU's counters, holds and ledger agree (tests/inventory/stock_audit.py's
  `problems()`: no negative counter, on_hand == available + reserved, the ledger reconciles to
  the counters, the live holds add up to `reserved`, no hold ended twice);
- reservations: none is left once carts have idled past RESERVATION_TTL_SECONDS and unpaid
  orders past PAYMENT_WINDOW_SECONDS; any hold still there is described by what holds it
  (a live cart line, an order and its status, or nothing: orphaned);
- orders: none is stuck in PROCESSING / PENDING_PAYMENT; a CONFIRMED order's payment succeeded,
  a cancelled or failed one has no captured money left (refunded if it was paid);
- sales: per SKU, what the ledger sold (commits minus returns) is what paid orders bought;
- journal: every order the load drove ended where its shopper's actions lead (paid -> CONFIRMED,
  payment failed or left unpaid or cancelled -> CANCELLED, refused -> FAILED);
- read models: product pages show the table's availability for every SKU.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from shared.attributes import from_attrs

OPEN_ORDER_STATUSES = ("PROCESSING", "PENDING_PAYMENT")
PAID = ("CONFIRMED", "SHIPPED", "DELIVERED")
SHOWN_PROBLEMS = 15


@dataclass
class Check:
    name: str
    summary: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# -- reading the tables -------------------------------------------------------------------------


def _tables(stack: Any) -> dict[str, str]:
    env = stack.runtime.environment
    return {name: env[f"{name.upper()}_TABLE_NAME"] for name in ("inventory", "orders", "payments", "cart")}


def scan(stack: Any, table: str) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb", endpoint_url=stack.moto.endpoint)
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        response = client.scan(**kwargs)
        items.extend(response["Items"])
        if "LastEvaluatedKey" not in response:
            return items
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


@dataclass
class Snapshot:
    inventory: list[dict[str, Any]]  # plain dicts
    orders: dict[str, dict[str, Any]]  # order_id -> the order's header
    payments: dict[str, dict[str, Any]]  # order_id -> its payment
    carts: list[dict[str, Any]]

    @property
    def holds(self) -> list[dict[str, Any]]:
        return [item for item in self.inventory if item["sk"].startswith("HOLD#")]

    @property
    def stock(self) -> dict[str, dict[str, Any]]:
        return {item["sku_id"]: item for item in self.inventory if item["sk"] == "STOCK"}

    @property
    def open_orders(self) -> list[dict[str, Any]]:
        return [order for order in self.orders.values() if order["status"] in OPEN_ORDER_STATUSES]


def snapshot(stack: Any) -> Snapshot:
    tables = _tables(stack)
    inventory = [from_attrs(item) for item in scan(stack, tables["inventory"]) if item["pk"]["S"].startswith("SKU#")]
    orders = {}
    for item in scan(stack, tables["orders"]):
        if item["sk"]["S"] == "ORDER" and item["pk"]["S"].startswith("ORDER#"):
            order = from_attrs(item)
            orders[order["order_id"]] = order
    payments = {}
    for item in scan(stack, tables["payments"]):
        if item["sk"]["S"] == "PAYMENT" and item["pk"]["S"].startswith("PAYMENT#"):
            payment = from_attrs(item)
            payments[payment["order_id"]] = payment
    carts = [from_attrs(item) for item in scan(stack, tables["cart"])]
    return Snapshot(inventory, orders, payments, carts)


def _quiet(state: Snapshot) -> bool:
    return not state.open_orders and not state.holds and not any(item["reserved"] for item in state.stock.values())


def settle(stack: Any, timeout: float, interval: float = 2.0, log: Any = print) -> tuple[Snapshot, float]:
    """Wait until no order is open, no hold is left and nothing is reserved, twice in a row (a
    scan is not a point-in-time read: a hold may be released between reading its SKU's counters
    and its partition), or until `timeout`; (the last snapshot, seconds waited)."""
    started = time.monotonic()
    quiet_before = False
    while True:
        state = snapshot(stack)
        waited = time.monotonic() - started
        quiet = _quiet(state)
        if (quiet and quiet_before) or waited >= timeout:
            return state, waited
        if not quiet:
            reserved = sum(item["reserved"] for item in state.stock.values())
            log(f"  settling: {len(state.open_orders)} open orders, {len(state.holds)} holds, {reserved} reserved units ({waited:.0f} s)")
        quiet_before = quiet
        time.sleep(interval if not quiet else 0.5)


# -- the checks ---------------------------------------------------------------------------------


def check_stock(stack: Any, state: Snapshot) -> Check:
    from tests.inventory.stock_audit import audit

    touched = {item["sku_id"] for item in state.inventory if item["sk"].startswith("LEDGER#") and item.get("kind") == "reserve"}
    check = Check("stock counters, holds and ledger (stock_audit) for every SKU")
    for sku_id in sorted(state.stock):
        check.problems += [f"{sku_id}: {problem}" for problem in audit(stack, sku_id).problems()]
    check.summary = f"{len(state.stock)} SKUs audited, {len(touched)} of them reserved during the run"
    return check


def check_reservations(state: Snapshot, waited: float) -> Check:
    now = time.time()
    lines = {(item["pk"].removeprefix("CART#"), item["sku_id"]): item for item in state.carts if item["sk"].startswith("LINE#")}
    check = Check("no reservation left (orphaned or unreleased)")
    for hold in state.holds:
        holder, sku_id, quantity = hold["holder_id"], hold["sku_id"], hold["quantity"]
        due = "expired" if hold["expires_at"] <= now else f"expires in {hold['expires_at'] - now:.0f} s"
        if holder.startswith("order:"):
            order = state.orders.get(holder.removeprefix("order:"))
            what = f"order {order['status']}" if order else "no such order (orphaned)"
        else:
            line = lines.get((holder, sku_id))
            what = f"cart line of {line['quantity']}" if line else "no cart line (orphaned)"
        check.problems.append(f"{sku_id}: hold of {quantity} by {holder} ({what}; {due})")
    reserved = sum(item["reserved"] for item in state.stock.values())
    if reserved:
        check.problems.append(f"{reserved} units still reserved across all SKUs")
    check.summary = f"{len(state.holds)} holds and {reserved} reserved units left after settling {waited:.0f} s"
    return check


def check_orders(state: Snapshot) -> Check:
    statuses = Counter(order["status"] for order in state.orders.values())
    check = Check("orders settled and payments consistent")
    for order in state.orders.values():
        order_id, status = order["order_id"], order["status"]
        payment = state.payments.get(order_id)
        paid_status = payment["status"] if payment else None
        if status in OPEN_ORDER_STATUSES:
            check.problems.append(f"{order_id} still {status} (payment {paid_status})")
        elif status in PAID and paid_status != "succeeded":
            check.problems.append(f"{order_id} {status} but its payment is {paid_status}")
        elif status in ("CANCELLED", "FAILED") and paid_status == "succeeded":
            check.problems.append(f"{order_id} {status} ({order.get('reason')}) but its payment is captured, not refunded")
    payments = Counter(payment["status"] for payment in state.payments.values())
    check.summary = (f"{len(state.orders)} orders: " + ", ".join(f"{n} {s}" for s, n in statuses.most_common())
                     + "; payments: " + ", ".join(f"{n} {s}" for s, n in payments.most_common()))
    return check


def check_sales(state: Snapshot) -> Check:
    ledger_sold: Counter[str] = Counter()
    for item in state.inventory:
        if item["sk"].startswith("LEDGER#") and item.get("kind") in ("commit", "return"):
            ledger_sold[item["sku_id"]] -= item["on_hand_delta"]
    ordered: Counter[str] = Counter()
    for order in state.orders.values():
        if order["status"] in PAID:
            for line in order.get("items") or []:
                ordered[line["sku_id"]] += line["quantity"]
    check = Check("stock sold (ledger) == quantities of paid orders, per SKU")
    for sku_id in sorted(set(ledger_sold) | set(ordered)):
        if ledger_sold[sku_id] != ordered[sku_id]:
            check.problems.append(f"{sku_id}: ledger sold {ledger_sold[sku_id]}, paid orders hold {ordered[sku_id]}")
    check.summary = f"{sum(ordered.values())} units sold in {sum(1 for o in state.orders.values() if o['status'] in PAID)} paid orders over {len(ordered)} SKUs"
    return check


# What each shopper action must lead to: (allowed final statuses, allowed reasons or None for any).
EXPECTED_ENDS: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
    "paid_succeeded": (("CONFIRMED",), None),
    "paid_then_cancelled": (("CANCELLED",), ("CANCELLED_BY_CUSTOMER",)),
    "paid_failed": (("CANCELLED",), ("PAYMENT_FAILED",)),
    "unpaid": (("CANCELLED",), ("PAYMENT_WINDOW_ELAPSED",)),
    "cancelled": (("CANCELLED",), ("CANCELLED_BY_CUSTOMER",)),
    "cancel_refused": (("CONFIRMED", "CANCELLED", "FAILED"), None),
    "refused": (("FAILED",), None),
    "failed_after_202": (("FAILED", "CANCELLED"), None),
    "created": (("CONFIRMED", "CANCELLED", "FAILED"), None),  # the run stopped before the shopper acted
}


def read_journal(path: Path) -> dict[str, dict[str, Any]]:
    """order_id -> the last thing its shopper did (later lines win)."""
    last: dict[str, dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            if entry.get("order_id"):
                last[entry["order_id"]] = entry
    return last


def check_journal(state: Snapshot, journal: dict[str, dict[str, Any]]) -> Check:
    check = Check("each order ended where its shopper's actions lead")
    actions: Counter[str] = Counter()
    late = 0
    for order_id, entry in journal.items():
        action = entry["action"]
        actions[action] += 1
        order = state.orders.get(order_id)
        if order is None:
            check.problems.append(f"{order_id} ({action}): no such order")
            continue
        statuses, reasons = EXPECTED_ENDS[action]
        reason = order.get("reason")
        payment = (state.payments.get(order_id) or {}).get("status")
        if action == "paid_succeeded" and order["status"] == "CANCELLED" and reason == "PAYMENT_WINDOW_ELAPSED" and payment == "refunded":
            late += 1  # paid after its window closed: cancelled, and the late payment refunded
            continue
        if order["status"] not in statuses or (reasons is not None and reason not in reasons):
            check.problems.append(f"{order_id} ({action}) ended {order['status']} ({reason}), payment {payment}")
        elif action == "paid_then_cancelled" and payment != "refunded":
            check.problems.append(f"{order_id} ({action}) payment {payment}, not refunded")
    check.summary = f"{len(journal)} orders: " + ", ".join(f"{n} {a}" for a, n in actions.most_common())
    if late:
        check.summary += f"; {late} paid after their window closed (cancelled, refunded)"
    return check


def check_product_pages(stack: Any, state: Snapshot, timeout: float = 30.0) -> Check:
    """GET /products/{id} shows each SKU's `available` as the table has it (the availability
    cache is projected from the inventory stream: give it `timeout` to converge)."""
    by_product: dict[str, dict[str, int]] = defaultdict(dict)
    for sku_id, stock in state.stock.items():
        by_product[stock["product_id"]][sku_id] = stock["available"]
    check = Check("product pages show the table's availability")
    client = boto3.client("dynamodb", endpoint_url=stack.moto.endpoint)
    table = _tables(stack)["inventory"]

    def available_now(sku_ids: list[str]) -> dict[str, int]:
        found = {}
        for sku_id in sku_ids:
            item = client.get_item(TableName=table, Key={"pk": {"S": f"SKU#{sku_id}"}, "sk": {"S": "STOCK"}}, ConsistentRead=True).get("Item")
            found[sku_id] = int(item["available"]["N"]) if item else 0
        return found

    deadline = time.monotonic() + timeout
    pending = dict(by_product)
    while True:
        mismatches: dict[str, list[str]] = {}
        for product_id, expected in pending.items():
            with urllib.request.urlopen(f"{stack.url}/api/v1/products/{product_id}", timeout=30) as response:  # noqa: S310 - the local stack
                skus = {sku["sku_id"]: sku["availability"] for sku in json.load(response)["data"]["skus"]}
            wrong = [f"{sku_id} shows {skus.get(sku_id)}, table has available {available}"
                     for sku_id, available in expected.items()
                     if sku_id not in skus or skus[sku_id]["available"] != available or skus[sku_id]["in_stock"] != (available > 0)]
            if wrong:
                mismatches[product_id] = wrong
        if not mismatches or time.monotonic() > deadline:
            break
        # Compare again against the table as it is now (the snapshot may predate a release).
        pending = {product_id: available_now(list(by_product[product_id])) for product_id in mismatches}
        time.sleep(2)
    check.problems = [f"{product_id}: {problem}" for product_id, problems in mismatches.items() for problem in problems]
    check.summary = f"{len(by_product)} product pages, {len(state.stock)} SKUs compared"
    return check


def run_checks(stack: Any, journal_path: Path, settle_timeout: float, log: Any = print) -> list[Check]:
    state, waited = settle(stack, settle_timeout, log=log)
    checks = [
        check_reservations(state, waited),
        check_orders(state),
        check_stock(stack, state),
        check_sales(state),
        check_journal(state, read_journal(journal_path)),
        check_product_pages(stack, state),
    ]
    return checks
