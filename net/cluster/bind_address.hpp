#pragma once
// Which local address a node's Gloo endpoints bind to. Gloo advertises the address it bound to
// (through the rendezvous store), so it must be one the other nodes can reach: on one host
// 127.0.0.1 does, across hosts only the address of the interface that faces the peers does.
#include <cstdint>
#include <string>

namespace tessera::net {

// `text` checked as a numeric IPv4 or IPv6 address ([v6] too) that this host can bind to;
// returns it in numeric form. Throws Error(invalid_argument) naming `source` and the value.
std::string check_bind_address(const std::string& text, const std::string& source);

// The route to a peer as the kernel would take it now: the local address packets to `host`
// leave from, and `host` resolved to a numeric address. Sends nothing (a UDP socket's connect
// only picks the route). Throws Error(io) naming the host when it cannot be resolved or routed.
struct Route {
  std::string local;
  std::string peer;
};
Route route_to(const std::string& host, std::uint16_t port);

// A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick, released at once for
// the caller to take: for examples, benches and tests that start a head). Throws Error(io).
std::uint16_t free_loopback_port();

}  // namespace tessera::net
