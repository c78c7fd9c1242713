"""How a notice leaves: chosen by env NOTIFICATION_SENDER.

  ses     Amazon SES (v2 SendEmail) from env NOTIFICATION_FROM_ADDRESS; keeps SES's message id
  outbox  no external call: the notice's own item in the notifications table is the outbox
          (to, subject, body), for the local stack and tests (functions/notifications/outbox.py)

A sender returns the attributes to keep on the notice when it is marked SENT. An unknown or
missing NOTIFICATION_SENDER raises: mail silently going nowhere is worse than a parked message.
"""

from __future__ import annotations

import os
from typing import Protocol

from functions.notifications import clients

OUTBOX = "outbox"
SES = "ses"


class Sender(Protocol):
    channel: str

    def send(self, to: str, subject: str, body: str) -> dict[str, str]: ...


class OutboxSender:
    channel = OUTBOX

    def send(self, to: str, subject: str, body: str) -> dict[str, str]:
        return {"to": to, "subject": subject, "body": body}


class SesSender:
    channel = SES

    def __init__(self, from_address: str) -> None:
        self.from_address = from_address

    def send(self, to: str, subject: str, body: str) -> dict[str, str]:
        response = clients.client("sesv2").send_email(
            FromEmailAddress=self.from_address,
            Destination={"ToAddresses": [to]},
            Content={
                "Simple": {
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
                }
            },
        )
        # Only SES's id is kept: the address and text stay in SES, not 90 days in our table.
        return {"message_id": response["MessageId"]}


def get_sender() -> Sender:
    choice = os.environ.get("NOTIFICATION_SENDER", "")
    if choice == OUTBOX:
        return OutboxSender()
    if choice == SES:
        return SesSender(os.environ["NOTIFICATION_FROM_ADDRESS"])
    raise RuntimeError(f"NOTIFICATION_SENDER must be {SES!r} or {OUTBOX!r}, not {choice!r}")
