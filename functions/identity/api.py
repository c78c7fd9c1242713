"""What the identity service offers other services: a user's profile and contact details.

The only module of functions/identity/ another service may import (.importlinter).
"""

from __future__ import annotations

from functions.identity.cognito import get_user
from functions.identity.profiles import get_profile

__all__ = ["get_profile", "get_user"]
