"""The address policy: a pure classification table, literal parsing, and the resolver."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from hypothesis import given
from hypothesis import strategies as st

from feedsvc.errors import AddressRefused
from feedsvc.remote.addresses import (
    AddressPolicy,
    PolicyResolver,
    embedded_ipv4,
    host_literal,
    refusal_reason,
)

REFUSED = [
    # address, a word the reason must contain
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.255", "carrier-grade NAT"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("255.255.255.255", "broadcast"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("192.0.0.8", "IETF"),
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "IPv4-mapped form of 127.0.0.1, loopback"),
    ("::ffff:10.0.0.1", "IPv4-mapped form of 10.0.0.1, private"),
    ("::ffff:169.254.169.254", "link-local"),
    ("::127.0.0.1", "IPv4-compatible form of 127.0.0.1"),
    ("::10.1.2.3", "IPv4-compatible"),
    ("64:ff9b::127.0.0.1", "NAT64 form of 127.0.0.1"),
    ("64:ff9b::a9fe:a9fe", "NAT64 form of 169.254.169.254"),
    ("64:ff9b:1::1", "local-use NAT64"),
    ("2002:7f00:1::1", "6to4 form of 127.0.0.1"),
    ("2002:a00:1::", "6to4 form of 10.0.0.1"),
    ("2001::1", "Teredo"),
    ("2001:2::1", "IETF"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("100::1", "discard"),
    ("fc00::1", "unique local"),
    ("fd12:3456::1", "unique local"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("4000::1", "outside global unicast"),
    ("::2", "IPv4-compatible"),
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "100.63.255.255",  # just below CGNAT
    "100.128.0.0",  # just above CGNAT
    "172.15.255.255",
    "172.32.0.0",
    "192.167.255.255",
    "169.253.0.1",
    "223.255.255.255",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # DNS64-synthesised address of a public host
    "2002:808:808::1",
]


@pytest.mark.parametrize(("address", "word"), REFUSED)
def test_non_public_addresses_are_refused_with_a_reason(address: str, word: str) -> None:
    reason = refusal_reason(ip_address(address))
    assert reason is not None
    assert word in reason


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert refusal_reason(ip_address(address)) is None


@pytest.mark.parametrize(
    ("address", "embedded", "form"),
    [
        ("::ffff:127.0.0.1", "127.0.0.1", "IPv4-mapped"),
        ("::7f00:1", "127.0.0.1", "IPv4-compatible"),
        ("64:ff9b::7f00:1", "127.0.0.1", "NAT64"),
        ("2002:7f00:1::", "127.0.0.1", "6to4"),
        ("2606:4700::1", None, None),
        ("::1", None, None),
        ("::", None, None),
    ],
)
def test_embedded_ipv4(address: str, embedded: str | None, form: str | None) -> None:
    result = embedded_ipv4(IPv6Address(address))
    if embedded is None:
        assert result is None
    else:
        assert result == (IPv4Address(embedded), form)


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_ipv6_forms_are_judged_like_their_ipv4(value: int) -> None:
    v4 = IPv4Address(value)
    public = refusal_reason(v4) is None
    mapped = IPv6Address(b"\0" * 10 + b"\xff\xff" + v4.packed)
    nat64 = IPv6Address(bytes.fromhex("0064ff9b") + b"\0" * 8 + v4.packed)
    sixtofour = IPv6Address(b"\x20\x02" + v4.packed + b"\0" * 10)
    for form in (mapped, nat64, sixtofour):
        assert (refusal_reason(form) is None) == public, form


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_every_public_ipv4_is_globally_reachable(value: int) -> None:
    v4 = IPv4Address(value)
    if refusal_reason(v4) is None:
        assert v4.is_global and not v4.is_multicast


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("::ffff:7f00:1", "::ffff:127.0.0.1"),
        ("[::1]", "::1"),
        ("fe80::1%25eth0", "fe80::1%eth0"),
        ("example.com", None),
        ("localhost", None),
        ("deadbeef", None),
        ("1e100.net", None),
        ("", None),
    ],
)
def test_host_literal_reads_every_spelling(host: str, expected: str | None) -> None:
    literal = host_literal(host)
    assert literal == (ip_address(expected) if expected else None)


def test_policy_allows_everything_when_private_addresses_are_allowed() -> None:
    policy = AddressPolicy(allow_private_addresses=True)
    assert all(policy.check(ip_address(a)) is None for a, _ in REFUSED)


def test_policy_allowlist_lets_through_only_its_networks() -> None:
    policy = AddressPolicy(False, (ip_network("127.0.0.1/32"), ip_network("fd00:1::/64")))
    assert policy.check(ip_address("127.0.0.1")) is None
    assert policy.check(ip_address("::ffff:127.0.0.1")) is None  # the same host
    assert policy.check(ip_address("fd00:1::5")) is None
    assert policy.check(ip_address("127.0.0.2")) is not None
    assert policy.check(ip_address("::1")) is not None
    assert policy.check(ip_address("fd00:2::5")) is not None
    assert policy.check(ip_address("8.8.8.8")) is None
    assert policy.check_host("0x7f.2") == (
        IPv4Address("127.0.0.2"),
        refusal_reason(ip_address("127.0.0.2")),
    )
    assert policy.check_host("partner.example") is None


class FakeResolver(AbstractResolver):
    """Answers from a table, and remembers what it was asked."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []
        self.closed = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=0,
            )
            for address in self.table[host]
        ]

    async def close(self) -> None:
        self.closed = True


async def test_resolver_passes_public_names_through() -> None:
    inner = FakeResolver({"partner.example": ["93.184.215.14", "2606:2800:21f:cb07::1"]})
    resolver = PolicyResolver(AddressPolicy(), inner)
    results = await resolver.resolve("partner.example", 443)
    assert [r["host"] for r in results] == ["93.184.215.14", "2606:2800:21f:cb07::1"]
    await resolver.close()
    assert inner.closed


@pytest.mark.parametrize(
    "answers",
    [["127.0.0.1"], ["::1"], ["93.184.215.14", "10.0.0.1"], ["::ffff:169.254.169.254"]],
)
async def test_resolver_refuses_a_name_if_any_address_is_refused(answers: list[str]) -> None:
    resolver = PolicyResolver(AddressPolicy(), FakeResolver({"rebind.example": answers}))
    with pytest.raises(AddressRefused) as info:
        await resolver.resolve("rebind.example", 80)
    assert ip_address(info.value.address) in {ip_address(a) for a in answers}


async def test_resolver_judges_legacy_numeric_names_without_resolving() -> None:
    inner = FakeResolver({})
    resolver = PolicyResolver(AddressPolicy(), inner)
    with pytest.raises(AddressRefused, match="loopback"):
        await resolver.resolve("0x7f.1", 80)
    assert inner.asked == []
