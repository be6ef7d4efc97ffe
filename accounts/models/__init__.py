"""People and organisation (people.py: units, users, roles, API clients) and the stored answers
to idempotent requests (idempotency.py); re-exported so `from accounts.models import User` works."""

from accounts.models.idempotency import IdempotencyKey
from accounts.models.people import IntegrationClient, RoleAssignment, Unit, UnitQuerySet, User

__all__ = ["IdempotencyKey", "IntegrationClient", "RoleAssignment", "Unit", "UnitQuerySet", "User"]
