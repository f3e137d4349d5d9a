#pragma once
// Checks a node's TLS files before anything starts. CAF reads them only when the first
// connection is made, and then fails the handshake with little to say; checking them here lets a
// refusal name the flag, the file and what is wrong with it.
#include "net/cluster/cluster_config.hpp"

namespace tessera::net {

// Throws Error(invalid_argument) naming the flag (or variable) and the file when one cannot be
// read, the certificate or CA file holds no PEM certificate, the key file holds no unencrypted
// PEM private key, the key does not belong to the certificate, or the certificate does not verify
// against the CA (another CA's, expired, not yet valid).
void check_tls_files(const ClusterTls& tls);

}  // namespace tessera::net
