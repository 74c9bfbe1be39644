// dkim_dns_report_test.cc - verification with keys from a real DNS server (dnsmasq), DNS
// failures (timeout -> temperror, NXDOMAIN -> permerror), Authentication-Results, rule names.
#include <gtest/gtest.h>

#include <asio.hpp>

#include "filterd/dkim_auth_results.h"
#include "filterd/dkim_signer.h"
#include "filterd/dkim_tags.h"
#include "filterd/dkim_verifier.h"
#include "tests/support/dnsmasq_server.h"

namespace moat::filterd {
namespace {

using testing::DnsmasqServer;
constexpr int64_t kNow = 1700000000;

const char* kMessage =
    "From: Alice <alice@example.test>\r\nTo: bob@example.net\r\nSubject: hello\r\n"
    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <dns-1@example.test>\r\n\r\nHello.\r\n";

std::string Record(const DkimPrivateKey& key) {
  return "v=DKIM1; k=" + std::string(DkimKeyTypeName(key.type())) +
         "; p=" + EncodeBase64(*key.PublicKeyData());
}

class DkimDnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto rsa = DkimPrivateKey::Generate(DkimKeyType::kRsa, 2048);
    auto ed = DkimPrivateKey::Generate(DkimKeyType::kEd25519, 0);
    ASSERT_TRUE(rsa && ed);
    rsa_.emplace(DkimSigningKey{"example.test", "rsa1", *rsa});
    ed_.emplace(DkimSigningKey{"example.test", "ed1", *ed});
    server_ = DnsmasqServer::Start(
        {"example.test", "other.test"},
        {testing::DnsmasqTxtRecord("rsa1._domainkey.example.test", Record(rsa_->key)),
         testing::DnsmasqTxtRecord("ed1._domainkey.example.test", Record(ed_->key)),
         "--txt-record=broken._domainkey.example.test,v=DKIM1; k=rsa; p=!!notbase64",
         "--txt-record=revoked._domainkey.example.test,v=DKIM1; k=rsa; p=",
         "--host-record=nodata._domainkey.example.test,192.0.2.7"});
    ASSERT_TRUE(server_);
  }

  std::vector<DkimSignatureResult> VerifyWith(const std::string& message,
                                              std::vector<std::string> servers,
                                              std::chrono::milliseconds timeout =
                                                  std::chrono::milliseconds(5000)) {
    asio::io_context io;
    core::DnsResolverOptions options;
    options.servers = std::move(servers);
    options.query_timeout = timeout;
    auto resolver = core::DnsResolver::Create(io.get_executor(), options);
    EXPECT_TRUE(resolver);
    DnsDkimKeySource keys(**resolver);
    DkimVerifier verifier(message);
    std::vector<DkimSignatureResult> results;
    bool done = false;
    asio::co_spawn(io, verifier.VerifyAll(keys, kNow),
                   [&](std::exception_ptr e, std::vector<DkimSignatureResult> r) {
                     if (e) std::rethrow_exception(e);
                     results = std::move(r);
                     done = true;
                   });
    while (!done && io.run_one() > 0) {
    }
    EXPECT_TRUE(done);
    return results;
  }

  std::string SignedWith(const std::vector<DkimSigningKey>& keys) {
    auto fields = SignDkimAll(kMessage, keys, kNow);
    EXPECT_TRUE(fields);
    return *fields + kMessage;
  }

  std::optional<DkimSigningKey> rsa_, ed_;
  std::unique_ptr<DnsmasqServer> server_;
};

TEST_F(DkimDnsTest, KeysFromDnsVerify) {
  auto results = VerifyWith(SignedWith({*rsa_, *ed_}), {server_->address()});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].result, DkimResult::kPass) << results[0].reason;
  EXPECT_EQ(results[0].key_bits, 2048);
  EXPECT_EQ(results[1].result, DkimResult::kPass) << results[1].reason;
  std::string ar = DkimAuthenticationResults("mx.moat.test", results);
  EXPECT_TRUE(ar.starts_with("Authentication-Results: mx.moat.test;\r\n\tdkim=pass (2048-bit rsa "
                             "key) header.d=example.test header.i=@example.test header.s=rsa1 "
                             "header.a=rsa-sha256 header.b=\""))
      << ar;
  EXPECT_NE(ar.find("dkim=pass (256-bit ed25519 key) header.d=example.test "
                    "header.i=@example.test header.s=ed1 header.a=ed25519-sha256 header.b=\""),
            std::string::npos)
      << ar;
  auto hits = DkimRules(results, AuthorDomain(kMessage));
  EXPECT_EQ(hits.Names(), (std::vector<std::string>{"DKIM_SIGNED", "DKIM_VALID", "DKIM_VALID_AU"}));
}

