// ip_network_test.cc - address and network parsing/matching (cidr_table(5), mynetworks forms).
#include "core/ip_network.h"

#include <gtest/gtest.h>

namespace moat::core {
namespace {

TEST(IpAddressTest, ParsesBothFamiliesAndUnmapsIpv4MappedAddresses) {
  struct Case {
    const char* text;
    bool valid;
    bool v4;
    const char* canonical;
  };
  const Case cases[] = {
      {"192.0.2.1", true, true, "192.0.2.1"},
      {"2001:db8::1", true, false, "2001:db8::1"},
      {"2001:DB8:0:0::1", true, false, "2001:db8::1"},
      {"::ffff:192.0.2.1", true, true, "192.0.2.1"},
      {"::FFFF:c000:0201", true, true, "192.0.2.1"},
      {"::1", true, false, "::1"},
      {"192.0.2", false, false, ""},
      {"192.0.2.256", false, false, ""},
      {"example.com", false, false, ""},
      {"", false, false, ""},
      {"[::1]", false, false, ""},
      {"fe80::1%eth0", false, false, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto a = IpAddress::Parse(c.text);
    ASSERT_EQ(a.has_value(), c.valid);
    if (!c.valid) continue;
    EXPECT_EQ(a->is_v4(), c.v4);
    EXPECT_EQ(a->ToString(), c.canonical);
  }
}

TEST(IpNetworkTest, ParsesPostfixNetworkForms) {
  struct Case {
    const char* pattern;
    const char* canonical;
  };
  const Case cases[] = {
      {"10.0.0.0/8", "10.0.0.0/8"},
      {"192.168.1.1", "192.168.1.1/32"},
      {"0.0.0.0/0", "0.0.0.0/0"},
      {"2001:db8::/32", "[2001:db8::]/32"},
      {"[2001:db8::]/32", "[2001:db8::]/32"},
      {"[2001:db8::/32]", "[2001:db8::]/32"},
      {"[::1]", "[::1]/128"},
      {"::1", "[::1]/128"},
      // Postfix's default mynetworks writes loopback in mapped form: it is 127.0.0.0/8.
      {"[::ffff:127.0.0.0]/104", "127.0.0.0/8"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.pattern);
    auto n = IpNetwork::Parse(c.pattern);
    ASSERT_TRUE(n) << n.error().message();
    EXPECT_EQ(n->ToString(), c.canonical);
  }
}

TEST(IpNetworkTest, RejectsBadPatternsWithPostfixWording) {
  struct Case {
    const char* pattern;
    const char* message;
  };
  const Case cases[] = {
      {"10.0.0.0/33", "bad net/mask pattern: \"10.0.0.0/33\""},
      {"10.0.0.0/", "bad net/mask pattern: \"10.0.0.0/\""},
      {"10.0.0.0/x", "bad net/mask pattern: \"10.0.0.0/x\""},
      {"10/8", "bad net/mask pattern: \"10/8\""},
      {"2001:db8::/129", "bad net/mask pattern: \"2001:db8::/129\""},
      {"10.1.2.3/8",
       "non-null host address bits in \"10.1.2.3/8\", perhaps you should use \"10.0.0.0/8\" "
       "instead"},
      {"example.com", "bad address pattern: \"example.com\""},
      {"[::1", "missing ']' character after \"[::1\""},
      {"[::1]x", "garbage after \"[::1]\""},
      {"", "no address pattern"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.pattern);
    auto n = IpNetwork::Parse(c.pattern);
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error().code(), ErrorCode::kInvalid);
    EXPECT_EQ(n.error().message(), c.message);
  }
}

TEST(IpNetworkTest, ContainsChecksFamilyAndPrefix) {
  struct Case {
    const char* network;
    const char* address;
    bool inside;
  };
  const Case cases[] = {
      {"10.0.0.0/8", "10.255.1.2", true},
      {"10.0.0.0/8", "11.0.0.1", false},
      {"192.168.1.1", "192.168.1.1", true},
      {"192.168.1.1", "192.168.1.2", false},
      {"192.168.0.0/17", "192.168.127.255", true},
      {"192.168.0.0/17", "192.168.128.0", false},
      {"0.0.0.0/0", "203.0.113.9", true},
      {"0.0.0.0/0", "2001:db8::1", false},
      {"2001:db8::/32", "2001:db8:ffff::1", true},
      {"2001:db8::/32", "2001:db9::1", false},
      {"::/0", "192.0.2.1", false},
      {"10.0.0.0/8", "::ffff:10.1.2.3", true},
      {"[::ffff:127.0.0.0]/104", "127.0.0.1", true},
      {"[::ffff:127.0.0.0]/104", "::ffff:127.0.0.1", true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.network) + " " + c.address);
    auto n = IpNetwork::Parse(c.network);
    ASSERT_TRUE(n);
    auto a = IpAddress::Parse(c.address);
    ASSERT_TRUE(a);
    EXPECT_EQ(n->Contains(*a), c.inside);
  }
}

}  // namespace
}  // namespace moat::core
