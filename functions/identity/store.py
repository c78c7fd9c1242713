"""Identity table items (pynamodb). Only the identity service reads or writes this table.

  profile         pk=USER#<user_id>               sk=PROFILE
  login throttle  pk=THROTTLE#<scope>#<key hash>  sk=LOGIN     (TTL: expires_at)
"""

from __future__ import annotations

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.models import Model

from shared.tables import table_meta

_IdentityMeta = table_meta("IDENTITY_TABLE_NAME", "identity")


class AddressAttribute(MapAttribute):
    label = UnicodeAttribute(null=True)
    name = UnicodeAttribute()
    line1 = UnicodeAttribute()
    line2 = UnicodeAttribute(null=True)
    city = UnicodeAttribute()
    region = UnicodeAttribute(null=True)
    postal_code = UnicodeAttribute()
    country = UnicodeAttribute()


class ProfileItem(Model):
    class Meta(_IdentityMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="PROFILE")
    user_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    roles = ListAttribute(of=UnicodeAttribute, default=list)
    phone = UnicodeAttribute(null=True)
    addresses = ListAttribute(of=AddressAttribute, default=list)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()

    @staticmethod
    def key(user_id: str) -> str:
        return f"USER#{user_id}"


class LoginThrottleItem(Model):
    class Meta(_IdentityMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="LOGIN")
    failures = NumberAttribute(default=0)  # failures in the current window
    window_start = NumberAttribute(default=0)  # epoch seconds
    locked_until = NumberAttribute(default=0)
    lockouts = NumberAttribute(default=0)  # how many times locked: the back-off grows with it
    expires_at = NumberAttribute()  # TTL
