"""The WebSub rules, as pure functions (W3C WebSub Recommendation, 23 January 2018).

What a subscription request must hold (§5.1), how a lease is granted (§5.1.1), what a
verification of intent asks (§5.3), how a delivery is signed (§7, §8), how long to wait
before trying again, and the fetch policy of every WebSub request. No I/O and no clock:
hub.py, publish.py and subscriber.py do the talking.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from feedsvc.config import Config
from feedsvc.errors import HubRequestError
from feedsvc.remote.fetch import FetchPolicy, user_agent

PATH = "/websub"
# /status lists at most this many recent failures per topic.
RECENT_FAILURES = 10
# A verification answer is the challenge: no subscriber needs to send more.
MAX_VERIFICATION_BODY = 64 * 1024
SUBSCRIBE = "subscribe"
UNSUBSCRIBE = "unsubscribe"
MODES = (SUBSCRIBE, UNSUBSCRIBE)
# §5.1: "hub.secret … MUST be less than 200 bytes in length."
MAX_SECRET_BYTES = 199
# §8: the signature method this hub uses; sha256 is among those §7 names.
SIGNATURE_METHOD = "sha256"


@dataclass(frozen=True, slots=True)
class LeasePolicy:
    """The lease a hub grants: the default and its bounds, in seconds (never perpetual)."""

    default: int
    minimum: int
    maximum: int

    def grant(self, requested: int | None) -> int:
        """§5.1.1: the hub MAY accept the requested lease or choose another one."""
        if requested is None:
            return self.default
        return max(self.minimum, min(self.maximum, requested))


@dataclass(frozen=True, slots=True)
class SubscriptionRequest:
    """A valid subscription or unsubscription request, as §5.1 defines its parameters."""

    mode: str
    topic: str
    callback: str
    lease_seconds: int | None = None  # as requested; the hub grants its own
    secret: str | None = None


def parse_request(form: Mapping[str, str], is_topic: Callable[[str], bool]) -> SubscriptionRequest:
    """A ``SubscriptionRequest`` from the form fields of ``POST /websub``, or a
    HubRequestError naming the parameter at fault. Other parameters are ignored (§5.1:
    "Hubs MUST ignore additional request parameters they do not understand")."""
    mode = form.get("hub.mode", "")
    if mode not in MODES:
        shown = repr(mode[:40]) if mode else "missing"
        raise HubRequestError("hub.mode", f"must be subscribe or unsubscribe, not {shown}")
    callback = form.get("hub.callback", "")
    if not callback:
        raise HubRequestError("hub.callback", "missing")
    parts = urlsplit(callback)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HubRequestError("hub.callback", "must be an absolute http or https URL")
    topic = form.get("hub.topic", "")
    if not topic:
        raise HubRequestError("hub.topic", "missing")
    if not is_topic(topic):
        raise HubRequestError(
            "hub.topic", "not a feed of this hub: topics are this service's own feed URLs"
        )
    lease = None
    if "hub.lease_seconds" in form:
        text = form["hub.lease_seconds"].strip()
        if not (text.isascii() and text.isdigit()):
            raise HubRequestError("hub.lease_seconds", "must be a whole number of seconds")
        lease = int(text)
    secret = None
    if mode == SUBSCRIBE and "hub.secret" in form:
        secret = form["hub.secret"]
        if len(secret.encode("utf-8")) > MAX_SECRET_BYTES:
            raise HubRequestError("hub.secret", "must be less than 200 bytes (W3C WebSub §5.1)")
        secret = secret or None
    return SubscriptionRequest(mode, topic, callback, lease, secret)


def with_query(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` added to its query; its own query is kept (§5.3: "the
    callback URL … MAY contain arbitrary query string parameters")."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def verification_params(
    mode: str, topic: str, challenge: str, lease_seconds: int | None
) -> dict[str, str]:
    """§5.3: the query of a verification of intent (lease only when subscribing)."""
    params = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": challenge}
    if mode == SUBSCRIBE and lease_seconds is not None:
        params["hub.lease_seconds"] = str(lease_seconds)
    return params


def signature(secret: str, body: bytes) -> str:
    """§7, §8: the X-Hub-Signature value, ``sha256=`` and the hex HMAC of the body."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_METHOD}={digest}"


_DIGESTS = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """§8: whether an X-Hub-Signature header proves ``body`` was sent by the holder of
    ``secret``; any of the methods §7 lists is accepted. Compared in constant time."""
    if not header or "=" not in header:
        return False
    method, _, given = header.partition("=")
    digest = _DIGESTS.get(method.strip().lower())
    if digest is None:
        return False
    expected = hmac.new(secret.encode("utf-8"), body, digest).hexdigest()
    return hmac.compare_digest(expected, given.strip().lower())


def retry_delay(attempt: int, first: float, cap: float) -> float:
    """Seconds before retry number ``attempt`` (1, 2, …): ``first``, doubling, capped."""
    return min(cap, first * 2 ** (attempt - 1))


def websub_fetch_policy(config: Config) -> FetchPolicy:
    """The one Fetcher's limits for requests to callbacks and hubs, from ``[websub]``."""
    websub = config.websub
    timeout = websub.timeout.seconds
    return FetchPolicy(
        connect_timeout=timeout,
        total_timeout=timeout,
        max_body_bytes=MAX_VERIFICATION_BODY,
        # The callback itself must answer the challenge (W3C WebSub §5.3), not a place it
        # redirects to.
        max_redirects=0,
        allow_private_addresses=websub.allow_private_addresses,
        allowed_networks=websub.allowed_networks,
        user_agent=user_agent(config.site.url),
        per_host_limit=websub.per_host,
    )
