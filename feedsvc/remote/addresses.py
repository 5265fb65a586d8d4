"""Which network addresses the fetcher may connect to (SSRF protection).

A partner's feed URL comes from config, but every redirect hop and every DNS answer comes
from the outside, so an aggregator must refuse to be pointed at its own machine or network
(cloud metadata at 169.254.169.254, an admin panel on 10.0.0.1, Redis on 127.0.0.1 …).

Two guards, both fed by the same pure classification (``refusal_reason``):

- ``host_literal`` + ``AddressPolicy.check`` for IP literals in a URL, checked before each
  request; aiohttp never passes a literal to the resolver, so this is their only check.
- ``PolicyResolver``, an ``aiohttp.abc.AbstractResolver`` installed in the fetcher's connector.
  Names are checked on the addresses the connector is about to connect to, so a DNS answer that
  changes between a check and the connection (DNS rebinding) has no gap to slip through, and
  every redirect hop goes through it.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from aiohttp.abc import AbstractResolver, ResolveResult

from feedsvc.errors import AddressRefused

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

# Most specific first: the first match names the reason. IANA special-purpose registries
# (RFC 6890) list these; anything they miss is caught by ``is_global`` below.
_IPV4_TABLE: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), reason)
    for net, reason in (
        ("255.255.255.255/32", "broadcast (RFC 919)"),
        ("0.0.0.0/8", "unspecified, 'this network' (RFC 1122 §3.2.1.3)"),
        ("10.0.0.0/8", "private (RFC 1918)"),
        ("100.64.0.0/10", "shared carrier-grade NAT (RFC 6598)"),
        ("127.0.0.0/8", "loopback (RFC 1122 §3.2.1.3)"),
        ("169.254.0.0/16", "link-local (RFC 3927)"),
        ("172.16.0.0/12", "private (RFC 1918)"),
        ("192.0.0.0/24", "IETF protocol assignment (RFC 6890)"),
        ("192.0.2.0/24", "documentation (RFC 5737)"),
        ("192.88.99.0/24", "6to4 relay anycast (RFC 7526)"),
        ("192.168.0.0/16", "private (RFC 1918)"),
        ("198.18.0.0/15", "benchmarking (RFC 2544)"),
        ("198.51.100.0/24", "documentation (RFC 5737)"),
        ("203.0.113.0/24", "documentation (RFC 5737)"),
        ("224.0.0.0/4", "multicast (RFC 5771)"),
        ("240.0.0.0/4", "reserved (RFC 1112 §4)"),
    )
)

_IPV6_TABLE: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "unspecified (RFC 4291 §2.5.2)"),
        ("::1/128", "loopback (RFC 4291 §2.5.3)"),
        ("64:ff9b:1::/48", "local-use NAT64 (RFC 8215)"),
        ("100::/64", "discard-only (RFC 6666)"),
        ("2001::/32", "Teredo tunnel (RFC 4380)"),
        ("2001::/23", "IETF protocol assignment (RFC 6890)"),
        ("2001:db8::/32", "documentation (RFC 3849)"),
        ("3fff::/20", "documentation (RFC 9637)"),
        ("fc00::/7", "unique local (RFC 4193)"),
        ("fe80::/10", "link-local (RFC 4291 §2.5.6)"),
        ("fec0::/10", "site-local (RFC 3879)"),
        ("ff00::/8", "multicast (RFC 4291 §2.7)"),
    )
)

_IPV4_COMPATIBLE = IPv6Network("::/96")  # RFC 4291 §2.5.5.1, deprecated
_NAT64 = IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix
_GLOBAL_UNICAST = IPv6Network("2000::/3")  # RFC 4291 §2.4: everything else is not public


def embedded_ipv4(ip: IPv6Address) -> tuple[IPv4Address, str] | None:
    """The IPv4 address an IPv6 address carries, with the name of the form, if any.

    A socket connected to any of these forms reaches (or is translated to) the IPv4
    address, so ``::ffff:127.0.0.1`` must be judged as ``127.0.0.1``.
    """
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, "IPv4-mapped"  # RFC 4291 §2.5.5.2
    if ip.sixtofour is not None:
        return ip.sixtofour, "6to4"  # RFC 3056
    packed = ip.packed
    if ip in _NAT64:
        return IPv4Address(packed[-4:]), "NAT64"
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # :: and ::1 are not IPv4 forms
        return IPv4Address(packed[-4:]), "IPv4-compatible"
    return None


def refusal_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address, or None when it is.

    Pure and total: the one table the literal check and the resolver share.
    """
    if isinstance(ip, IPv6Address):
        ip = IPv6Address(ip.packed)  # drop a %zone: it does not change what the address is
        embedded = embedded_ipv4(ip)
        if embedded is not None:
            inner, form = embedded
            reason = refusal_reason(inner)
            return f"{form} form of {inner}, {reason}" if reason else None
        for net6, reason6 in _IPV6_TABLE:
            if ip in net6:
                return reason6
        if ip not in _GLOBAL_UNICAST:
            return "reserved, outside global unicast 2000::/3 (RFC 4291 §2.4)"
    else:
        for net4, reason4 in _IPV4_TABLE:
            if ip in net4:
                return reason4
    # A safety net for ranges IANA adds later; Python's registry copy decides.
    if not ip.is_global:
        return "not globally reachable (IANA special-purpose registry)"
    return None


