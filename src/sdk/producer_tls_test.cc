// The producer against an eragond serving HTTPS: ProducerOptions::tls names the CA (and a
// client certificate when eragond asks for one).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "eragon/producer.h"
#include "producer_testutil.h"
#include "testing/test_certs.h"

namespace eragon {
namespace {

using dispatch::testing::MakeTestPki;
using dispatch::testing::TestPki;
using sdk::producer_testing::TestServer;

Event OrderCreated(const std::string& entity) {
  Event e;
  e.event_type = "order_created";
  e.entity_id = entity;
  e.data = R"({"seq":1})";
  return e;
}

class ProducerTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("eragon-sdk-tls-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    auto pki = MakeTestPki(dir_.string(), "sdk");
    ASSERT_TRUE(pki.ok()) << pki.status().ToString();
    pki_ = *pki;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // eragond over https requiring client certificates from pki_'s CA, set up for orders.
  std::unique_ptr<TestServer> StartServer(std::string* token) {
    TlsClientFiles admin{pki_.ca_cert_file, pki_.client_cert_file, pki_.client_key_file};
    auto server = std::make_unique<TestServer>(
        std::vector<std::string>{"--tls-cert", pki_.server_cert_file, "--tls-key",
                                 pki_.server_key_file, "--tls-client-ca", pki_.ca_cert_file},
        admin);
    auto t = server->StartForOrders();
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    if (t.ok()) *token = *t;
    EXPECT_EQ(server->url().rfind("https://", 0), 0u) << server->url();
    return server;
  }

  std::filesystem::path dir_;
  TestPki pki_;
};

TEST_F(ProducerTlsTest, PublishesOverHttpsWithTheCaAndClientCertificateOfItsOptions) {
  std::string token;
  auto server = StartServer(&token);
  ProducerOptions o;
  o.endpoint = server->url();
  o.token = token;
  o.mode = PublishMode::kSync;
  o.tls = {pki_.ca_cert_file, pki_.client_cert_file, pki_.client_key_file};
  auto p = Producer::Open(o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  Result<PublishAck> ack = (*p)->Publish(OrderCreated("o-1")).get();
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  auto got = server->GetEvent(ack->id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->status, 200) << got->body;
  EXPECT_TRUE((*p)->Close().ok());
}

TEST_F(ProducerTlsTest, WithoutTheCaThePublishFailsOnTheCertificate) {
  std::string token;
  auto server = StartServer(&token);
  ProducerOptions o;
  o.endpoint = server->url();
  o.token = token;
  o.mode = PublishMode::kSync;
  o.max_retries = 0;
  o.tls = {"", pki_.client_cert_file, pki_.client_key_file};  // the system's CAs only
  auto p = Producer::Open(o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  Result<PublishAck> ack = (*p)->Publish(OrderCreated("o-1")).get();
  ASSERT_FALSE(ack.ok());
  EXPECT_NE(ack.status().message().find("certificate verify failed"), std::string::npos)
      << ack.status().ToString();
  (void)(*p)->Close();  // the event failed for good: nothing left to drain
}

}  // namespace
}  // namespace eragon
