// smtp_endpoint_test.cc - listener/peer address syntax.
#include "core/smtp_endpoint.h"

#include <gtest/gtest.h>

namespace moat::core {
namespace {

TEST(SmtpEndpointTest, ParsesTheConfigurationForms) {
  struct Case {
    std::string text;
    SmtpEndpoint::Kind kind;
    std::string host;
    std::string port;
    std::string path;
    std::string canonical;
  };
  const Case cases[] = {
      {"127.0.0.1:10025", SmtpEndpoint::Kind::kTcp, "127.0.0.1", "10025", "", "127.0.0.1:10025"},
      {"[::1]:10024", SmtpEndpoint::Kind::kTcp, "::1", "10024", "", "[::1]:10024"},
      {"[mx.example.com]:25", SmtpEndpoint::Kind::kTcp, "mx.example.com", "25", "",
       "mx.example.com:25"},
      {"localhost:smtp", SmtpEndpoint::Kind::kTcp, "localhost", "smtp", "", "localhost:smtp"},
      {"2525", SmtpEndpoint::Kind::kTcp, "", "2525", "", "2525"},
      {"*:2525", SmtpEndpoint::Kind::kTcp, "", "2525", "", "2525"},
      {"inet:127.0.0.1:25", SmtpEndpoint::Kind::kTcp, "127.0.0.1", "25", "", "127.0.0.1:25"},
      {"unix:/var/run/moat/lmtp", SmtpEndpoint::Kind::kUnix, "", "", "/var/run/moat/lmtp",
       "unix:/var/run/moat/lmtp"},
      {"/tmp/sock", SmtpEndpoint::Kind::kUnix, "", "", "/tmp/sock", "unix:/tmp/sock"},
  };
  for (const auto& c : cases) {
    auto endpoint = ParseSmtpEndpoint(c.text);
    ASSERT_TRUE(endpoint.has_value()) << c.text << ": " << endpoint.error().ToString();
    EXPECT_EQ(endpoint->kind, c.kind) << c.text;
    EXPECT_EQ(endpoint->host, c.host) << c.text;
    EXPECT_EQ(endpoint->port, c.port) << c.text;
    EXPECT_EQ(endpoint->path, c.path) << c.text;
    EXPECT_EQ(endpoint->ToString(), c.canonical) << c.text;
  }
}

TEST(SmtpEndpointTest, RejectsMalformedAddresses) {
  for (const char* bad : {"", "::1:25", "[::1]", "[::1]25", "host:", "host:99999", "host:a b",
                          "unix:relative", "bad host:25", "host:-"}) {
    auto endpoint = ParseSmtpEndpoint(bad);
    ASSERT_FALSE(endpoint.has_value()) << bad;
    EXPECT_EQ(endpoint.error().code(), ErrorCode::kInvalid) << bad;
  }
}

TEST(SmtpEndpointTest, ResolvesLoopbackForListening) {
  auto endpoint = ParseSmtpEndpoint("127.0.0.1:0");
  ASSERT_TRUE(endpoint.has_value());
  auto addresses = ResolveListenEndpoints(*endpoint);
  ASSERT_TRUE(addresses.has_value()) << addresses.error().ToString();
  ASSERT_EQ(addresses->size(), 1u);
}

}  // namespace
}  // namespace moat::core
