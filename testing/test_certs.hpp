#pragma once
// A throwaway certificate authority and a server certificate it signed, made
// in memory with OpenSSL for TLS tests (no openssl CLI, no files in the repo).
#include <string>

namespace sluice::testing {

struct TestPki {
  std::string ca_cert_pem;
  std::string server_cert_pem;  // CN=localhost, SAN DNS:localhost, IP:127.0.0.1
  std::string server_key_pem;
};

// `ok` is false (and the strings empty) if OpenSSL refused anything.
// `subject_alt_names` is the server certificate's SAN list in OpenSSL syntax.
TestPki make_test_pki(bool& ok, const char* subject_alt_names = "DNS:localhost,IP:127.0.0.1");

}  // namespace sluice::testing
