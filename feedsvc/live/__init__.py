"""Live updates (SPEC §9): the Publisher keeps what is served current while serving goes on."""

from feedsvc.live.publisher import Publisher

__all__ = ["Publisher"]
