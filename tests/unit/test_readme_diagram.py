"""The README's architecture diagram matches the code: every table, stream consumer and scheduled
job of infra/topology.py, and the notification path of infra/notifications.py, is drawn in it."""

from __future__ import annotations

import re
from pathlib import Path

from infra.topology import all_scheduled_jobs, all_stream_consumers, all_tables

README = Path(__file__).resolve().parents[2] / "README.md"


def _diagram() -> str:
    [diagram] = re.findall(r"```mermaid\n(.*?)```", README.read_text(), flags=re.DOTALL)
    return diagram


def test_every_stream_consumer_and_scheduled_job_is_in_the_diagram():
    # GIVEN the README's mermaid diagram  THEN each async consumer of the topology has its box
    diagram = _diagram()
    missing = [c.id for c in all_stream_consumers() if c.id not in diagram] + [j.id for j in all_scheduled_jobs() if j.id not in diagram]
    assert missing == []


def test_every_table_is_in_the_diagram():
    diagram = _diagram()
    assert [t.id for t in all_tables() if t.id.removesuffix("Table") not in diagram] == []


def test_the_notification_path_is_drawn_as_infra_builds_it():
    source = (README.parents[0] / "infra" / "notifications.py").read_text()
    diagram = _diagram()
    for name in ("OrderEvents", "NotificationQueue", "NotificationSender"):
        assert f'"{name}"' in source and name in diagram, name
