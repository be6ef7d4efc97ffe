"""People and organisation (people.py: units, users, roles, API clients) and the stored answers
to idempotent requests (idempotency.py) and the sign-in records under Chinese names (signin.py); re-exported so `from accounts.models import User` works."""

from accounts.models.idempotency import IdempotencyKey
from accounts.models.people import IntegrationClient, RoleAssignment, Unit, UnitQuerySet, User
from accounts.models.signin import ApiToken, SignInFailure, SignInLog

__all__ = [
    "ApiToken",
    "SignInFailure",
    "SignInLog",
    "IdempotencyKey",
    "IntegrationClient",
    "RoleAssignment",
    "Unit",
    "UnitQuerySet",
    "User",
]
