#include "testing/test_certs.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>

namespace eragon::dispatch::testing {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Free>;
using CertPtr = std::unique_ptr<X509, Free>;

bool AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

enum class Kind { kCa, kServer, kClient };

// A certificate for `key` named `cn`, signed by (issuer, issuer_key), or self-signed
// when issuer is null.
CertPtr MakeCert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, Kind kind,
                 long serial) {
  CertPtr cert(X509_new());
  X509* c = cert.get();
  X509_set_version(c, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
  X509_gmtime_adj(X509_getm_notBefore(c), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c), 7 * 24 * 3600);
  X509_set_pubkey(c, key);
  X509_NAME* name = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : c;
  X509_set_issuer_name(c, X509_get_subject_name(signer));
  bool ok = AddExt(c, signer, NID_subject_key_identifier, "hash");
  if (kind == Kind::kCa) {
    ok = ok && AddExt(c, signer, NID_basic_constraints, "critical,CA:TRUE") &&
         AddExt(c, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok =
        ok && AddExt(c, signer, NID_basic_constraints, "critical,CA:FALSE") &&
        AddExt(c, signer, NID_authority_key_identifier, "keyid") &&
        AddExt(c, signer, NID_key_usage, "critical,digitalSignature") &&
        AddExt(c, signer, NID_ext_key_usage, kind == Kind::kServer ? "serverAuth" : "clientAuth") &&
        AddExt(c, signer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
  }
  EVP_PKEY* sign_key = issuer_key != nullptr ? issuer_key : key;
  if (!ok || X509_sign(c, sign_key, EVP_sha256()) == 0) return nullptr;
  return cert;
}

bool WritePem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  bool ok = cert != nullptr
                ? PEM_write_X509(f, cert) == 1
                : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  return std::fclose(f) == 0 && ok;
}

}  // namespace

Result<TestPki> MakeTestPki(const std::string& dir, const std::string& name) {
  KeyPtr ca_key(EVP_EC_gen("P-256"));
  KeyPtr server_key(EVP_EC_gen("P-256"));
  KeyPtr client_key(EVP_EC_gen("P-256"));
  if (!ca_key || !server_key || !client_key) return Status::Internal("EVP_EC_gen failed");
  CertPtr ca =
      MakeCert(ca_key.get(), ("Eragon Test CA " + name).c_str(), nullptr, nullptr, Kind::kCa, 1);
  if (!ca) return Status::Internal("making the CA certificate failed");
  CertPtr server =
      MakeCert(server_key.get(), "localhost", ca.get(), ca_key.get(), Kind::kServer, 2);
  CertPtr client = MakeCert(client_key.get(), "client", ca.get(), ca_key.get(), Kind::kClient, 3);
  if (!server || !client) return Status::Internal("making a leaf certificate failed");
  const std::string prefix = dir + "/" + name;
  TestPki pki{prefix + "-ca.pem", prefix + "-server.pem", prefix + "-server.key",
              prefix + "-client.pem", prefix + "-client.key"};
  if (!WritePem(pki.ca_cert_file, ca.get(), nullptr) ||
      !WritePem(pki.server_cert_file, server.get(), nullptr) ||
      !WritePem(pki.server_key_file, nullptr, server_key.get()) ||
      !WritePem(pki.client_cert_file, client.get(), nullptr) ||
      !WritePem(pki.client_key_file, nullptr, client_key.get())) {
    return Status::IOError("cannot write PEM files under " + dir);
  }
  return pki;
}

}  // namespace eragon::dispatch::testing
