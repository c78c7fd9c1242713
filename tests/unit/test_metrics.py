"""shared/metrics.py writes CloudWatch Embedded Metric Format lines that infra/monitoring.py alarms on."""

from __future__ import annotations

import json

import pytest

from shared import metrics


def test_a_count_is_one_emf_line_with_the_service_and_its_dimension(monkeypatch, capsys):
    # GIVEN metrics enabled (as in Lambda)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Shop")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "catalog")  # the product page's function (infra/functions.py)
    # WHEN a product page counts a cache hit
    metrics.count(metrics.PRODUCT_CACHE_READS, "Result", "hit")
    # THEN stdout has exactly one EMF document declaring the metric under (service, Result)
    [line] = capsys.readouterr().out.splitlines()
    document = json.loads(line)
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive == {"Namespace": "Shop", "Dimensions": [["service", "Result"]],
                         "Metrics": [{"Name": "ProductCacheReads", "Unit": "Count"}]}
    assert (document["service"], document["Result"], document["ProductCacheReads"]) == ("catalog", "hit", 1)
    assert isinstance(document["_aws"]["Timestamp"], int)


@pytest.mark.parametrize("service", ["identity", "catalog", "reviews", "inventory", "cart", "search", "orders", "payments", "notifications"])
def test_the_service_dimension_is_the_emitting_functions_service(monkeypatch, capsys, service):
    # GIVEN a function of `service` (its POWERTOOLS_SERVICE_NAME)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", service)
    # WHEN it counts, e.g. a checkout compensation
    metrics.count(metrics.CHECKOUT_COMPENSATIONS, "Cause", "failed")
    # THEN the line's `service` dimension is that service
    document = json.loads(capsys.readouterr().out)
    assert document["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "Cause"]]
    assert (document["service"], document["Cause"]) == (service, "failed")


def test_outside_a_function_the_service_is_shop(monkeypatch, capsys):
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME", raising=False)
    metrics.count(metrics.PRICE_LOOKUPS, "Result", "verified")
    assert json.loads(capsys.readouterr().out)["service"] == "shop"


def test_disabled_metrics_write_nothing(monkeypatch, capsys):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    metrics.count(metrics.AVAILABILITY_READS, "Mode", "degraded")
    assert capsys.readouterr().out == ""
