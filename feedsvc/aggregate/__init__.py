"""Aggregator mode: fetch partners' feeds, parse, merge and keep them."""
