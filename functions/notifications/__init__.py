"""Notifications: order changes leave the orders table through its stream, become domain events
on the `OrderEvents` bus (functions.notifications.consumers.publish_order_events), and reach buyers and
sellers by email through a queue (functions.notifications.consumers.send_notifications). No handler of the
orders service sends mail or writes a second store (docs/decisions/0014-checkout-saga-design.md).

  order_events          orders stream record -> domain event (the one translation)
  publish_order_events  stream consumer: domain events -> EventBridge
  messages              domain event -> who is told what (pure)
  recipients            user id -> email address (Cognito, through the identity service)
  deliveries            the notifications table: each notice claimed, sent, marked, once
  senders               SES in AWS; the outbox (the table itself) locally and in tests
  send_notifications    SQS consumer: the above, per message, with partial batch failures
  outbox                what the outbox holds (tests, local debugging)
"""
