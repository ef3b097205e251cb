"""IPv6 neighbour discovery (RFC 4861): answers for dpfwd's addresses (global and the
link-local one derived from the port MAC), learning, resolution with held packets."""
import pytest
from scapy.all import IPv6, UDP, Ether, Raw
from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6ND_NA, ICMPv6ND_NS,
                                ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr)

from dpfwd_run import GW_MAC, LAN_MAC, WAN_MAC, run_dpfwd

HOST6_MAC = "02:00:00:00:00:60"
ROUTER_LL = "fe80::ff:fe00:101"  # modified EUI-64 of 02:00:00:00:01:01


def solicited_node(addr):
    import ipaddress
    low = int(ipaddress.IPv6Address(addr)) & 0xffffff
    group = ipaddress.IPv6Address(int(ipaddress.IPv6Address("ff02::1:ff00:0")) | low)
    mac = "33:33:ff:%02x:%02x:%02x" % (low >> 16, (low >> 8) & 0xff, low & 0xff)
    return str(group), mac


def ns(target, src="2001:db8:1::60", hlim=255, lladdr=HOST6_MAC):
    group, mac = solicited_node(target)
    pkt = Ether(src=HOST6_MAC, dst=mac) / IPv6(src=src, dst=group, hlim=hlim) / \
        ICMPv6ND_NS(tgt=target)
    return pkt / ICMPv6NDOptSrcLLAddr(lladdr=lladdr) if lladdr else pkt


def na(target, mac=HOST6_MAC, to_mac=LAN_MAC, to="2001:db8:1::1", solicited=1, override=1):
    return Ether(src=mac, dst=to_mac) / IPv6(src=target, dst=to, hlim=255) / \
        ICMPv6ND_NA(tgt=target, R=0, S=solicited, O=override) / ICMPv6NDOptDstLLAddr(lladdr=mac)


def cksum_ok(pkt):
    fresh = IPv6(bytes(pkt[IPv6]))
    l4 = fresh.payload
    want = l4.cksum
    del l4.cksum
    return IPv6(bytes(fresh)).payload.cksum == want


def to_host6(dst, hlim=30):
    return Ether(src=GW_MAC, dst=WAN_MAC) / IPv6(src="2001:4860::1", dst=dst, hlim=hlim) / \
        UDP() / Raw(b"six")


def unicast_ns(target, src, dst):
    """A reachability probe: to the address itself, at our MAC (RFC 4861 7.3.3)."""
    return Ether(src=HOST6_MAC, dst=LAN_MAC) / IPv6(src=src, dst=dst, hlim=255) / \
        ICMPv6ND_NS(tgt=target) / ICMPv6NDOptSrcLLAddr(lladdr=HOST6_MAC)


def test_ns_for_our_addresses_is_answered(tmp_path):
    """Multicast to the solicited-node group, and unicast probes from a global source
    (which pass validation: local traffic) and from a link-local one (which do not)."""
    sent = [ns("2001:db8:1::1"), ns(ROUTER_LL, src="fe80::60"),
            unicast_ns("2001:db8:1::1", "2001:db8:1::61", "2001:db8:1::1"),
            unicast_ns(ROUTER_LL, "fe80::60", ROUTER_LL)]
    r = run_dpfwd(tmp_path, {"lan": sent})
    assert len(r.out["lan"]) == 4
    # Local traffic reaches the slow path after the rest of its burst: match by address.
    replies = {(p[IPv6].dst, p[ICMPv6ND_NA].tgt): p for p in r.out["lan"]}
    for req in sent:
        rep = replies[(req[IPv6].src, req[ICMPv6ND_NS].tgt)]
        assert rep[Ether].dst == HOST6_MAC and rep[Ether].src == LAN_MAC
        assert rep[IPv6].hlim == 255
        assert rep[IPv6].src == req[ICMPv6ND_NS].tgt and rep[IPv6].dst == req[IPv6].src
        a = rep[ICMPv6ND_NA]
        assert (a.R, a.S, a.O, a.tgt) == (1, 1, 1, req[ICMPv6ND_NS].tgt)
        assert rep[ICMPv6NDOptDstLLAddr].lladdr == LAN_MAC
        assert cksum_ok(rep)
    # The global senders are on a connected subnet: learned. The link-local ones are not.
    assert r.stats["slow_path"]["neighbours_learned"] == 2


def test_duplicate_address_detection_is_answered_to_all_nodes(tmp_path):
    r = run_dpfwd(tmp_path, {"lan": [ns("2001:db8:1::1", src="::", lladdr=None)]})
    [rep] = r.out["lan"]
    assert rep[IPv6].dst == "ff02::1" and rep[Ether].dst == "33:33:00:00:00:01"
    assert rep[ICMPv6ND_NA].S == 0


