#include "net/cluster/bind_address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "runtime/core/error.hpp"

namespace tessera::net {
namespace {

// Closes a socket whichever way the caller leaves.
struct Socket {
  int fd;
  explicit Socket(int family, int type) : fd(::socket(family, type, 0)) {}
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
};

std::string numeric(const sockaddr* address, socklen_t length) {
  char host[NI_MAXHOST];
  if (::getnameinfo(address, length, host, sizeof host, nullptr, 0, NI_NUMERICHOST) != 0) return {};
  return host;
}

using AddressList = std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)>;

AddressList resolve(const std::string& host, const std::string& port, int flags, int type,
                    std::string& failure) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = type;
  hints.ai_flags = flags;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) failure = ::gai_strerror(rc);
  return AddressList(rc == 0 ? found : nullptr, &::freeaddrinfo);
}

}  // namespace

std::string check_bind_address(const std::string& text, const std::string& source) {
  std::string host = text;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const auto refuse = [&](const std::string& why) {
    return Error(ErrorCategory::invalid_argument,
                 source + " must be a numeric address of this host, e.g. 10.0.0.1 (got '" + text +
                     "': " + why + ")");
  };
  std::string failure;
  const auto found = resolve(host, "0", AI_NUMERICHOST | AI_PASSIVE, SOCK_STREAM, failure);
  if (!found) throw refuse("not a numeric IPv4 or IPv6 address");
  const addrinfo& a = *found;
  Socket probe(a.ai_family, SOCK_STREAM);
  if (probe.fd < 0) throw refuse(std::string("no socket: ") + std::strerror(errno));
  if (::bind(probe.fd, a.ai_addr, a.ai_addrlen) != 0) {
    throw refuse(std::string("cannot bind to it: ") + std::strerror(errno));
  }
  return numeric(a.ai_addr, a.ai_addrlen);
}

Route route_to(const std::string& host, std::uint16_t port) {
  std::string failure;
  const auto found = resolve(host, std::to_string(port), 0, SOCK_DGRAM, failure);
  if (!found) {
    throw Error(ErrorCategory::io, "cannot resolve the head's host '" + host + "': " + failure);
  }
  // The first address that routes, in getaddrinfo's order.
  for (const addrinfo* a = found.get(); a; a = a->ai_next) {
    Socket udp(a->ai_family, SOCK_DGRAM);
    if (udp.fd < 0 || ::connect(udp.fd, a->ai_addr, a->ai_addrlen) != 0) {
      failure = std::strerror(errno);
      continue;
    }
    sockaddr_storage local{};
    socklen_t length = sizeof local;
    if (::getsockname(udp.fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) {
      failure = std::strerror(errno);
      continue;
    }
    return {numeric(reinterpret_cast<sockaddr*>(&local), length), numeric(a->ai_addr, a->ai_addrlen)};
  }
  throw Error(ErrorCategory::io, "no route to the head's host '" + host + "': " + failure);
}

std::uint16_t free_loopback_port() {
  Socket socket(AF_INET, SOCK_STREAM);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (socket.fd < 0 || ::bind(socket.fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::getsockname(socket.fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw Error(ErrorCategory::io,
                std::string("cannot find a free TCP port on 127.0.0.1: ") + std::strerror(errno));
  }
  return ntohs(address.sin_port);
}

}  // namespace tessera::net
