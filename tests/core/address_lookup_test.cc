// address_lookup_test.cc - Postfix search order for address and domain keys.
#include "core/address_lookup.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace moat::core {
namespace {

std::vector<std::string> Keys(const std::vector<SearchKey>& keys) {
  std::vector<std::string> out;
  for (const auto& k : keys) out.push_back(k.key + (k.partial ? "" : " (full)"));
  return out;
}

AddressContext Context(std::string delimiter, std::vector<std::string> local = {}) {
  AddressContext context;
  context.recipient_delimiter = std::move(delimiter);
  if (!local.empty()) {
    context.is_local_domain = [local](std::string_view domain) {
      for (const auto& d : local) {
        if (d == domain) return true;
      }
      return false;
    };
  }
  return context;
}

using V = std::vector<std::string>;

TEST(AddressSearchKeysTest, PostfixOrder) {
  struct Case {
    const char* name;
    const char* address;
    AddressSearch search;
    AddressContext context;
    V expected;
  };
  const Case cases[] = {
      {"virtual, local domain, extension", "user+ext@example.com", AddressSearch::Virtual(),
       Context("+", {"example.com"}),
       V{"user+ext@example.com (full)", "user@example.com", "user+ext", "user", "@example.com"}},
      {"virtual, remote domain", "user+ext@example.org", AddressSearch::Virtual(),
       Context("+", {"example.com"}),
       V{"user+ext@example.org (full)", "user@example.org", "@example.org"}},
      {"virtual, no delimiter configured", "user+ext@example.com", AddressSearch::Virtual(),
       Context("", {"example.com"}), V{"user+ext@example.com (full)", "user+ext", "@example.com"}},
      {"several delimiter characters, first one found splits", "a-b+c@x", AddressSearch::Virtual(),
       Context("+-"), V{"a-b+c@x (full)", "a@x", "@x"}},
      {"transport, dot parents, wildcard", "user+ext@mail.example.com",
       AddressSearch::Transport(false), Context("+"),
       V{"user+ext@mail.example.com (full)", "user@mail.example.com", "mail.example.com",
         ".example.com", ".com", "*"}},
      {"transport, parent style", "u@mail.example.com", AddressSearch::Transport(true),
       Context("+"), V{"u@mail.example.com (full)", "mail.example.com", "example.com", "com", "*"}},
      {"access", "user+ext@example.com", AddressSearch::Access(true), Context("+"),
       V{"user+ext@example.com (full)", "user@example.com", "example.com", "com", "user+ext@",
         "user@"}},
      {"address without domain", "user+ext", AddressSearch::Virtual(), Context("+"),
       V{"user+ext (full)", "user"}},
      {"mailer-daemon is never split", "mailer-daemon@example.com", AddressSearch::Virtual(),
       Context("-"), V{"mailer-daemon@example.com (full)", "@example.com"}},
      {"double-bounce is never split", "double-bounce@example.com", AddressSearch::Virtual(),
       Context("-"), V{"double-bounce@example.com (full)", "@example.com"}},
      {"postmaster with an extension is split", "postmaster+x@example.com",
       AddressSearch::Virtual(), Context("+"),
       V{"postmaster+x@example.com (full)", "postmaster@example.com", "@example.com"}},
      {"owner- is not split on '-'", "owner-list@example.com", AddressSearch::Virtual(),
       Context("-"), V{"owner-list@example.com (full)", "@example.com"}},
      {"-request is not split on '-'", "list-request@example.com", AddressSearch::Virtual(),
       Context("-"), V{"list-request@example.com (full)", "@example.com"}},
      {"leading delimiter is not split", "+ext@example.com", AddressSearch::Virtual(), Context("+"),
       V{"+ext@example.com (full)", "@example.com"}},
      {"last @ separates the domain", "\"a@b\"@example.com", AddressSearch::Virtual(), Context("+"),
       V{"\"a@b\"@example.com (full)", "@example.com"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Keys(AddressSearchKeys(c.address, c.search, c.context)), c.expected);
  }
}

TEST(DomainSearchKeysTest, Styles) {
  EXPECT_EQ(Keys(DomainSearchKeys("a.b.example.com", ParentDomainStyle::kDotParent)),
            (V{"a.b.example.com (full)", ".b.example.com", ".example.com", ".com"}));
  EXPECT_EQ(Keys(DomainSearchKeys("a.b.example.com", ParentDomainStyle::kParent)),
            (V{"a.b.example.com (full)", "b.example.com", "example.com", "com"}));
  EXPECT_EQ(Keys(DomainSearchKeys("example.com", ParentDomainStyle::kNone)),
            (V{"example.com (full)"}));
  EXPECT_TRUE(DomainSearchKeys("", ParentDomainStyle::kParent).empty());
}

TEST(ParentDomainMatchesSubdomainsTest, ReadsTheParameterList) {
  const char* postfix_default =
      "debug_peer_list,fast_flush_domains,mynetworks,permit_mx_backup_networks,"
      "qmqpd_authorized_clients,relay_domains,smtpd_access_maps";
  EXPECT_TRUE(ParentDomainMatchesSubdomains("relay_domains", postfix_default));
  EXPECT_TRUE(ParentDomainMatchesSubdomains("smtpd_access_maps", postfix_default));
  EXPECT_FALSE(ParentDomainMatchesSubdomains("transport_maps", postfix_default));
  EXPECT_TRUE(ParentDomainMatchesSubdomains("transport_maps", " relay_domains transport_maps"));
  EXPECT_FALSE(ParentDomainMatchesSubdomains("relay", postfix_default));
}

// The seed transport table: domain, parent domain, and an address that beats its domain.
TEST(FindAddressTest, SeedTransportTable) {
  TableOpenOptions options;
  options.base_directory = testing::SourcePath("testdata/corpus/tables");
  auto tables = TableList::Open("texthash:transport", options);
  ASSERT_TRUE(tables) << tables.error().message();
  const AddressSearch search = AddressSearch::Transport(false);
  const AddressContext context = Context("+");
  struct Case {
    const char* address;
    const char* value;  // "" = not found
    const char* key;
    const char* extension;
  };
  const Case cases[] = {
      {"someone@example.com", "smtp:[192.168.23.56]:20025", "example.com", ""},
      {"someone@mail.example.com", "smtp:bar.example:2025", ".example.com", ""},
      {"someone@a.b.example.com", "smtp:bar.example:2025", ".example.com", ""},
      {"kdent@ora.com", "error:no mail accepted for kdent", "kdent@ora.com", ""},
      {"KDent+lists@ORA.COM", "error:no mail accepted for kdent", "KDent@ORA.COM", "+lists"},
      {"tim@ora.com", "smtp:[10.0.0.5]", "ora.com", ""},
      {"user@example.org", "", "", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.address);
    auto match = FindAddress(*tables, c.address, search, context);
    ASSERT_TRUE(match) << match.error().message();
    if (*c.value == '\0') {
      EXPECT_FALSE(match->has_value());
      continue;
    }
    ASSERT_TRUE(match->has_value());
    EXPECT_EQ((*match)->value, c.value);
    EXPECT_EQ((*match)->key, c.key);
    EXPECT_EQ((*match)->extension, c.extension);
    EXPECT_EQ((*match)->table, "texthash:transport");
  }
}

TEST(FindAddressTest, AddressInLaterTableBeatsDomainInEarlierTable) {
  auto tables = TableList::Open(
      "inline:{ example.com=domain-entry }, inline:{ joe@example.com=address-entry }");
  ASSERT_TRUE(tables);
  auto match =
      FindAddress(*tables, "joe@example.com", AddressSearch::Transport(false), Context(""));
  ASSERT_TRUE(match && match->has_value());
  EXPECT_EQ((*match)->value, "address-entry");
  EXPECT_EQ((*match)->table, "inline:{ joe@example.com=address-entry }");
}

TEST(FindAddressTest, PatternTablesSeeTheFullAddressOnly) {
  testing::TempDir dir;
  // This pcre table would match every partial key too; only the full address may reach it.
  dir.WriteFile("t.pcre", "/^(.*)$/ pcre saw $1\n");
  TableOpenOptions options;
  options.base_directory = dir.path();
  auto tables = TableList::Open("pcre:t.pcre", options);
  ASSERT_TRUE(tables);
  auto match =
      FindAddress(*tables, "u+x@example.com", AddressSearch::Transport(false), Context("+"));
  ASSERT_TRUE(match && match->has_value());
  EXPECT_EQ((*match)->value, "pcre saw u+x@example.com");

  auto domain = FindDomain(*tables, "sub.example.com", ParentDomainStyle::kParent);
  ASSERT_TRUE(domain && domain->has_value());
  EXPECT_EQ((*domain)->value, "pcre saw sub.example.com");
}

TEST(FindAddressTest, VirtualLocalPartAndAtDomain) {
  auto tables = TableList::Open("inline:{ joe=local-joe, @example.org=catch-all }");
  ASSERT_TRUE(tables);
  const AddressContext context = Context("+", {"example.com"});
  auto local = FindAddress(*tables, "joe+x@example.com", AddressSearch::Virtual(), context);
  ASSERT_TRUE(local && local->has_value());
  EXPECT_EQ((*local)->value, "local-joe");
  EXPECT_EQ((*local)->key, "joe");
  EXPECT_EQ((*local)->extension, "+x");
  // joe@example.org is not local: no "joe" lookup, the @domain catch-all answers.
  auto remote = FindAddress(*tables, "joe@example.org", AddressSearch::Virtual(), context);
  ASSERT_TRUE(remote && remote->has_value());
  EXPECT_EQ((*remote)->value, "catch-all");
  auto none = FindAddress(*tables, "joe@example.net", AddressSearch::Virtual(), context);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST(FindAddressTest, WildcardIsLast) {
  auto tables = TableList::Open("inline:{ *=smtp:[relay], example.com=local }");
  ASSERT_TRUE(tables);
  auto domain = FindAddress(*tables, "a@example.com", AddressSearch::Transport(false), Context(""));
  ASSERT_TRUE(domain && domain->has_value());
  EXPECT_EQ((*domain)->value, "local");
  auto other = FindAddress(*tables, "a@example.net", AddressSearch::Transport(false), Context(""));
  ASSERT_TRUE(other && other->has_value());
  EXPECT_EQ((*other)->value, "smtp:[relay]");
  EXPECT_EQ((*other)->key, "*");
}

}  // namespace
}  // namespace moat::core
