"""CORS in the template (infra/cors.py): a preflight per resource, answered by API Gateway."""

from __future__ import annotations

from typing import Any

import pytest

from infra import cors
from tests.infra.conftest import Synth


def _methods_by_path(synth: Synth) -> dict[str, dict[str, dict[str, Any]]]:
    from local.gateway import _path_of  # the path resolution the local gateway uses

    resources = synth.of_type("AWS::ApiGateway::Resource")
    by_path: dict[str, dict[str, dict[str, Any]]] = {}
    for method in synth.of_type("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        by_path.setdefault(_path_of(props["ResourceId"], resources), {})[props["HttpMethod"]] = props
    return by_path


def test_every_resource_with_routes_has_a_mock_preflight_for_the_stages_origins(synth: Synth) -> None:
    origins = synth.stack.config.cors_allowed_origins
    assert origins, "both stages configure CORS"
    for path, methods in _methods_by_path(synth).items():
        # GIVEN a resource with routes
        routes = set(methods) - {"OPTIONS"}
        assert routes, f"{path}: an OPTIONS method without routes"
        preflight = methods["OPTIONS"]
        integration = preflight["Integration"]
        # THEN its preflight runs no Lambda and needs no token
        assert integration["Type"] == "MOCK" and preflight["AuthorizationType"] == "NONE"
        (response,) = integration["IntegrationResponses"]
        headers = {k.removeprefix("method.response.header."): v.strip("'") for k, v in response["ResponseParameters"].items()}
        # AND it names the resource's methods; Access-Control-Allow-Origin is never static...
        assert set(headers["Access-Control-Allow-Methods"].split(",")) == routes | {"OPTIONS"}
        assert "Access-Control-Allow-Origin" not in headers and headers["Vary"] == "Origin"
        # ...but echoed by the template for exactly the stage's origins
        assert cors.origins_of_template(response["ResponseTemplates"]["application/json"]) == origins
        declared = {p["StatusCode"]: p["ResponseParameters"] for p in preflight["MethodResponses"]}
        assert declared["204"]["method.response.header.Access-Control-Allow-Origin"] is True


def test_gateway_responses_carry_the_stages_single_origin(synth: Synth) -> None:
    (origin,) = synth.stack.config.cors_allowed_origins
    for response in synth.of_type("AWS::ApiGateway::GatewayResponse").values():
        parameters = response["Properties"]["ResponseParameters"]
        assert parameters["gatewayresponse.header.Access-Control-Allow-Origin"] == f"'{origin}'"
        assert parameters["gatewayresponse.header.Vary"] == "'Origin'"


def test_every_function_knows_the_stages_origins(synth: Synth) -> None:
    expected = ",".join(synth.stack.config.cors_allowed_origins)
    for function in synth.of_type("AWS::Lambda::Function").values():
        variables = (function["Properties"].get("Environment") or {}).get("Variables") or {}
        if "STAGE" in variables:  # the stack's own functions (not CDK's custom-resource helpers)
            assert variables["CORS_ALLOWED_ORIGINS"] == expected


def test_gateway_responses_name_no_origin_when_a_stage_allows_several() -> None:
    # API Gateway cannot branch on Origin in a gateway response: several origins -> none named
    assert cors.gateway_response_headers(("https://a.example", "https://b.example")) == {"Vary": "Origin"}
    assert cors.gateway_response_headers(()) == {}


@pytest.mark.parametrize("origin", ["*", "https://shop.example.com/", "https://*.example.com", "HTTPS://Shop.example.com", "shop.example.com"])
def test_an_origin_that_is_not_scheme_host_port_fails_the_synth(origin: str) -> None:
    with pytest.raises(ValueError, match="CORS origin"):
        cors.check_origins((origin,))


def test_the_local_gateway_refuses_a_preflight_template_it_cannot_render() -> None:
    template = cors.preflight_template(("https://a.example", "https://b.example"))
    assert cors.origins_of_template(template) == ("https://a.example", "https://b.example")
    with pytest.raises(ValueError, match="teach local/gateway.py"):
        cors.origins_of_template(template.replace("==", "!="))
