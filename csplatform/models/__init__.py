from .apikeys import ApiKey
from .outbox import OutboundEmail
from .users import User

__all__ = ["ApiKey", "OutboundEmail", "User"]
