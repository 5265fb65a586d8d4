"""WebSub (W3C Recommendation): the built-in hub, publishing to external hubs, and the
aggregator's subscriptions to partners' hubs (docs/urls.md "WebSub").

``protocol.py`` holds the rules as pure functions, ``store.py`` the subscriptions kept
across restarts, ``hub.py`` the hub at ``POST /websub``, ``publish.py`` the pings to
external hubs, ``subscriber.py`` the aggregator's subscriptions, and ``service.py`` the
``WebSub`` object that the app composes. Discovery (the Link headers and the hubs named in
each document) is rendered with the feeds (render/, urls.py).
"""

from feedsvc.websub.hub import Hub
from feedsvc.websub.protocol import PATH
from feedsvc.websub.service import WebSub

__all__ = ["PATH", "Hub", "WebSub"]
