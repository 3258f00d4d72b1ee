"""Settings of the HTTP service, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ApiSettings:
    admin_token: str | None = None  # PARTNERMATCH_ADMIN_TOKEN; without it serve generates one
    max_body_bytes: int = 32 * 1024 * 1024  # a 10k-member network document is about 6 MB
    auth_failures_per_minute: int = 10  # from one client address, then 429 with Retry-After
    warm_start: bool = True  # PARTNERMATCH_WARM_START=0: fit networks only when first asked
    # A request for a network nobody has fitted yet waits this long, then answers 503.
    first_fit_wait: float = 5.0  # PARTNERMATCH_FIRST_FIT_WAIT (seconds)

    @classmethod
    def from_env(cls) -> ApiSettings:
        return cls(
            admin_token=os.environ.get("PARTNERMATCH_ADMIN_TOKEN") or None,
            max_body_bytes=int(os.environ.get("PARTNERMATCH_MAX_BODY_MB", "32")) * 1024 * 1024,
            auth_failures_per_minute=int(os.environ.get("PARTNERMATCH_AUTH_FAILURES_PER_MINUTE",
                                                        "10")),
            warm_start=os.environ.get("PARTNERMATCH_WARM_START", "1") != "0",
            first_fit_wait=float(os.environ.get("PARTNERMATCH_FIRST_FIT_WAIT", "5")),
        )
