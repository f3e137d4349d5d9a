// The cluster's TLS and bind-address settings: all three TLS files or none, every file checked
// (readable, the right kind of PEM, the key matching the certificate, the certificate signed by
// the CA) with a refusal naming the flag and the file; a bind address must be one of this host's.
// Certificates are made at test time with the openssl command line.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "net/cluster/bind_address.hpp"
#include "net/cluster/cluster_config.hpp"
#include "runtime/core/error.hpp"
#include "tests/cluster/test_certificates.hpp"

namespace tessera::net {
namespace {

using Variables = std::map<std::string, std::string>;
using testing::TestCertificates;

ClusterConfig resolve(Variables variables) {
  variables.insert({{"TESSERA_MN_WORKER_ID", "0"},
                    {"TESSERA_MN_WORKER_SERVER_ADDR", "127.0.0.1:9100"},
                    {"TESSERA_CLUSTER_SECRET", "s"}});
  const Environment env = [variables](const std::string& name) -> std::optional<std::string> {
    const auto it = variables.find(name);
    if (it == variables.end()) return std::nullopt;
    return it->second;
  };
  return resolve_cluster_config({}, env, 1);
}

// The message of the refusal, or a failure when it was accepted.
std::string refusal(const Variables& variables) {
  try {
    resolve(variables);
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::invalid_argument) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted";
  return {};
}

#define EXPECT_CONTAINS(text, fragment) \
  EXPECT_NE(std::string(text).find(fragment), std::string::npos) << "in: " << (text)

class ClusterTlsConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!TestCertificates::openssl_available()) {
      GTEST_SKIP() << "the openssl command line is not installed (scripts/setup installs it)";
    }
    ASSERT_TRUE(certs.make_ca("ca") && certs.make_node("node", "ca") && certs.make_ca("other_ca") &&
                certs.make_node("stranger", "other_ca"));
  }
  Variables tls(const std::string& cert, const std::string& key, const std::string& ca) {
    return {{"TESSERA_MN_TLS_CERT", cert}, {"TESSERA_MN_TLS_KEY", key}, {"TESSERA_MN_TLS_CA", ca}};
  }
  TestCertificates certs;
};

TEST_F(ClusterTlsConfig, AllThreeFilesEnableIt) {
  const auto c = resolve(tls(certs.pem("node"), certs.key("node"), certs.pem("ca")));
  ASSERT_TRUE(c.tls.enabled());
  EXPECT_EQ(c.tls.certificate.path, certs.pem("node"));
  EXPECT_EQ(c.tls.key.source, "TESSERA_MN_TLS_KEY");
  EXPECT_EQ(c.tls.ca.path, certs.pem("ca"));
}

TEST_F(ClusterTlsConfig, NoneLeavesItOff) { EXPECT_FALSE(resolve({}).tls.enabled()); }

TEST_F(ClusterTlsConfig, HalfConfiguredIsRefusedNamingWhatIsMissing) {
  const auto message = refusal({{"TESSERA_MN_TLS_CERT", certs.pem("node")}});
  EXPECT_CONTAINS(message, "TLS is half-configured: TESSERA_MN_TLS_CERT set");
  EXPECT_CONTAINS(message, "--tls-key (TESSERA_MN_TLS_KEY), --tls-ca (TESSERA_MN_TLS_CA)");
  EXPECT_CONTAINS(refusal({{"TESSERA_MN_TLS_CERT", certs.pem("node")},
                           {"TESSERA_MN_TLS_KEY", certs.key("node")},
                           {"TESSERA_MN_TLS_CA", ""}}),
                  "but not --tls-ca");
}

TEST_F(ClusterTlsConfig, FlagsWinAndNameThemselves) {
  ClusterFlags flags;
  flags.worker_id = "0";
  flags.worker_server_addr = "127.0.0.1:9100";
  flags.cluster_secret = "s";
  flags.tls_cert = certs.pem("node");
  flags.tls_key = (certs.dir() / "absent.key").string();
  flags.tls_ca = certs.pem("ca");
  try {
    resolve_cluster_config(flags, [](const std::string&) { return std::nullopt; }, 1);
    ADD_FAILURE() << "accepted a missing key file";
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(), "--tls-key ('" + flags.tls_key + "') cannot be read: No such file");
  }
}

