"""Local and cloud routes cannot drift: topology == synthesized template == what the local gateway serves."""

from __future__ import annotations

import importlib

from infra.topology import Auth, all_routes
from local.gateway import routes_from_template


def test_every_template_route_is_served_locally_and_vice_versa(local_stack):
    # GIVEN the template CDK synthesized and the gateway the local stack runs
    template_routes = {route.key for route in routes_from_template(local_stack.deployment)}
    served = {route.key for route in local_stack.gateway.routes}
    topology = {f"{route.method} {route.path}" for route in all_routes()}
    # THEN the three sets are the same
    assert template_routes == served == topology


def test_every_route_reaches_its_handler_over_http(local_stack, anonymous):
    # WHEN each route is called over HTTP without a token
    for route in all_routes():
        path = route.path.replace("{", "").replace("}", "")
        response = anonymous.request(route.method, path)
        # THEN no route gets API Gateway's answer for an unknown route (the gateway knows it), and
        # private routes are stopped by the authorizer (401), public ones reach their handler
        assert response.headers.get("x-amzn-ErrorType") != "MissingAuthenticationTokenException", route
        if route.auth is Auth.USER:
            assert response.status_code == 401, route
        else:
            assert response.json()["status"] in ("success", "error"), route


def test_each_route_runs_the_handler_the_template_deploys(local_stack):
    functions = local_stack.deployment.functions()
    by_key = {route.key: functions[route.function_name].handler for route in local_stack.gateway.routes}
    for route in all_routes():
        assert by_key[f"{route.method} {route.path}"] == route.handler


def test_handler_modules_register_exactly_their_route():
    # The handler declares its path for powertools routing; it must be the topology's path.
    for route in all_routes():
        module = importlib.import_module(route.handler.rsplit(".", 1)[0])
        registered = {(r.method, r.path) for r in module.app._static_routes + module.app._dynamic_routes}
        powertools_path = route.path.replace("{", "<").replace("}", ">")
        assert registered == {(route.method, powertools_path)}, (route, registered)
