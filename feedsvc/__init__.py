"""feedsvc: an asynchronous syndication service for an organisation's posts."""

__version__ = "0.1.0"