TEST_F(DkimDnsTest, MissingAndMalformedRecordsArePermerrors) {
  std::string message = SignedWith({{"example.test", "absent", rsa_->key},
                                    {"example.test", "broken", rsa_->key},
                                    {"example.test", "revoked", rsa_->key},
                                    {"example.test", "nodata", rsa_->key}});
  auto results = VerifyWith(message, {server_->address()});
  ASSERT_EQ(results.size(), 4u);
  for (const auto& r : results) EXPECT_EQ(r.result, DkimResult::kPermError) << r.selector;
  EXPECT_NE(results[0].reason.find("no key for signature"), std::string::npos);
  EXPECT_NE(results[0].reason.find("NXDOMAIN"), std::string::npos) << results[0].reason;
  EXPECT_NE(results[1].reason.find("invalid character"), std::string::npos) << results[1].reason;
  EXPECT_NE(results[2].reason.find("key revoked"), std::string::npos);
  EXPECT_NE(results[3].reason.find("NODATA"), std::string::npos) << results[3].reason;
  auto hits = DkimRules(results, "example.test");
  EXPECT_EQ(hits.Names(), (std::vector<std::string>{"DKIM_SIGNED", "DKIM_INVALID"}));
  std::string ar = DkimAuthenticationResults("mx.moat.test", results);
  EXPECT_NE(ar.find("dkim=permerror reason=\"key revoked (empty p=)\" header.d=example.test"),
            std::string::npos)
      << ar;
}

TEST_F(DkimDnsTest, DnsTimeoutIsTemperror) {
  asio::io_context io;
  asio::ip::udp::socket silent(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto results = VerifyWith(SignedWith({*ed_}),
                            {"127.0.0.1:" + std::to_string(silent.local_endpoint().port())},
                            std::chrono::milliseconds(300));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, DkimResult::kTempError);
  EXPECT_NE(results[0].reason.find("timeout"), std::string::npos) << results[0].reason;
  auto hits = DkimRules(results, "example.test");
  EXPECT_TRUE(hits.dkim_invalid);
}

TEST_F(DkimDnsTest, RefusedIsTemperror) {
  std::string message = SignedWith({{"elsewhere.invalid", "s", ed_->key}});
  auto results = VerifyWith(message, {server_->address()});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, DkimResult::kTempError) << results[0].reason;
}

TEST(DkimReportTest, NoSignaturesAndAuthorAlignment) {
  EXPECT_EQ(DkimAuthenticationResults("mx.moat.test", {}),
            "Authentication-Results: mx.moat.test;\r\n\tdkim=none\r\n");
  EXPECT_TRUE(DkimRules({}, "x.test").Names().empty());
  DkimSignatureResult third_party;
  third_party.result = DkimResult::kPass;
  third_party.domain = "esp.example";
  auto hits = DkimRules({third_party}, "brand.example");
  EXPECT_EQ(hits.Names(), (std::vector<std::string>{"DKIM_SIGNED", "DKIM_VALID"}));
  DkimSignatureResult testing_fail;
  testing_fail.result = DkimResult::kFail;
  testing_fail.testing = true;
  EXPECT_EQ(DkimRules({testing_fail}, "x").Names(), (std::vector<std::string>{"DKIM_SIGNED"}));
}

TEST(DkimReportTest, AuthorDomainParsing) {
  EXPECT_EQ(AuthorDomain("From: Alice <alice@Example.TEST>\r\n\r\n"), "example.test");
  EXPECT_EQ(AuthorDomain("From: bob@b.example (Bob <x@evil.test>)\r\n\r\n"), "b.example");
  EXPECT_EQ(AuthorDomain("From: \"x@evil.test\" <c@c.example>\r\n\r\n"), "c.example");
  EXPECT_EQ(AuthorDomain("From:\r\n d@d.example\r\n\r\n"), "d.example");
  EXPECT_EQ(AuthorDomain("To: e@e.example\r\n\r\n"), "");
  EXPECT_EQ(AuthorDomain("From: undisclosed\r\n\r\n"), "");
  EXPECT_EQ(AuthorAddress("From: Alice <Alice.X@Example.TEST>\r\n\r\n"), "Alice.X@example.test");
  EXPECT_EQ(AuthorAddress("From: <@example.test>\r\n\r\n"), "");
  EXPECT_EQ(AuthorAddress("From: \"a@x\" <\"john doe\"@Q.example>\r\n\r\n"), "\"john doe\"@q.example");
}

TEST(DkimReportTest, RemovesOnlyOurAuthenticationResults) {
  std::string message =
      "Authentication-Results: MX.moat.test; dkim=pass header.d=forged.example\r\n"
      "Received: from x\r\n"
      "Authentication-Results: (comment) mx.moat.test;\r\n\tdkim=pass\r\n"
      "Authentication-Results: mx.other.test; dkim=fail\r\n"
      "Authentication-Results: mx.moat.test.evil; dkim=pass\r\n"
      "From: a@b.test\r\n\r\n"
      "Authentication-Results: mx.moat.test; in the body stays\r\n";
  size_t removed = 0;
  std::string cleaned = RemoveOwnAuthenticationResults(message, "mx.moat.test", &removed);
  EXPECT_EQ(removed, 2u);
  EXPECT_EQ(cleaned,
            "Received: from x\r\n"
            "Authentication-Results: mx.other.test; dkim=fail\r\n"
            "Authentication-Results: mx.moat.test.evil; dkim=pass\r\n"
            "From: a@b.test\r\n\r\n"
            "Authentication-Results: mx.moat.test; in the body stays\r\n");
  EXPECT_EQ(AuthservIdOf(" (c (nested)) host.example; dkim=pass"), "host.example");
  EXPECT_EQ(AuthservIdOf("host.example 1; none"), "host.example");
}

}  // namespace
}  // namespace moat::filterd
