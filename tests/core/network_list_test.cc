// network_list_test.cc - mynetworks-style lists and mynetworks_style from interface addresses.
#include "core/network_list.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace moat::core {
namespace {

std::string Corpus(const std::string& name) {
  return testing::SourcePath("testdata/corpus/tables/" + name);
}

struct AddressCase {
  const char* address;
  bool inside;
};

void Expect(const NetworkList& list, std::initializer_list<AddressCase> cases) {
  for (const AddressCase& c : cases) {
    SCOPED_TRACE(c.address);
    auto inside = list.Contains(c.address);
    ASSERT_TRUE(inside) << inside.error().message();
    EXPECT_EQ(*inside, c.inside);
  }
}

TEST(NetworkListTest, NetworksHostsAndNegationFirstMatchWins) {
  auto list = NetworkList::Parse(
      "127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128, !192.168.23.99 192.168.23.0/24 "
      "2001:db8:1::/48,10.1.2.3");
  ASSERT_TRUE(list) << list.error().message();
  Expect(*list, {
                    {"127.0.0.1", true},
                    {"::ffff:127.0.0.1", true},
                    {"::1", true},
                    {"192.168.23.56", true},
                    {"192.168.23.99", false},
                    {"::ffff:192.168.23.99", false},
                    {"2001:db8:1:2::3", true},
                    {"2001:db8:2::1", false},
                    {"10.1.2.3", true},
                    {"10.1.2.4", false},
                    {"not an address", false},
                });
}

TEST(NetworkListTest, FileAndTableEntries) {
  TableOpenOptions options;
  options.base_directory = Corpus("");
  auto list = NetworkList::Parse(Corpus("mynetworks") + " cidr:mynetworks.cidr", options);
  ASSERT_TRUE(list) << list.error().message();
  Expect(*list, {
                    {"127.0.0.1", true},       // file, line 2
                    {"192.168.23.99", false},  // file: !192.168.23.99
                    {"192.168.23.5", true},    // file
                    {"2001:db8:1::25", true},  // file, after a comma
                    {"::1", true},             // file
                    {"203.0.113.1", false},
                });
  auto tables_only = NetworkList::Parse("cidr:mynetworks.cidr, inline:{ 198.51.100.7=x }", options);
  ASSERT_TRUE(tables_only) << tables_only.error().message();
  Expect(*tables_only, {
                           {"192.168.23.99", true},  // the cidr file has no exception
                           {"198.51.100.7", true},   // hash-like table: exact address key
                           {"198.51.100.8", false},
                       });
  auto negated_table = NetworkList::Parse("!inline:{ 10.0.0.1=x } 10.0.0.0/8");
  ASSERT_TRUE(negated_table);
  Expect(*negated_table, {{"10.0.0.1", false}, {"10.0.0.2", true}});
}

TEST(NetworkListTest, ErrorsNameTheEntryAndTheFileLine) {
  testing::TempDir dir;
  std::string file = dir.WriteFile("nets", "# trusted\n10.0.0.0/8\n192.168.0.0/33\n");
  struct Case {
    std::string list;
    std::string message;
  };
  const Case cases[] = {
      {"10.0.0.0/8 10.0.0.0/33", "bad net/mask pattern: \"10.0.0.0/33\""},
      {"mail.example.com", "bad address pattern: \"mail.example.com\""},
      {"10.1.0.0/8",
       "non-null host address bits in \"10.1.0.0/8\", perhaps you should use "
       "\"10.0.0.0/8\" instead"},
      {"!", "no pattern after '!'"},
      {"2001:db8::/129", "bad net/mask pattern: \"2001:db8::/129\""},
      {"foo:/x",
       "\"foo:/x\": unknown table type \"foo\" (supported: hash, btree, texthash, lmdb, "
       "cdb, dbm, sdbm, pcre, regexp, cidr, static, inline, proxy)"},
      {file, file + ":3: bad net/mask pattern: \"192.168.0.0/33\""},
      {dir.Path("missing"), dir.Path("missing") + ": cannot open table: No such file or directory"},
      {"cidr:" + dir.Path("missing.cidr"),
       dir.Path("missing.cidr") + ": cannot open table: No such file or directory"},
      {"!" + file, "!" + file + ": a file cannot be negated; negate its entries"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.list);
    auto list = NetworkList::Parse(c.list);
    ASSERT_FALSE(list);
    EXPECT_EQ(list.error().message(), c.message);
  }
}

TEST(NetworkListTest, FilesIncludingThemselvesStop) {
  testing::TempDir dir;
  std::string loop = dir.Path("loop");
  dir.WriteFile("loop", loop + "\n");
  auto list = NetworkList::Parse(loop);
  ASSERT_FALSE(list);
  EXPECT_NE(list.error().message().find("files nested more than 10 deep"), std::string::npos);
}

TEST(MynetworksStyleTest, ComputedFromInterfaceAddresses) {
  auto iface = [](const char* address, int prefix) {
    return InterfaceNetwork{*IpAddress::Parse(address), prefix};
  };
  const std::vector<InterfaceNetwork> interfaces = {
      iface("127.0.0.1", 8),    iface("192.168.23.5", 24), iface("172.16.5.4", 20),
      iface("10.20.30.40", 16), iface("::1", 128),         iface("2001:db8:1:2::5", 64),
  };
  EXPECT_EQ(MynetworksFromStyle(MynetworksStyle::kHost, interfaces),
            "127.0.0.1/32 192.168.23.5/32 172.16.5.4/32 10.20.30.40/32 [::1]/128 "
            "[2001:db8:1:2::5]/128");
  EXPECT_EQ(MynetworksFromStyle(MynetworksStyle::kSubnet, interfaces),
            "127.0.0.0/8 192.168.23.0/24 172.16.0.0/20 10.20.0.0/16 [::1]/128 "
            "[2001:db8:1:2::]/64");
  EXPECT_EQ(MynetworksFromStyle(MynetworksStyle::kClass, interfaces),
            "127.0.0.0/8 192.168.23.0/24 172.16.0.0/16 10.0.0.0/8 [::1]/128 [2001:db8:1:2::]/64");

  // The computed text is a valid list that contains the interfaces.
  auto list = NetworkList::Parse(MynetworksFromStyle(MynetworksStyle::kSubnet, interfaces));
  ASSERT_TRUE(list) << list.error().message();
  Expect(*list, {{"192.168.23.200", true}, {"172.16.15.1", true}, {"172.16.16.1", false}});

  EXPECT_TRUE(ParseMynetworksStyle("subnet"));
  auto bad = ParseMynetworksStyle("subnet,host");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(),
            "bad mynetworks_style value: \"subnet,host\"; specify exactly one of host, subnet, "
            "class");
}

TEST(MynetworksStyleTest, LocalInterfacesIncludeLoopback) {
  auto interfaces = LocalInterfaces();
  ASSERT_TRUE(interfaces) << interfaces.error().message();
  auto list = NetworkList::Parse(MynetworksFromStyle(MynetworksStyle::kHost, *interfaces));
  ASSERT_TRUE(list) << list.error().message();
  auto loopback = list->Contains("127.0.0.1");
  ASSERT_TRUE(loopback);
  EXPECT_TRUE(*loopback);
}

}  // namespace
}  // namespace moat::core
