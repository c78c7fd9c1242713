"""CORS per stage: API Gateway answers every preflight itself, for the stage's allowed origins only.

Each resource with routes gets an OPTIONS method on a MOCK integration (no Lambda, no cost of one):
a 204 with the resource's methods, the headers the API reads and a max age, and
Access-Control-Allow-Origin set (by the integration response's template) to the request's Origin
only when it is one of `cors_allowed_origins` (infra/config.py); a disallowed origin gets no
Access-Control-Allow-Origin, so the browser refuses the call. Origins are compared for equality,
not as regular expressions (CDK's `default_cors_preflight_options` uses `$origin.matches(...)`, so
a "." in an origin matches any character, and answers the first allowed origin to every other).

Gateway responses (API Gateway's own errors) cannot branch on the Origin: they carry a static
Access-Control-Allow-Origin when the stage allows exactly one origin, and none otherwise (ADR 0021).
The local gateway (local/gateway.py) answers preflights from these same template resources.
"""

from __future__ import annotations

import re

from aws_cdk import aws_apigateway as apigw

from shared.cors import ALLOWED_HEADERS, MAX_AGE_SECONDS

ORIGIN_PATTERN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$")
PREFLIGHT_STATUS = "204"
_HEADER = "method.response.header."


def check_origins(origins: tuple[str, ...]) -> None:
    for origin in origins:
        if not ORIGIN_PATTERN.match(origin):
            raise ValueError(f"CORS origin {origin!r}: scheme://host[:port] in lower case, no path, no wildcard")


def preflight_template(origins: tuple[str, ...]) -> str:
    """The integration response template: echo the Origin header when it is an allowed one."""
    condition = " || ".join(f'$origin == "{origin}"' for origin in origins)
    return "\n".join([
        '#set($origin = $input.params().header.get("Origin"))',
        '#if("$!origin" == "")#set($origin = $input.params().header.get("origin"))#end',
        f"#if({condition})",
        "#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)",
        "#end",
    ])


def origins_of_template(template: str) -> tuple[str, ...]:
    """The allowed origins of a template preflight_template rendered (ValueError for any other)."""
    found = re.search(r"^#if\((.*)\)$", template.split("\n")[2] if template.count("\n") == 4 else "")
    origins = tuple(re.findall(r'\$origin == "([^"]+)"', found.group(1))) if found else ()
    if not origins or preflight_template(origins) != template:
        raise ValueError("not a preflight template of infra/cors.py: teach local/gateway.py this one")
    return origins


def preflight_headers(methods: list[str]) -> dict[str, str]:
    """The preflight's static headers (Access-Control-Allow-Origin comes from the template)."""
    return {
        "Access-Control-Allow-Methods": ",".join(sorted({*methods, "OPTIONS"})),
        "Access-Control-Allow-Headers": ",".join(ALLOWED_HEADERS),
        "Access-Control-Max-Age": str(MAX_AGE_SECONDS),
        "Vary": "Origin",
    }


def add_preflight(resource: apigw.IResource, methods: list[str], origins: tuple[str, ...]) -> apigw.Method:
    headers = preflight_headers(methods)
    integration = apigw.MockIntegration(
        request_templates={"application/json": f'{{"statusCode": {PREFLIGHT_STATUS}}}'},
        integration_responses=[
            apigw.IntegrationResponse(
                status_code=PREFLIGHT_STATUS,
                response_parameters={f"{_HEADER}{name}": f"'{value}'" for name, value in headers.items()},
                response_templates={"application/json": preflight_template(origins)},
            )
        ],
    )
    declared = [*headers, "Access-Control-Allow-Origin"]
    return resource.add_method(
        "OPTIONS",
        integration,
        authorization_type=apigw.AuthorizationType.NONE,  # a preflight never carries credentials
        method_responses=[apigw.MethodResponse(status_code=PREFLIGHT_STATUS, response_parameters={f"{_HEADER}{n}": True for n in declared})],
    )


def gateway_response_headers(origins: tuple[str, ...]) -> dict[str, str]:
    """Static headers for API Gateway's own answers (see the module docstring)."""
    if len(origins) != 1:
        return {"Vary": "Origin"} if origins else {}
    return {"Access-Control-Allow-Origin": origins[0], "Vary": "Origin"}
