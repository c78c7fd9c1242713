"""shared/metrics.py writes CloudWatch Embedded Metric Format lines that infra/monitoring.py alarms on."""

from __future__ import annotations

import json

from shared import metrics


def test_a_count_is_one_emf_line_with_the_service_and_its_dimension(monkeypatch, capsys):
    # GIVEN metrics enabled (as in Lambda)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Shop")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "shop")
    # WHEN a product page counts a cache hit
    metrics.count(metrics.PRODUCT_CACHE_READS, "Result", "hit")
    # THEN stdout has exactly one EMF document declaring the metric under (service, Result)
    [line] = capsys.readouterr().out.splitlines()
    document = json.loads(line)
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive == {"Namespace": "Shop", "Dimensions": [["service", "Result"]],
                         "Metrics": [{"Name": "ProductCacheReads", "Unit": "Count"}]}
    assert (document["service"], document["Result"], document["ProductCacheReads"]) == ("shop", "hit", 1)
    assert isinstance(document["_aws"]["Timestamp"], int)


def test_disabled_metrics_write_nothing(monkeypatch, capsys):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    metrics.count(metrics.AVAILABILITY_READS, "Mode", "degraded")
    assert capsys.readouterr().out == ""
