"""Live updates (docs/architecture.md "Live updates"): the Publisher keeps what is served
current while serving goes on, and tells its listeners what each rebuild changed."""

from feedsvc.live.listeners import RebuildListener, Rebuilt
from feedsvc.live.publisher import Publisher

__all__ = ["Publisher", "RebuildListener", "Rebuilt"]
