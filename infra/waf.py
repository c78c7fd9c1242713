"""The API stage's web ACL (AWS WAF): per-address rate rules that API Gateway's stage and method
throttles cannot express (they count all callers together).

Rule `GuestCartsPerAddress` (docs/decisions/0025-hoarding-limits.md): a tokenless, anonymous
`POST /api/v1/cart/items` is what creates a guest cart, so at most
`config.guest_carts_per_address_per_minute` of them per client IP per minute; past that, 429
RATE_LIMITED in the contract's envelope. WAF aggregates on the connection's source IP (the same
address API Gateway hands the handler as requestContext.identity.sourceIp), never on a forwarded
header a client could write. `config.load_generator_cidrs` are not counted.

The local gateway (local/waf.py) enforces these rules from the synthesized template: the numbers
live only in infra/config.py.
"""

from __future__ import annotations

import json

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import StageConfig
from infra.topology import API_PREFIX

GUEST_CART_PATH = f"{API_PREFIX}/cart/items"
RATE_WINDOW_SECONDS = 60
RATE_LIMITED_BODY = "RateLimited"
RATE_LIMITED = json.dumps(
    {
        "status": "error",
        "error": {"code": "RATE_LIMITED", "message": "Too many new guest carts from this address: sign in, or retry in a minute.",
                  "details": {}},
        "meta": {},
    },
    separators=(",", ":"),
)


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True)


def _no_header(name: str) -> wafv2.CfnWebACL.StatementProperty:
    """Matches a request without this header (WAF: a size statement on a missing header does not match)."""
    return wafv2.CfnWebACL.StatementProperty(not_statement=wafv2.CfnWebACL.NotStatementProperty(
        statement=wafv2.CfnWebACL.StatementProperty(size_constraint_statement=wafv2.CfnWebACL.SizeConstraintStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(single_header={"Name": name}),
            comparison_operator="GT", size=0,
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
        ))
    ))


def _bytes(field: wafv2.CfnWebACL.FieldToMatchProperty, value: str, position: str) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
        field_to_match=field, positional_constraint=position, search_string=value,
        text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
    ))


class ApiFirewall(Construct):
    def __init__(self, scope: Construct, construct_id: str, config: StageConfig, api: apigw.RestApi) -> None:
        super().__init__(scope, construct_id)
        guest_cart = [
            _bytes(wafv2.CfnWebACL.FieldToMatchProperty(method={}), "POST", "EXACTLY"),
            # the stage name may precede it (execute-api URLs): match the end of the path
            _bytes(wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}), GUEST_CART_PATH, "ENDS_WITH"),
            _no_header("authorization"),  # a signed-in shopper's add creates no guest cart
            _no_header("x-cart-token"),  # nor does an add to an existing guest cart
        ]
        if config.load_generator_cidrs:
            exempt = wafv2.CfnIPSet(self, "LoadGenerators", scope="REGIONAL", ip_address_version="IPV4",
                                    addresses=list(config.load_generator_cidrs),
                                    description="Load generators: many simulated shoppers behind one address")
            guest_cart.append(wafv2.CfnWebACL.StatementProperty(not_statement=wafv2.CfnWebACL.NotStatementProperty(
                statement=wafv2.CfnWebACL.StatementProperty(
                    ip_set_reference_statement=wafv2.CfnWebACL.IPSetReferenceStatementProperty(arn=exempt.attr_arn)),
            )))
        self.web_acl = wafv2.CfnWebACL(
            self, "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"shop-{config.name}-api"),
            custom_response_bodies={
                RATE_LIMITED_BODY: wafv2.CfnWebACL.CustomResponseBodyProperty(content_type="APPLICATION_JSON", content=RATE_LIMITED),
            },
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="GuestCartsPerAddress",
                    priority=10,
                    action=wafv2.CfnWebACL.RuleActionProperty(block=wafv2.CfnWebACL.BlockActionProperty(
                        custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                            response_code=429, custom_response_body_key=RATE_LIMITED_BODY,
                            response_headers=[wafv2.CfnWebACL.CustomHTTPHeaderProperty(name="Retry-After", value=str(RATE_WINDOW_SECONDS))],
                        ),
                    )),
                    statement=wafv2.CfnWebACL.StatementProperty(rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP",
                        evaluation_window_sec=RATE_WINDOW_SECONDS,
                        limit=config.guest_carts_per_address_per_minute,
                        scope_down_statement=wafv2.CfnWebACL.StatementProperty(
                            and_statement=wafv2.CfnWebACL.AndStatementProperty(statements=guest_cart)),
                    )),
                    visibility_config=_visibility("GuestCartsPerAddress"),
                ),
            ],
        )
        wafv2.CfnWebACLAssociation(self, "StageAssociation", resource_arn=api.deployment_stage.stage_arn,
                                   web_acl_arn=self.web_acl.attr_arn)
