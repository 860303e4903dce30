"""client_ip: the peer unless it is a trusted proxy; X-Forwarded-For walked from the right; spoofing fails."""

from __future__ import annotations

from ipaddress import ip_network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.security.client_ip import MAX_HOPS, UNKNOWN, client_ip, limit_key, parse_address

LB = [ip_network("10.0.0.0/8"), ip_network("fd00::/8")]


def test_untrusted_peer_is_the_client_whatever_the_header_says() -> None:
    assert client_ip("198.51.100.7", "203.0.113.1", LB) == "198.51.100.7"
    assert client_ip("198.51.100.7", None, LB) == "198.51.100.7"


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    assert client_ip("10.0.0.1", "203.0.113.1", []) == "10.0.0.1"


def test_trusted_peer_yields_the_rightmost_untrusted_entry() -> None:
    assert client_ip("10.0.0.1", "203.0.113.1", LB) == "203.0.113.1"
    assert client_ip("10.0.0.1", "203.0.113.1, 10.1.1.1, 10.2.2.2", LB) == "203.0.113.1"


def test_spoofed_entries_left_of_the_real_client_are_ignored() -> None:
    # The client typed "1.1.1.1, 10.9.9.9" itself; our proxy appended the address it really saw.
    assert client_ip("10.0.0.1", "1.1.1.1, 10.9.9.9, 198.51.100.7", LB) == "198.51.100.7"
    # A client pretending to be a trusted hop still ends up as itself.
    assert client_ip("10.0.0.1", "10.0.0.2, 198.51.100.7", LB) == "198.51.100.7"


def test_garbage_entry_stops_the_walk_at_the_last_good_hop() -> None:
    assert client_ip("10.0.0.1", "203.0.113.1, garbage, 10.0.0.2", LB) == "10.0.0.2"
    assert client_ip("10.0.0.1", "203.0.113.1, unknown", LB) == "10.0.0.1"
    assert client_ip("10.0.0.1", "203.0.113.1,,10.0.0.2", LB) == "10.0.0.2"
    assert client_ip("10.0.0.1", "", LB) == "10.0.0.1"
    assert client_ip("10.0.0.1", "203.0.113.1\r\nX-Evil: 1", LB) == "10.0.0.1"


def test_all_hops_trusted_gives_the_leftmost() -> None:
    assert client_ip("10.0.0.1", "10.5.5.5, 10.0.0.2", LB) == "10.5.5.5"


def test_ports_brackets_and_v4_mapped_addresses() -> None:
    assert client_ip("10.0.0.1", "203.0.113.1:4711", LB) == "203.0.113.1"
    assert client_ip("10.0.0.1", "[2001:db8::1]:443", LB) == "2001:db8::1"
    assert client_ip("10.0.0.1", "2001:DB8::1", LB) == "2001:db8::1"
    assert client_ip("::ffff:10.0.0.1", "203.0.113.1", LB) == "203.0.113.1"
    assert client_ip("fd00::1", "203.0.113.1", LB) == "203.0.113.1"
    assert client_ip("10.0.0.1", "::ffff:198.51.100.7", LB) == "198.51.100.7"


def test_peer_without_an_address() -> None:
    assert client_ip(None, "203.0.113.1", LB) == UNKNOWN
    assert client_ip("", "203.0.113.1", LB) == UNKNOWN
    assert client_ip("/run/bff.sock", "203.0.113.1", LB) == "/run/bff.sock"


def test_an_overlong_chain_is_not_walked_past_its_last_hops() -> None:
    chain = ", ".join(["203.0.113.1"] + ["10.0.0.9"] * (MAX_HOPS + 5))
    assert client_ip("10.0.0.1", chain, LB) == "10.0.0.9"


@pytest.mark.parametrize(
    "text",
    [
        "garbage",
        "",
        "1.2.3",
        "1.2.3.4.5",
        "999.1.1.1",
        "fe80::1%eth0",
        "[1.2.3.4]x",
        "1.2.3.4:port",
        "_hidden",
    ],
)
def test_parse_address_refuses_what_is_not_an_address(text: str) -> None:
    assert parse_address(text) is None


@settings(max_examples=300, deadline=None)
@given(
    spoof=st.lists(st.one_of(st.ip_addresses().map(str), st.text(max_size=12)), max_size=5),
    real=st.ip_addresses(v=4).filter(lambda a: not a.is_private).map(str),
)
def test_whatever_the_client_prepends_it_gets_its_own_address(spoof: list[str], real: str) -> None:
    header = ", ".join([*spoof, real])
    assert client_ip("10.0.0.1", header, LB) == real


@settings(max_examples=300, deadline=None)
@given(header=st.text(max_size=80))
def test_client_ip_never_raises(header: str) -> None:
    assert client_ip("10.0.0.1", header, LB)


def test_rate_limits_count_an_ipv6_client_by_its_64() -> None:
    assert limit_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64"
    assert limit_key("2001:db8:1:2::1") == limit_key("2001:db8:1:2:ffff:ffff:ffff:ffff")
    assert limit_key("2001:db8:1:2::1") != limit_key("2001:db8:1:3::1")
    assert limit_key("::1") == "::/64"


def test_rate_limits_count_an_ipv4_client_by_its_address() -> None:
    assert limit_key("198.51.100.7") == "198.51.100.7"
    assert limit_key("198.51.100.7") != limit_key("198.51.100.8")
    # An IPv4 client seen through a dual-stack socket is already its IPv4 form (client_ip), not a /64.
    assert limit_key(client_ip("::ffff:198.51.100.7", None, LB)) == "198.51.100.7"


def test_rate_limits_keep_what_is_not_an_address() -> None:
    assert limit_key(UNKNOWN) == UNKNOWN
    assert limit_key("/run/bff.sock") == "/run/bff.sock"
