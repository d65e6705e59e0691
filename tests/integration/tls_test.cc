// eragond over HTTPS (--tls-cert, --tls-key, --tls-client-ca) and its SIGHUP reload, seen
// by a plain OpenSSL client.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "test_util.h"
#include "testing/server_process.h"
#include "testing/test_certs.h"
#include "testing/tls_test_client.h"

namespace eragon::testing {
namespace {

using dispatch::testing::MakeTestPki;
using dispatch::testing::TestPki;
namespace fs = std::filesystem;

constexpr const char* kHealth =
    "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("eragon-tls-it-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    cert_ = dir_ / "live-server.pem";
    key_ = dir_ / "live-server.key";
    a_ = Pki("a");
    fs::copy_file(a_.server_cert_file, cert_);
    fs::copy_file(a_.server_key_file, key_);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  TestPki Pki(const std::string& name) {
    auto pki = MakeTestPki(dir_.string(), name);
    EXPECT_TRUE(pki.ok()) << pki.status().ToString();
    return *pki;
  }

  void Start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--tls-cert", cert_.string(), "--tls-key", key_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<ServerProcess>(ERAGOND_PATH, args);
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_EQ(server_->url().rfind("https://127.0.0.1:", 0), 0u) << server_->url();
    port_ = static_cast<uint16_t>(std::stoi(server_->url().substr(server_->url().rfind(':') + 1)));
  }

  TlsExchange Health(const TestPki& trusted, bool with_client_cert = false) {
    TlsClientSetup setup{trusted.ca_cert_file, "", ""};
    if (with_client_cert)
      setup = {trusted.ca_cert_file, trusted.client_cert_file, trusted.client_key_file};
    return TlsRequest(port_, setup, kHealth);
  }

  // Sends SIGHUP and waits until eragond logged `expect` once more; returns the logs.
  std::string Hangup(const std::string& expect) {
    auto count = [&expect](const std::string& logs) {
      size_t n = 0;
      for (size_t at = logs.find(expect); at != std::string::npos; at = logs.find(expect, at + 1))
        ++n;
      return n;
    };
    const size_t before = count(server_->Logs());
    ::kill(server_->pid(), SIGHUP);
    std::string logs;
    for (int i = 0; i < 500; ++i) {
      logs = server_->Logs();
      if (count(logs) > before) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return logs;
  }

  fs::path dir_;
  fs::path cert_;  // the files eragond reads: copies the tests replace
  fs::path key_;
  TestPki a_;
  uint16_t port_ = 0;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(TlsServerTest, ServesHttpsAndAClientWithAnotherCaRefusesIt) {
  Start();
  auto ok = Health(a_);
  ASSERT_EQ(ok.error, "");
  EXPECT_EQ(ok.answer.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_EQ(Health(Pki("other")).error, "handshake: certificate verify failed");
}

TEST_F(TlsServerTest, ClientCaFromTheConfigFileRequiresAClientCertificate) {
  const fs::path config = dir_ / "eragond.conf";
  std::ofstream(config) << "tls-client-ca = " << a_.ca_cert_file << "\n";
  Start({"--config", config.string()});
  auto without = Health(a_);
  EXPECT_NE(without.error, "");
  EXPECT_EQ(without.answer, "");
  auto with = Health(a_, true);
  ASSERT_EQ(with.error, "");
  EXPECT_EQ(with.answer.substr(0, 15), "HTTP/1.1 200 OK");
}

TEST_F(TlsServerTest, SighupServesTheNewCertificateAndABadOneKeepsTheOld) {
  Start();
  TestPki b = Pki("b");
  fs::copy_file(b.server_cert_file, cert_, fs::copy_options::overwrite_existing);
  // The key still belongs to a's certificate: refused, logged, a's pair stays.
  std::string logs = Hangup("keeping the current TLS certificate");
  EXPECT_NE(logs.find("keeping the current TLS certificate: --tls-key"), std::string::npos) << logs;
  EXPECT_EQ(Health(a_).error, "");

  fs::copy_file(b.server_key_file, key_, fs::copy_options::overwrite_existing);
  logs = Hangup("TLS certificate reloaded");
  EXPECT_NE(logs.find("TLS certificate reloaded"), std::string::npos) << logs;
  auto x = Health(b);
  ASSERT_EQ(x.error, "");
  EXPECT_EQ(x.peer_issuer, "Eragon Test CA b");
  EXPECT_EQ(Health(a_).error, "handshake: certificate verify failed");
  auto stopped = server_->Stop();  // still a clean SIGTERM after the SIGHUPs
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(*stopped, 0);
}

TEST_F(TlsServerTest, CliSpeaksHttpsWithItsCaFileAndClientCertificate) {
  Start({"--tls-client-ca", a_.ca_cert_file});
  const std::vector<std::string> cli = {ERAGON_CLI_PATH, "--url", server_->url(), "--token",
                                        server_->admin_token()};
  auto with = [&](std::vector<std::string> flags, std::vector<std::string> env) {
    std::vector<std::string> argv = cli;
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"routes", "list"});
    return RunProcess(argv, "", env);
  };
  const std::vector<std::string> cert = {"--client-cert", a_.client_cert_file, "--client-key",
                                         a_.client_key_file};
  std::vector<std::string> flags = cert;
  flags.insert(flags.end(), {"--ca-file", a_.ca_cert_file});
  auto ok = with(flags, {});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;

  auto from_env =
      with({}, {"ERAGON_CA_FILE=" + a_.ca_cert_file, "ERAGON_CLIENT_CERT=" + a_.client_cert_file,
                "ERAGON_CLIENT_KEY=" + a_.client_key_file});
  EXPECT_EQ(from_env.exit_code, 0) << from_env.err;

  auto untrusted = with(cert, {});  // the system's CAs do not know the test CA
  EXPECT_EQ(untrusted.exit_code, 3) << untrusted.err;
  EXPECT_NE(untrusted.err.find("certificate verify failed"), std::string::npos) << untrusted.err;

  auto no_cert = with({"--ca-file", a_.ca_cert_file}, {});  // the server wants a certificate
  EXPECT_EQ(no_cert.exit_code, 3) << no_cert.err;
}

TEST_F(TlsServerTest, StartRefusesAKeyWithoutACertificate) {
  auto r = RunProcess({ERAGOND_PATH, "--tls-key", key_.string(), "--data-dir",
                       (dir_ / "data").string(), "--listen", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--tls-cert and --tls-key go together"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace eragon::testing
