"""
The one error type that business rules raise.

Services raise ``ServiceError("rate_limited", ...)``; the socket turns it into an
``error`` frame and the API into a 4xx body, both carrying the same ``code``.
"""

# HTTP status for each code; anything not listed is a 400.
HTTP_STATUS = {
    "auth_required": 401,
    "forbidden": 403,
    "posting_restricted": 403,
    "banned": 403,
    "timed_out": 403,
    "not_found": 404,
    "poll_not_found": 404,
    "rate_limited": 429,
    "slow_mode": 429,
    "server_busy": 503,
    "internal": 500,
    # Producers' console, stats and polls (docs/producers.md): state conflicts are 409.
    "results_hidden": 403,
    "slug_taken": 409,
    "event_already_live": 409,
    "event_ended": 409,
    "poll_already_open": 409,
    "poll_launched": 409,
    "poll_not_open": 409,
    "poll_closed": 409,
    "already_voted": 409,
    "stats_too_large": 413,
}


class ServiceError(Exception):
    def __init__(self, code: str, message: str, **details):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 400)

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, **self.details}