TEST_F(ClusterTlsConfig, AMissingFileIsRefusedNamingTheFlagAndTheFile) {
  const std::string absent = (certs.dir() / "absent.pem").string();
  EXPECT_CONTAINS(refusal(tls(certs.pem("node"), certs.key("node"), absent)),
                  "TESSERA_MN_TLS_CA ('" + absent + "') cannot be read");
}

TEST_F(ClusterTlsConfig, FilesOfTheWrongKindAreRefused) {
  const std::string garbage = (certs.dir() / "garbage.pem").string();
  std::ofstream(garbage) << "not a certificate\n";
  EXPECT_CONTAINS(refusal(tls(garbage, certs.key("node"), certs.pem("ca"))),
                  "TESSERA_MN_TLS_CERT ('" + garbage + "') holds no PEM certificate");
  EXPECT_CONTAINS(refusal(tls(certs.pem("node"), garbage, certs.pem("ca"))),
                  "TESSERA_MN_TLS_KEY ('" + garbage + "') holds no unencrypted PEM private key");
  EXPECT_CONTAINS(refusal(tls(certs.pem("node"), certs.key("node"), garbage)),
                  "TESSERA_MN_TLS_CA ('" + garbage + "') holds no PEM CA certificate");
}

TEST_F(ClusterTlsConfig, AKeyOfAnotherCertificateIsRefused) {
  EXPECT_CONTAINS(refusal(tls(certs.pem("node"), certs.key("stranger"), certs.pem("ca"))),
                  "is not the key of the certificate in TESSERA_MN_TLS_CERT");
}

TEST_F(ClusterTlsConfig, ACertificateOfAnotherCaIsRefused) {
  EXPECT_CONTAINS(refusal(tls(certs.pem("stranger"), certs.key("stranger"), certs.pem("ca"))),
                  "TESSERA_MN_TLS_CERT ('" + certs.pem("stranger") +
                      "') does not verify against the CA in TESSERA_MN_TLS_CA");
}

TEST_F(ClusterTlsConfig, OnANodeThatIsNoClusterMemberItIsRefused) {
  try {
    resolve_cluster_config(
        {}, [&](const std::string& name) -> std::optional<std::string> {
          if (name == "TESSERA_MN_TLS_CERT") return certs.pem("node");
          return std::nullopt;
        },
        1);
    ADD_FAILURE() << "accepted TLS on a single node";
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(), "TESSERA_MN_TLS_CERT is set, but neither head settings");
  }
}

TEST(ClusterBindAddress, AnAddressOfThisHostIsTaken) {
  const auto c = resolve({{"TESSERA_MN_BIND_ADDR", "127.0.0.1"}});
  EXPECT_EQ(c.bind_address, "127.0.0.1");
  EXPECT_EQ(c.bind_address_source, "TESSERA_MN_BIND_ADDR");
}

TEST(ClusterBindAddress, NamesAndForeignAddressesAreRefused) {
  EXPECT_CONTAINS(refusal({{"TESSERA_MN_BIND_ADDR", "head.local"}}),
                  "TESSERA_MN_BIND_ADDR must be a numeric address of this host, e.g. 10.0.0.1 "
                  "(got 'head.local': not a numeric IPv4 or IPv6 address)");
  // TEST-NET-3 (RFC 5737): never assigned to a host.
  EXPECT_CONTAINS(refusal({{"TESSERA_MN_BIND_ADDR", "203.0.113.7"}}),
                  "(got '203.0.113.7': cannot bind to it: Cannot assign requested address)");
}

TEST(ClusterBindAddress, TheRouteToALoopbackHeadLeavesFromLoopback) {
  const Route route = route_to("127.0.0.1", 9100);
  EXPECT_EQ(route.local, "127.0.0.1");
  EXPECT_EQ(route.peer, "127.0.0.1");
}

TEST(ClusterBindAddress, AnUnknownHeadHostIsNamed) {
  try {
    route_to("no-such-host.invalid", 9100);
    ADD_FAILURE() << "resolved an .invalid name";
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(), "cannot resolve the head's host 'no-such-host.invalid'");
  }
}

}  // namespace
}  // namespace tessera::net
