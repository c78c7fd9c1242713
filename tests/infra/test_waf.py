"""The API stage's web ACL: new guest carts per client address per minute (infra/waf.py), and the
local gateway enforcing exactly the template's rule (local/waf.py), with no number copied."""

from __future__ import annotations

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from infra.config import stage_config
from infra.waf import GUEST_CART_PATH
from local.cfn import Deployment
from local.waf import WebAcl

from .conftest import Synth


def _rate_statement(synth: Synth) -> dict:
    [acl] = synth.of_type("AWS::WAFv2::WebACL").values()
    [rule] = [rule for rule in acl["Properties"]["Rules"] if rule["Name"] == "GuestCartsPerAddress"]
    return rule["Statement"]["RateBasedStatement"]


def test_the_stage_has_a_per_address_rate_rule_on_guest_cart_creation(synth: Synth):
    # GIVEN the synthesized stage (dev and prod)
    config = stage_config(synth.stage)
    # THEN one web ACL is associated with the API's stage
    [acl_id] = synth.of_type("AWS::WAFv2::WebACL")
    [association] = synth.of_type("AWS::WAFv2::WebACLAssociation").values()
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert "/stages/" in str(association["Properties"]["ResourceArn"])
    # AND its rule counts per connection address (never a forwarded header) over one minute,
    # with the stage's number, and blocks with 429 in the contract's envelope
    rate = _rate_statement(synth)
    assert (rate["AggregateKeyType"], rate["EvaluationWindowSec"], rate["Limit"]) == ("IP", 60, config.guest_carts_per_address_per_minute)
    assert "ForwardedIPConfig" not in rate
    [acl] = synth.of_type("AWS::WAFv2::WebACL").values()
    [rule] = acl["Properties"]["Rules"]
    assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    assert '"code":"RATE_LIMITED"' in acl["Properties"]["CustomResponseBodies"]["RateLimited"]["Content"]
    # AND only dev exempts the local machine (load generators); prod exempts nobody
    ip_sets = [r["Properties"]["Addresses"] for r in synth.of_type("AWS::WAFv2::IPSet").values()]
    assert ip_sets == ([list(config.load_generator_cidrs)] if config.load_generator_cidrs else [])
    # AND every guest handler knows the hold window
    assert config.guest_max_hold_seconds >= config.reservation_ttl_seconds


def _request(method: str, path: str, source: str, headers: dict | None = None) -> tuple[Request, str]:
    environ = EnvironBuilder(method=method, path=path, headers=headers or {}, environ_base={"REMOTE_ADDR": source}).get_environ()
    return Request(environ), source


def test_the_local_gateway_enforces_the_templates_rule(dev: Synth):
    # GIVEN the local WAF built from the dev template, and the rule's limit read from the template
    acl = WebAcl.from_template(Deployment(dev.template))
    limit = _rate_statement(dev)["Limit"]
    # WHEN one address creates guest carts as fast as it can
    answers = [acl.blocked(*_request("POST", f"/dev{GUEST_CART_PATH}", "203.0.113.7")) for _ in range(limit + 3)]
    # THEN the first `limit` pass and the rest are 429 RATE_LIMITED (with Retry-After)
    assert [answer is None for answer in answers] == [True] * limit + [False] * 3
    blocked = answers[-1]
    assert blocked is not None and blocked.status_code == 429 and blocked.headers["Retry-After"] == "60"
    assert blocked.get_json()["error"]["code"] == "RATE_LIMITED"
    # AND what creates no guest cart is not counted: a signed-in add, an add to an existing guest
    # cart, a GET, another path; nor is another address, nor the dev stage's load generator
    for request in [
        _request("POST", GUEST_CART_PATH, "203.0.113.7", {"Authorization": "Bearer x"}),
        _request("POST", GUEST_CART_PATH, "203.0.113.7", {"X-Cart-Token": "ct_x"}),
        _request("GET", "/api/v1/cart", "203.0.113.7"),
        _request("POST", "/api/v1/orders", "203.0.113.7"),
        _request("POST", GUEST_CART_PATH, "203.0.113.8"),
    ] + [_request("POST", GUEST_CART_PATH, "127.0.0.1") for _ in range(limit + 3)]:
        assert acl.blocked(*request) is None
