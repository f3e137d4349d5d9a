#include "net/cluster/tls_files.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "runtime/core/error.hpp"

namespace tessera::net {
namespace {

std::string named(const TlsFile& file) { return file.source + " ('" + file.path + "')"; }

Error refuse(const TlsFile& file, const std::string& what) {
  return Error(ErrorCategory::invalid_argument, named(file) + " " + what);
}

// OpenSSL's most recent error as text, and the queue emptied for the next check.
std::string openssl_reason() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "no reason given";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

void require_readable(const TlsFile& file) {
  std::FILE* f = std::fopen(file.path.c_str(), "rb");
  if (!f) throw refuse(file, std::string("cannot be read: ") + std::strerror(errno));
  std::fclose(f);
}

// An encrypted key would make OpenSSL ask for its passphrase on the terminal; refuse instead.
int no_passphrase(char*, int, int, void*) { return 0; }

}  // namespace

void check_tls_files(const ClusterTls& tls) {
  for (const TlsFile* file : {&tls.certificate, &tls.key, &tls.ca}) require_readable(*file);
  ERR_clear_error();
  const std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_method()),
                                                             &SSL_CTX_free);
  if (!ctx) throw Error(ErrorCategory::internal, "OpenSSL: no TLS context: " + openssl_reason());
  SSL_CTX_set_default_passwd_cb(ctx.get(), &no_passphrase);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.certificate.path.c_str()) != 1) {
    throw refuse(tls.certificate, "holds no PEM certificate (" + openssl_reason() + ")");
  }
  // Read on its own first, so that an unreadable key and a key of another certificate (which
  // SSL_CTX_use_PrivateKey refuses too) get different messages.
  std::FILE* key_file = std::fopen(tls.key.path.c_str(), "rb");
  if (!key_file) throw refuse(tls.key, std::string("cannot be read: ") + std::strerror(errno));
  const std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_PrivateKey(key_file, nullptr, &no_passphrase, nullptr), &EVP_PKEY_free);
  std::fclose(key_file);
  if (!key) throw refuse(tls.key, "holds no unencrypted PEM private key (" + openssl_reason() + ")");
  if (SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 || SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    throw refuse(tls.key, "is not the key of the certificate in " + named(tls.certificate));
  }
  if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca.path.c_str(), nullptr) != 1) {
    throw refuse(tls.ca, "holds no PEM CA certificate (" + openssl_reason() + ")");
  }
  // The peers will verify this certificate against their copy of the CA: a node whose own
  // certificate fails here would be refused by every peer, so say so now.
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(ctx.get(), &chain);
  const std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> verify(
      X509_STORE_CTX_new(), &X509_STORE_CTX_free);
  if (!verify || X509_STORE_CTX_init(verify.get(), SSL_CTX_get_cert_store(ctx.get()),
                                     SSL_CTX_get0_certificate(ctx.get()), chain) != 1) {
    throw Error(ErrorCategory::internal, "OpenSSL: cannot verify a certificate: " + openssl_reason());
  }
  if (X509_verify_cert(verify.get()) != 1) {
    const int why = X509_STORE_CTX_get_error(verify.get());
    ERR_clear_error();
    throw refuse(tls.certificate, "does not verify against the CA in " + named(tls.ca) + ": " +
                                      X509_verify_cert_error_string(why));
  }
}

}  // namespace tessera::net
