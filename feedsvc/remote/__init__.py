"""What every remote reader shares: the one fetcher and its network policy (``fetch.py``,
``addresses.py``), and feed parsing into one entry shape (``parse.py`` and its parts).

Both the remote sources (``sources/``) and the aggregator (``aggregate/``) read the network
through this package, so neither imports the other.
"""
