"""WebSub (W3C Recommendation): the built-in hub, publishing to external hubs, and the
aggregator's subscriptions to partners' hubs (docs/urls.md "WebSub").

``protocol.py`` holds the rules as pure functions, ``store.py`` the subscriptions kept
across restarts, ``hub.py`` the hub at ``POST /websub``. Discovery (the Link headers and
the hubs named in each document) is rendered with the feeds (render/, urls.py).
"""

from feedsvc.websub.hub import PATH, Hub

__all__ = ["PATH", "Hub"]
