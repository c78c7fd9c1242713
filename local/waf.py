"""A local AWS WAF: the template's web ACL rules (AWS::WAFv2::WebACL associated with the API
stage, infra/waf.py), evaluated by the local gateway before it routes a request, as WAF does in
front of API Gateway.

Only what the template uses is understood: rate-based rules (aggregate key IP) whose scope-down
is built of And/Not, ByteMatch on the method or URI path, SizeConstraint on one header and an
IPSet reference; a block action with a custom response. Anything else fails the stack's start
with a message, rather than being silently not enforced. Counting is exact here (a sliding
window of the requests allowed per address); WAF's is approximate and acts within seconds.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from local.cfn import Deployment

Matcher = Callable[[Request, str], bool]  # (request, source address) -> matches


@dataclass
class RateRule:
    name: str
    limit: int
    window_seconds: int
    scope_down: Matcher
    response: Callable[[], Response]  # a new one per blocked request
    _seen: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def blocks(self, request: Request, source_ip: str) -> bool:
        if not self.scope_down(request, source_ip):
            return False
        now = time.monotonic()
        with self._lock:
            seen = self._seen[source_ip]
            while seen and seen[0] <= now - self.window_seconds:
                seen.popleft()
            if len(seen) >= self.limit:
                return True
            seen.append(now)
            return False


class WebAcl:
    def __init__(self, rules: list[RateRule]) -> None:
        self.rules = rules

    def blocked(self, request: Request, source_ip: str) -> Response | None:
        """The block response of the first rule that blocks this request, or None (allowed)."""
        for rule in self.rules:
            if rule.blocks(request, source_ip):
                return rule.response()
        return None

    @classmethod
    def from_template(cls, deployment: Deployment) -> WebAcl:
        associated = {
            resource["Properties"]["WebACLArn"]["Fn::GetAtt"][0]
            for resource in deployment.resources_of_type("AWS::WAFv2::WebACLAssociation").values()
        }
        rules: list[RateRule] = []
        for logical_id, resource in deployment.resources_of_type("AWS::WAFv2::WebACL").items():
            if logical_id not in associated:
                continue
            props = resource["Properties"]
            bodies = props.get("CustomResponseBodies") or {}
            for rule in sorted(props.get("Rules") or [], key=lambda r: r["Priority"]):
                rules.append(_rate_rule(deployment, rule, bodies))
        return cls(rules)


def _rate_rule(deployment: Deployment, rule: dict[str, Any], bodies: dict[str, Any]) -> RateRule:
    rate = rule["Statement"].get("RateBasedStatement")
    if rate is None or rate.get("AggregateKeyType") != "IP":
        raise ValueError(f"WAF rule {rule['Name']}: only rate-based rules on IP are enforced locally (teach local/waf.py)")
    block = (rule.get("Action") or {}).get("Block")
    if block is None:
        raise ValueError(f"WAF rule {rule['Name']}: only Block actions are enforced locally")
    custom = block.get("CustomResponse") or {}
    status = int(custom.get("ResponseCode", 403))
    body = bodies.get(custom.get("CustomResponseBodyKey"), {})
    content_type = {"APPLICATION_JSON": "application/json", "TEXT_PLAIN": "text/plain", "TEXT_HTML": "text/html"}
    headers = {header["Name"]: header["Value"] for header in custom.get("ResponseHeaders") or []}

    def response() -> Response:
        return Response(body.get("Content", ""), status=status, headers=headers,
                        content_type=content_type.get(body.get("ContentType", "TEXT_PLAIN"), "text/plain"))

    scope = rate.get("ScopeDownStatement")
    return RateRule(
        name=rule["Name"], limit=int(rate["Limit"]), window_seconds=int(rate.get("EvaluationWindowSec", 300)),
        scope_down=_statement(deployment, scope) if scope else (lambda request, ip: True), response=response,
    )


def _statement(deployment: Deployment, statement: dict[str, Any]) -> Matcher:
    if "AndStatement" in statement:
        parts = [_statement(deployment, part) for part in statement["AndStatement"]["Statements"]]
        return lambda request, ip: all(part(request, ip) for part in parts)
    if "NotStatement" in statement:
        inner = _statement(deployment, statement["NotStatement"]["Statement"])
        return lambda request, ip: not inner(request, ip)
    if "ByteMatchStatement" in statement:
        return _byte_match(statement["ByteMatchStatement"])
    if "SizeConstraintStatement" in statement:
        return _size_constraint(statement["SizeConstraintStatement"])
    if "IPSetReferenceStatement" in statement:
        ip_set = statement["IPSetReferenceStatement"]["Arn"]["Fn::GetAtt"][0]
        networks = [ipaddress.ip_network(cidr) for cidr in deployment.properties(ip_set)["Addresses"]]
        return lambda request, ip: any(ipaddress.ip_address(ip) in network for network in networks)
    raise ValueError(f"WAF statement {sorted(statement)} is not enforced locally (teach local/waf.py)")


def _no_transformations(spec: dict[str, Any]) -> None:
    if any(t.get("Type") != "NONE" for t in spec.get("TextTransformations") or []):
        raise ValueError("WAF text transformations other than NONE are not enforced locally")


def _byte_match(spec: dict[str, Any]) -> Matcher:
    _no_transformations(spec)
    field_to_match = spec["FieldToMatch"]
    if "Method" in field_to_match:
        def value(request: Request) -> str:
            return request.method
    elif "UriPath" in field_to_match:
        def value(request: Request) -> str:
            return request.path
    else:
        raise ValueError(f"WAF byte match on {sorted(field_to_match)} is not enforced locally")
    wanted, position = spec["SearchString"], spec["PositionalConstraint"]
    tests = {
        "EXACTLY": lambda text: text == wanted, "STARTS_WITH": lambda text: text.startswith(wanted),
        "ENDS_WITH": lambda text: text.endswith(wanted), "CONTAINS": lambda text: wanted in text,
    }
    if position not in tests:
        raise ValueError(f"WAF positional constraint {position} is not enforced locally")
    test = tests[position]
    return lambda request, ip: test(value(request))


def _size_constraint(spec: dict[str, Any]) -> Matcher:
    _no_transformations(spec)
    header = (spec["FieldToMatch"].get("SingleHeader") or {}).get("Name")
    if header is None:
        raise ValueError("WAF size constraints other than on one header are not enforced locally")
    size = int(spec["Size"])
    compare = {"EQ": int.__eq__, "NE": int.__ne__, "LE": int.__le__, "LT": int.__lt__, "GE": int.__ge__, "GT": int.__gt__}
    operator = compare[spec["ComparisonOperator"]]

    def matches(request: Request, ip: str) -> bool:
        value = request.headers.get(header)
        return value is not None and operator(len(value.encode()), size)  # a missing header never matches

    return matches
