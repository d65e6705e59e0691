// HttpServer over TLS, tested with a plain OpenSSL client (testing/tls_test_client.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "http/http_server.h"
#include "testing/test_certs.h"
#include "testing/tls_test_client.h"

namespace eragon::http {
namespace {

using dispatch::testing::MakeTestPki;
using dispatch::testing::TestPki;
using eragon::testing::TlsClientSetup;
using eragon::testing::TlsRequest;

constexpr const char* kGet = "GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

class HttpServerTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("eragon-tls-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    router_.Get("/hello", [](HttpRequest&&, Responder d) {
      d(HttpResponse::Json(200, R"({"hello":"tls"})"));
    });
    pki_ = Pki("a");
  }
  void TearDown() override {
    if (server_) server_->Stop(std::chrono::seconds(1));
    std::filesystem::remove_all(dir_);
  }

  TestPki Pki(const std::string& name) {
    auto pki = MakeTestPki(dir_.string(), name);
    EXPECT_TRUE(pki.ok()) << pki.status().ToString();
    return *pki;
  }

  // Starts with copies of the server files (so a test can replace them for a reload).
  Status Start(const std::string& client_ca = "") {
    cert_ = dir_ / "live-server.pem";
    key_ = dir_ / "live-server.key";
    std::filesystem::copy_file(pki_.server_cert_file, cert_);
    std::filesystem::copy_file(pki_.server_key_file, key_);
    HttpServerOptions o;
    o.port = 0;
    o.io_threads = 1;
    o.tls = TlsServerFiles{cert_.string(), key_.string(), client_ca};
    server_ = std::make_unique<HttpServer>(o, &router_);
    return server_->Start();
  }

  TlsClientSetup Trusting(const TestPki& pki) { return TlsClientSetup{pki.ca_cert_file, "", ""}; }

  std::filesystem::path dir_;
  std::filesystem::path cert_;  // the files the server reads (copies)
  std::filesystem::path key_;
  Router router_;
  TestPki pki_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTlsTest, AnswersHttpsWithItsCertificate) {
  ASSERT_TRUE(Start().ok());
  auto x = TlsRequest(server_->port(), Trusting(pki_), kGet);
  ASSERT_EQ(x.error, "");
  EXPECT_EQ(x.answer.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_NE(x.answer.find(R"({"hello":"tls"})"), std::string::npos);
  EXPECT_EQ(x.peer_issuer, "Eragon Test CA a");
}

TEST_F(HttpServerTlsTest, ClientTrustingAnotherCaRefusesTheServer) {
  ASSERT_TRUE(Start().ok());
  auto x = TlsRequest(server_->port(), Trusting(Pki("other")), kGet);
  EXPECT_EQ(x.error, "handshake: certificate verify failed");
  EXPECT_EQ(x.answer, "");
}

TEST_F(HttpServerTlsTest, ClientCertificateRequiredWhenClientCaIsSet) {
  ASSERT_TRUE(Start(pki_.ca_cert_file).ok());
  auto without = TlsRequest(server_->port(), Trusting(pki_), kGet);
  EXPECT_NE(without.error, "");
  EXPECT_EQ(without.answer, "");

  TestPki stranger = Pki("stranger");  // a client certificate from a CA the server ignores
  auto wrong =
      TlsRequest(server_->port(),
                 {pki_.ca_cert_file, stranger.client_cert_file, stranger.client_key_file}, kGet);
  EXPECT_NE(wrong.error, "");
  EXPECT_EQ(wrong.answer, "");

  auto with = TlsRequest(server_->port(),
                         {pki_.ca_cert_file, pki_.client_cert_file, pki_.client_key_file}, kGet);
  ASSERT_EQ(with.error, "");
  EXPECT_EQ(with.answer.substr(0, 15), "HTTP/1.1 200 OK");
}

TEST_F(HttpServerTlsTest, ReloadServesTheNewCertificateAndKeepsTheOldOnABadFile) {
  ASSERT_TRUE(Start().ok());
  TestPki next = Pki("b");
  std::filesystem::copy_file(next.server_cert_file, cert_,
                             std::filesystem::copy_options::overwrite_existing);
  // The key does not match the new certificate yet: refused, the old pair stays.
  Status bad = server_->ReloadTls();
  EXPECT_EQ(bad.code(), Code::kInvalidArgument);
  EXPECT_NE(bad.message().find("mismatch"), std::string::npos) << bad.ToString();
  EXPECT_EQ(TlsRequest(server_->port(), Trusting(pki_), kGet).peer_issuer, "Eragon Test CA a");

  std::filesystem::copy_file(next.server_key_file, key_,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE(server_->ReloadTls().ok());
  auto x = TlsRequest(server_->port(), Trusting(next), kGet);
  ASSERT_EQ(x.error, "");
  EXPECT_EQ(x.peer_issuer, "Eragon Test CA b");
  EXPECT_EQ(TlsRequest(server_->port(), Trusting(pki_), kGet).error,
            "handshake: certificate verify failed");
}

TEST_F(HttpServerTlsTest, StartFailsOnAMissingCertificate) {
  HttpServerOptions o;
  o.port = 0;
  o.tls = TlsServerFiles{(dir_ / "nope.pem").string(), pki_.server_key_file, ""};
  HttpServer server(o, &router_);
  Status st = server.Start();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("nope.pem: No such file"), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace eragon::http
