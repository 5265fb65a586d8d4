"""Live updates (docs/architecture.md "Live updates"): the Publisher keeps what is served current
while serving goes on."""

from feedsvc.live.publisher import Publisher

__all__ = ["Publisher"]