def host_literal(host: str) -> IPAddress | None:
    """The address an URL host denotes literally, or None when it is a name.

    Besides the standard forms this accepts what ``inet_aton`` would: ``2130706433``,
    ``0x7f.1``, ``0177.0.0.1``, so a policy check cannot be dodged by spelling.
    """
    host = host.strip("[]")
    if host.endswith(".") and not host.endswith(".."):
        host = host[:-1]  # an FQDN's trailing dot, "127.0.0.1." still means 127.0.0.1
    try:
        return ip_address(host.replace("%25", "%"))
    except ValueError:
        pass
    if ":" in host or not host:
        return None
    try:
        return IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which addresses may be connected to.

    ``allowed_networks`` lets through specific non-public networks (a partner on the same
    private network, tests on 127.0.0.1) while keeping every other refusal.
    """

    allow_private_addresses: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    def check(self, ip: IPAddress) -> str | None:
        """None when ``ip`` may be connected to, else the reason it may not."""
        if self.allow_private_addresses:
            return None
        reason = refusal_reason(ip)
        if reason is None:
            return None
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, IPv6Address):
            plain = IPv6Address(ip.packed)
            candidates[0] = plain
            embedded = embedded_ipv4(plain)
            if embedded is not None:
                candidates.append(embedded[0])
        for candidate in candidates:
            for net in self.allowed_networks:
                if candidate.version == net.version and candidate in net:
                    return None
        return reason

    def check_host(self, host: str) -> tuple[IPAddress, str] | None:
        """For a literal host refused by the policy: the address and why; else None."""
        ip = host_literal(host)
        if ip is None:
            return None
        reason = self.check(ip)
        return (ip, reason) if reason else None


class PolicyResolver(AbstractResolver):
    """Wraps a resolver and refuses a name if ANY of its addresses is refused.

    Refusing rather than filtering: a name that answers with both a public and a private
    address is either misconfigured or a rebinding attempt, and the operator should see it.
    Installed in the connector, it sees exactly the addresses that will be connected to,
    for the first request and for every redirect hop.
    """

    def __init__(self, policy: AddressPolicy, resolver: AbstractResolver) -> None:
        self._policy = policy
        self._resolver = resolver

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        # Legacy numeric spellings ("0x7f.1") reach the resolver as names, and
        # getaddrinfo would map them onto an address; judge them as the literal they are.
        literal = self._policy.check_host(host)
        if literal is not None:
            raise AddressRefused(host, str(literal[0]), literal[1])
        results = await self._resolver.resolve(host, port, family)
        for result in results:
            ip = ip_address(result["host"])
            reason = self._policy.check(ip)
            if reason is not None:
                raise AddressRefused(host, str(ip), reason)
        return results

    async def close(self) -> None:
        await self._resolver.close()
