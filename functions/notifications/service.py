"""The notifications service's slice of the topology: order events onto the bus, and emails from them (infra/notifications.py). infra/topology.py collects it."""

from __future__ import annotations

from infra.shape import Service, StreamConsumer
from infra.tables import NOTIFICATIONS_TABLE, ORDERS_TABLE

ORDER_HEADERS = {"dynamodb": {"Keys": {"sk": {"S": ["ORDER"]}}}}

SERVICE = Service(
    name="notifications",
    tables=(NOTIFICATIONS_TABLE,),
    stream_consumers=(
        StreamConsumer(
            id="OrderEventsPublisher",
            table=ORDERS_TABLE,
            handler="functions.notifications.consumers.publish_order_events.handler",
            batch_size=100,
            filter_patterns=(ORDER_HEADERS,),
            event_bus=True,
        ),
    ),
    calls=("identity",),
)