def test_invalid_or_foreign_nd(tmp_path):
    bad_ck = ns("2001:db8:1::1")
    bad_ck[ICMPv6ND_NS].cksum = 0x1234
    sent = [ns("2001:db8:1::1", hlim=64),  # not from the link (RFC 4861 7.1.1)
            bad_ck,
            ns("2001:db8:1::99")]          # someone else's address: no answer
    # RFC 4861 7.1.1: a duplicate address check must go to the solicited-node group
    # and carry no source link-layer address.
    dad_unicast = unicast_ns("2001:db8:1::1", "::", "2001:db8:1::1")
    dad_unicast[ICMPv6ND_NS].remove_payload()
    sent += [dad_unicast, ns("2001:db8:1::1", src="::")]
    r = run_dpfwd(tmp_path, {"lan": sent})
    assert r.out["lan"] == []
    assert r.nonzero_drops() == {"nd_invalid": 4}
    assert r.stats["slow_path"]["consumed"] == 1


def test_solicitation_from_our_own_address_teaches_nothing(tmp_path):
    """Someone using our address (a duplicate, or spoofed) is answered but never becomes
    a neighbour entry of ours."""
    r = run_dpfwd(tmp_path, {"lan": [ns("2001:db8:1::1", src="2001:db8:1::1")]})
    assert r.stats["slow_path"]["neighbours_learned"] == 0


@pytest.mark.parametrize("override", [0, 1])
def test_advert_replaces_a_mac_only_with_override(tmp_path, override):
    """RFC 4861 7.2.5: an advertisement with a different address replaces the entry's
    only if its override flag is set."""
    other = "02:00:00:00:00:61"
    lan = [ns("2001:db8:1::1"), na("2001:db8:1::60", mac=other, override=override)]
    filler = Ether(src=GW_MAC, dst=WAN_MAC) / IPv6(src="2001:4860::1", dst="2001:4860::2") / UDP()
    r = run_dpfwd(tmp_path, {"lan": lan, "wan": [filler] * 2000 + [to_host6("2001:db8:1::60")]})
    [data] = [p for p in r.out["lan"] if UDP in p]
    assert data[Ether].dst == (other if override else HOST6_MAC)


def test_unsolicited_na_creates_no_entry(tmp_path):
    r = run_dpfwd(tmp_path, {"lan": [na("2001:db8:1::61", solicited=0)]})
    assert r.stats["slow_path"]["neighbours_learned"] == 0


def test_ipv6_destination_resolved_by_nd(tmp_path):
    """Data first, then (a burst later, on the same port and worker) the host's answer,
    so that dpfwd sees them in that order: an advertisement only counts for an entry
    that exists or is being resolved (RFC 4861 7.2.5). The held packets go out then."""
    data = [Ether(src="02:00:00:00:00:99", dst=LAN_MAC) /
            IPv6(src="2001:db8:1::10", dst="2001:db8:1::60", hlim=40 + i) / UDP() / Raw(b"six")
            for i in range(3)]
    filler = [Ether(src="02:00:00:00:00:99", dst="02:00:00:00:09:09") / Raw(b"f" * 50)] * 40
    r = run_dpfwd(tmp_path, {"lan": data + filler + [na("2001:db8:1::60")]})
    got = [p for p in r.out["lan"] if UDP in p]
    assert [p[IPv6].hlim for p in got] == [39, 40, 41]
    assert all(p[Ether].dst == HOST6_MAC for p in got)
    assert r.nonzero_drops() == {"l2_other_host": 40}


def test_unanswered_solicitation(tmp_path):
    r = run_dpfwd(tmp_path, {"wan": [to_host6("2001:db8:1::77")]})
    [sol] = [p for p in r.out["lan"] if ICMPv6ND_NS in p]
    group, mac = solicited_node("2001:db8:1::77")
    assert sol[Ether].dst == mac and sol[IPv6].dst == group and sol[IPv6].hlim == 255
    assert sol[IPv6].src == "2001:db8:1::1" and sol[ICMPv6ND_NS].tgt == "2001:db8:1::77"
    assert sol[ICMPv6NDOptSrcLLAddr].lladdr == LAN_MAC and cksum_ok(sol)
    assert r.nonzero_drops() == {"neighbour_unresolved": 1}
    [unreach] = r.out["wan"]
    assert ICMPv6DestUnreach in unreach and unreach[ICMPv6DestUnreach].code == 3


def test_learned_ipv6_neighbour_is_probed_then_expires(tmp_path):
    from dpfwd_run import TWO_PORT_CONFIG
    config = TWO_PORT_CONFIG + "slow_path: {neighbour_timeout: 1}\n"
    r = run_dpfwd(tmp_path, {"lan": [ns("2001:db8:1::1")]}, config_text=config, idle_ms=5500)
    probes = [p for p in r.out["lan"] if ICMPv6ND_NS in p]
    assert len(probes) == 3
    for p in probes:  # RFC 4861 7.3.3: unicast to the cached address
        assert p[Ether].dst == HOST6_MAC and p[IPv6].dst == "2001:db8:1::60"
        assert p[ICMPv6ND_NS].tgt == "2001:db8:1::60" and cksum_ok(p)
    sp = r.stats["slow_path"]
    assert sp["neighbours_learned"] == 1 and sp["neighbours_expired"] == 1
