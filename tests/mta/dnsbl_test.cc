// dnsbl_test.cc - DNS blocklists against a real DNS server (dnsmasq on a free loopback port)
// serving DNSBL zones: site syntax and reply filters, weights and thresholds, allow lists,
// postscreen actions and access list, the TTL cache (with a hand-moved clock), Postfix's reply
// texts for reject_rbl_client / reject_rhsbl_*, and bad answers: non-127 addresses, huge TXT
// records, "$" in TXT text, SERVFAIL, silence. A DNS failure must never refuse mail.
#include <gtest/gtest.h>

#include <asio.hpp>

#include "mta/dnsbl_access_list.h"
#include "mta/dnsbl_client.h"
#include "mta/dnsbl_restriction.h"
#include "mta/dnsbl_screen.h"
#include "mta/dnsbl_site.h"
#include "tests/mta/servfail_server.h"
#include "tests/mta/spf_test_zone.h"
#include "tests/support/dnsmasq_server.h"
#include "tests/support/test_support.h"

namespace moat::mta {
namespace {

using moat::testing::DnsmasqServer;
using moat::testing::DnsmasqTxtRecord;
using testing::RunAwaitable;

TEST(DnsblSiteTest, ParsesEntriesWithFiltersAndWeights) {
  auto site = ParseDnsblSite("Zen.Example=127.0.0.[2..11]*2");
  ASSERT_TRUE(site) << site.error().message();
  EXPECT_EQ(site->domain, "zen.example");
  EXPECT_EQ(site->weight, 2);
  EXPECT_TRUE(site->filter.Matches(asio::ip::make_address_v4("127.0.0.2")));
  EXPECT_TRUE(site->filter.Matches(asio::ip::make_address_v4("127.0.0.11")));
  EXPECT_FALSE(site->filter.Matches(asio::ip::make_address_v4("127.0.0.12")));
  EXPECT_FALSE(site->filter.Matches(asio::ip::make_address_v4("127.0.1.2")));

  auto allow = ParseDnsblSite("list.example=127.0.[0..255].[1..3]*-2");
  ASSERT_TRUE(allow);
  EXPECT_EQ(allow->weight, -2);
  EXPECT_TRUE(allow->filter.Matches(asio::ip::make_address_v4("127.0.10.3")));
  EXPECT_FALSE(allow->filter.Matches(asio::ip::make_address_v4("127.0.10.4")));

  auto list = ParseDnsblSite("bl.example=127.0.0.[2;4;6..8]");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->weight, 1);
  for (const char* yes : {"127.0.0.2", "127.0.0.4", "127.0.0.7"}) {
    EXPECT_TRUE(list->filter.Matches(asio::ip::make_address_v4(yes))) << yes;
  }
  for (const char* no : {"127.0.0.3", "127.0.0.5", "127.0.0.9"}) {
    EXPECT_FALSE(list->filter.Matches(asio::ip::make_address_v4(no))) << no;
  }
  auto alternatives = ParseDnsblSite("bl.example=127.0.0.2;127.0.0.3");
  ASSERT_TRUE(alternatives);
  EXPECT_TRUE(alternatives->filter.Matches(asio::ip::make_address_v4("127.0.0.3")));
  EXPECT_FALSE(alternatives->filter.Matches(asio::ip::make_address_v4("127.0.0.4")));

  auto any = ParseDnsblSite("bl.example");
  ASSERT_TRUE(any);
  EXPECT_TRUE(any->filter.Matches(asio::ip::make_address_v4("127.0.0.200")));
  EXPECT_FALSE(any->filter.Matches(asio::ip::make_address_v4("10.0.0.1")));  // garbage
}

TEST(DnsblSiteTest, RejectsMalformedEntries) {
  for (const char* bad : {"", "=127.0.0.2", "bl.example=127.0.0", "bl.example=127.0.0.256",
                          "bl.example=127.0.0.[5..2]", "bl.example=127.0.0.[]",
                          "bl.example=a.b.c.d", "bl.example=127.0.0.2;", "bl.example*x",
                          "bl.example*", "bl..example", "bl example", "bl.example=127.0.0.[2"}) {
    EXPECT_FALSE(ParseDnsblSite(bad)) << bad;
  }
  EXPECT_FALSE(ParseDnsblSite("bl.example*2", /*allow_weight=*/false));
  std::vector<core::ValueProblem> problems;
  struct NoContext : core::ParameterContext {
    std::optional<std::string> Value(std::string_view) const override { return std::nullopt; }
    const std::string& directory() const override { return dir; }
    std::string dir = ".";
  } context;
  CheckDnsblSites("zen.example*2, bad..example", context, problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("bad..example"), std::string::npos);
}

TEST(DnsblSiteTest, QueryNames) {
  EXPECT_EQ(DnsblQueryName(asio::ip::make_address("192.0.2.10"), "zen.example"),
            "10.2.0.192.zen.example");
  EXPECT_EQ(DnsblQueryName(asio::ip::make_address("::ffff:192.0.2.10"), "zen.example"),
            "10.2.0.192.zen.example");
  EXPECT_EQ(DnsblQueryName(asio::ip::make_address("2001:db8::1"), "zen.example"),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.example");
}

TEST(DnsblCacheTest, HonoursTtlBoundsAndCapacity) {
  auto now = std::chrono::steady_clock::time_point{};
  DnsblCache cache({std::chrono::seconds(60), std::chrono::seconds(3600), 3}, [&] { return now; });
  DnsblAnswer listed;
  listed.status = DnsblAnswer::Status::kListed;
  listed.addresses = {asio::ip::make_address_v4("127.0.0.2")};
  listed.ttl = 10;  // below min_ttl: kept 60 s
  cache.Store("a", listed);
  listed.ttl = 100000;  // above max_ttl: kept 3600 s
  cache.Store("b", listed);
  DnsblAnswer clean;  // not listed: min_ttl
  cache.Store("c", clean);
  DnsblAnswer error;
  error.status = DnsblAnswer::Status::kError;
  cache.Store("d", error);  // never cached
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.Find("d"));
  now += std::chrono::seconds(59);
  ASSERT_TRUE(cache.Find("a"));
  EXPECT_TRUE(cache.Find("a")->from_cache);
  now += std::chrono::seconds(1);
  EXPECT_FALSE(cache.Find("a"));
  EXPECT_FALSE(cache.Find("c"));
  EXPECT_TRUE(cache.Find("b"));
  now += std::chrono::seconds(3540);
  EXPECT_FALSE(cache.Find("b"));

  // At capacity the entry closest to expiry makes room.
  now = {};
  listed.ttl = 100;
  cache.Store("x", listed);
  listed.ttl = 200;
  cache.Store("y", listed);
  listed.ttl = 300;
  cache.Store("z", listed);
  listed.ttl = 400;
  cache.Store("w", listed);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.Find("x"));
  EXPECT_TRUE(cache.Find("w"));
}

TEST(DnsblTextTest, SanitizesTxtText) {
  EXPECT_EQ(SanitizeDnsblText("  listed\r\n\tsee\x01 https://x \x7f"), "listed see https://x");
  EXPECT_EQ(SanitizeDnsblText(std::string(5000, 'a')).size(), DnsblClient::kMaxReasonBytes);
  EXPECT_EQ(SanitizeDnsblText("caf\xc3\xa9"), "caf");
}

class DnsblTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string huge(3000, 'x');
    for (size_t i = 100; i < huge.size(); i += 100) huge[i] = ' ';
    server_ = DnsmasqServer::Start(
        {"test"},
        {
            // 192.0.2.10: on zen (two answers) and bl; 192.0.2.20 on bl only.
            "--host-record=10.2.0.192.zen.test,127.0.0.2",
            "--host-record=10.2.0.192.zen.test,127.0.0.4",
            DnsmasqTxtRecord("10.2.0.192.zen.test", "https://zen.test/query/ip/192.0.2.10"),
            "--host-record=10.2.0.192.bl.test,127.0.0.2",
            "--host-record=20.2.0.192.bl.test,127.0.0.2",
            // 192.0.2.30 on the allow list.
            "--host-record=30.2.0.192.allow.test,127.0.10.3",
            // 192.0.2.50: garbage from zen (not in 127/8) with a huge TXT record.
            "--host-record=50.2.0.192.zen.test,10.0.0.1",
            DnsmasqTxtRecord("50.2.0.192.zen.test", huge),
            // 192.0.2.60: listed with a "$" in its TXT text.
            "--host-record=60.2.0.192.zen.test,127.0.0.3",
            DnsmasqTxtRecord("60.2.0.192.zen.test", "cost $100 ${rbl_code} $$"),
            // 192.0.2.70: listed with a huge TXT text.
            "--host-record=70.2.0.192.zen.test,127.0.0.3",
            DnsmasqTxtRecord("70.2.0.192.zen.test", huge),
            // IPv6 2001:db8::1 on zen.
            "--host-record=1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.test,"
            "127.0.0.2",
            // RHSBL: spammer.example on dbl.test.
            "--host-record=spammer.example.dbl.test,127.0.1.2",
            DnsmasqTxtRecord("spammer.example.dbl.test", "domain listed"),
            "--host-record=bad-helo.example.dbl.test,127.0.1.2",
        });
    ASSERT_TRUE(server_);
    resolver_ = MakeResolver(server_->address());
  }

  std::unique_ptr<core::DnsResolver> MakeResolver(const std::string& server,
                                                  std::chrono::milliseconds timeout =
                                                      std::chrono::milliseconds(3000)) {
    core::DnsResolverOptions options;
    options.servers = {server};
    options.query_timeout = timeout;
    options.attempt_timeout = std::min(timeout, std::chrono::milliseconds(1000));
    auto resolver = core::DnsResolver::Create(io_.get_executor(), options);
    EXPECT_TRUE(resolver) << resolver.error().ToString();
    return resolver ? std::move(*resolver) : nullptr;
  }

  DnsblScreenOptions Sites(const std::vector<std::string>& entries, int threshold) {
    DnsblScreenOptions options;
    auto sites = ParseDnsblSites(entries);
    EXPECT_TRUE(sites) << sites.error().message();
    options.sites = *sites;
    options.threshold = threshold;
    options.timeout = std::chrono::milliseconds(3000);
    return options;
  }

  asio::io_context io_;
  std::unique_ptr<DnsmasqServer> server_;
  std::unique_ptr<core::DnsResolver> resolver_;
  std::chrono::steady_clock::time_point now_{};
  DnsblCache cache_{{std::chrono::seconds(60), std::chrono::seconds(3600), 1000},
                    [this] { return now_; }};
};

const std::vector<std::string> kSites = {"zen.test=127.0.0.[2..11]*2", "bl.test",
                                         "allow.test=127.0.[0..255].[1..3]*-2"};

TEST_F(DnsblTest, WeightsAndThreshold) {
  DnsblClient client(*resolver_, cache_);
  DnsblScreen screen(client, Sites(kSites, 3));
  auto listed = RunAwaitable(io_, screen.Score(asio::ip::make_address("192.0.2.10")));
  EXPECT_EQ(listed.score, 3);  // zen's two answers add its weight once
  ASSERT_EQ(listed.listings.size(), 2u);
  EXPECT_EQ(listed.listings[0].domain, "zen.test");
  EXPECT_EQ(listed.listings[0].answers.size(), 2u);
  EXPECT_EQ(listed.errors, 0);

  auto only_bl = RunAwaitable(io_, screen.Screen(asio::ip::make_address("192.0.2.20")));
  EXPECT_EQ(only_bl.score.score, 1);
  EXPECT_FALSE(only_bl.listed);  // 1 < threshold 3
  EXPECT_EQ(only_bl.verdict.action, PolicyAction::kDunno);

  auto clean = RunAwaitable(io_, screen.Screen(asio::ip::make_address("192.0.2.99")));
  EXPECT_EQ(clean.score.score, 0);
  EXPECT_FALSE(clean.listed);

  DnsblScreen low(client, Sites(kSites, 1));
  auto low_bl = RunAwaitable(io_, low.Screen(asio::ip::make_address("192.0.2.20")));
  EXPECT_TRUE(low_bl.listed);
  EXPECT_EQ(low_bl.verdict.action, PolicyAction::kDunno);  // action ignore: log only
  EXPECT_NE(low_bl.verdict.log.find("DNSBL rank 1"), std::string::npos) << low_bl.verdict.log;
}

TEST_F(DnsblTest, FiltersSelectAnswersAndSharedDomainsAreAskedOnce) {
  DnsblClient client(*resolver_, cache_);
  DnsblScreen screen(client, Sites({"zen.test=127.0.0.2*1", "zen.test=127.0.0.4*5",
                                    "zen.test=127.0.0.9*100"},
                                   1));
  auto score = RunAwaitable(io_, screen.Score(asio::ip::make_address("192.0.2.10")));
  EXPECT_EQ(score.score, 6);
  EXPECT_EQ(score.listings.size(), 2u);
  EXPECT_EQ(cache_.size(), 1u);  // one query for the three entries
}

TEST_F(DnsblTest, EnforceAndDropRepliesCarryTheListsText) {
  DnsblClient client(*resolver_, cache_);
  auto options = Sites(kSites, 3);
  options.action = ScreenAction::kEnforce;
  DnsblScreen enforce(client, options);
  auto result = RunAwaitable(io_, enforce.Screen(asio::ip::make_address("192.0.2.10")));
  EXPECT_TRUE(result.listed);
  EXPECT_EQ(result.verdict.action, PolicyAction::kReject);
  EXPECT_EQ(result.verdict.reply.ToString(),
            "550 5.7.1 Service unavailable; client [192.0.2.10] blocked using zen.test; "
            "https://zen.test/query/ip/192.0.2.10");

  options.action = ScreenAction::kDrop;
  DnsblScreen drop(client, options);
  auto dropped = RunAwaitable(io_, drop.Screen(asio::ip::make_address("192.0.2.10")));
  EXPECT_EQ(dropped.verdict.action, PolicyAction::kDrop);
  EXPECT_EQ(dropped.verdict.reply.code(), 521);

  // IPv6 clients are looked up by nibbles.
  auto v6 = RunAwaitable(io_, enforce.Screen(asio::ip::make_address("2001:db8::1")));
  EXPECT_EQ(v6.score.score, 2);
  EXPECT_FALSE(v6.listed);
}

TEST_F(DnsblTest, ReplyMapHidesTheListName) {
  moat::testing::TempDir dir;
  std::string map = dir.WriteFile("reply_map", "zen.test public-list.example\n");
  DnsblClient client(*resolver_, cache_);
  auto options = Sites(kSites, 3);
  options.action = ScreenAction::kEnforce;
  auto table = core::TableList::Open("texthash:" + map);
  ASSERT_TRUE(table) << table.error().message();
  options.reply_map = std::make_shared<const core::TableList>(std::move(*table));
  DnsblScreen screen(client, options);
  auto result = RunAwaitable(io_, screen.Screen(asio::ip::make_address("192.0.2.10")));
  EXPECT_EQ(result.verdict.reply.ToString(),
            "550 5.7.1 Service unavailable; client [192.0.2.10] blocked using "
            "public-list.example");
}

TEST_F(DnsblTest, AllowListsByNegativeWeightAndAccessList) {
  DnsblClient client(*resolver_, cache_);
  auto options = Sites(kSites, 1);
  options.allowlist_threshold = -1;
  options.action = ScreenAction::kEnforce;
  options.denylist_action = ScreenAction::kDrop;
  moat::testing::TempDir dir;
  std::string cidr = dir.WriteFile("access.cidr",
                                   "192.0.2.10/32 permit\n192.0.2.66/32 reject\n"
                                   "192.0.2.77/32 dunno\n");
  auto mynetworks = core::NetworkList::Parse("198.51.100.0/24");
  ASSERT_TRUE(mynetworks);
  auto access = DnsblAccessList::Parse(
      "permit_mynetworks, cidr:" + cidr,
      std::make_shared<const core::NetworkList>(std::move(*mynetworks)));
  ASSERT_TRUE(access) << access.error().message();
  options.access_list = std::move(*access);
  DnsblScreen screen(client, options);

  auto allowed = RunAwaitable(io_, screen.Screen(asio::ip::make_address("192.0.2.30")));
  EXPECT_TRUE(allowed.allowlisted);
  EXPECT_EQ(allowed.score.score, -2);
  EXPECT_EQ(allowed.verdict.action, PolicyAction::kPermit);

  // On the access list: permitted before any DNS query, though zen lists it.
  size_t before = cache_.size();
  auto permitted = RunAwaitable(io_, screen.Screen(asio::ip::make_address("192.0.2.10")));
  EXPECT_EQ(permitted.verdict.action, PolicyAction::kPermit);
  EXPECT_EQ(cache_.size(), before);
  auto mine = RunAwaitable(io_, screen.Screen(asio::ip::make_address("198.51.100.7")));
  EXPECT_EQ(mine.verdict.action, PolicyAction::kPermit);
  EXPECT_NE(mine.verdict.log.find("permit_mynetworks"), std::string::npos);

  auto denied = RunAwaitable(io_, screen.Screen(asio::ip::make_address("192.0.2.66")));
  EXPECT_TRUE(denied.denylisted);
  EXPECT_EQ(denied.verdict.action, PolicyAction::kDrop);
  EXPECT_EQ(denied.verdict.reply.code(), 521);

  auto dunno = RunAwaitable(io_, screen.Screen(asio::ip::make_address("192.0.2.77")));
  EXPECT_FALSE(dunno.allowlisted);
  EXPECT_EQ(dunno.verdict.action, PolicyAction::kDunno);

  EXPECT_FALSE(DnsblAccessList::Parse("permit_everyone", nullptr));
}

TEST_F(DnsblTest, CacheHonoursTtlWithTheInjectedClock) {
  DnsblClient client(*resolver_, cache_);
  DnsblScreen screen(client, Sites({"zen.test"}, 1));
  std::vector<std::string> name = {"10.2.0.192.zen.test"};
  auto first = RunAwaitable(io_, client.LookupAll(name, std::chrono::seconds(3)));
  EXPECT_FALSE(first[0].from_cache);
  EXPECT_EQ(first[0].ttl, static_cast<uint32_t>(DnsmasqServer::kTtl));
  auto second = RunAwaitable(io_, client.LookupAll(name, std::chrono::seconds(3)));
  EXPECT_TRUE(second[0].from_cache);
  now_ += std::chrono::seconds(DnsmasqServer::kTtl - 1);
  EXPECT_TRUE(RunAwaitable(io_, client.LookupAll(name, std::chrono::seconds(3)))[0].from_cache);
  now_ += std::chrono::seconds(1);  // the record's TTL (300 s) has passed
  EXPECT_FALSE(RunAwaitable(io_, client.LookupAll(name, std::chrono::seconds(3)))[0].from_cache);

  // max_ttl below the record's TTL shortens the stay; not-listed answers stay min_ttl.
  DnsblCache short_cache({std::chrono::seconds(10), std::chrono::seconds(100), 100},
                         [this] { return now_; });
  DnsblClient short_client(*resolver_, short_cache);
  std::vector<std::string> names = {"10.2.0.192.zen.test", "99.2.0.192.zen.test"};
  RunAwaitable(io_, short_client.LookupAll(names, std::chrono::seconds(3)));
  now_ += std::chrono::seconds(10);
  auto later = RunAwaitable(io_, short_client.LookupAll(names, std::chrono::seconds(3)));
  EXPECT_TRUE(later[0].from_cache);
  EXPECT_FALSE(later[1].from_cache);  // NXDOMAIN kept min_ttl = 10 s
  now_ += std::chrono::seconds(90);
  EXPECT_FALSE(RunAwaitable(io_, short_client.LookupAll(names, std::chrono::seconds(3)))[0]
                   .from_cache);
}

TEST_F(DnsblTest, GarbageAnswersNeverList) {
  DnsblClient client(*resolver_, cache_);
  auto options = Sites({"zen.test", "zen.test=10.0.0.1"}, 1);
  options.action = ScreenAction::kEnforce;
  DnsblScreen screen(client, options);
  auto result = RunAwaitable(io_, screen.Screen(asio::ip::make_address("192.0.2.50")));
  EXPECT_EQ(result.score.score, 0);
  EXPECT_EQ(result.score.ignored, 1u);
  EXPECT_FALSE(result.listed);
  EXPECT_EQ(result.verdict.action, PolicyAction::kDunno);

  // A huge TXT record is cut to a reply-sized printable text.
  auto huge = RunAwaitable(io_, screen.Screen(asio::ip::make_address("192.0.2.70")));
  ASSERT_EQ(huge.verdict.action, PolicyAction::kReject);
  EXPECT_LT(huge.verdict.reply.text().size(), 400u);
  EXPECT_EQ(huge.verdict.reply.text().find('\n'), std::string::npos);
}

TEST_F(DnsblTest, DnsFailureNeverRejects) {
  testing::ServfailServer servfail;
  auto broken = MakeResolver(servfail.address());
  DnsblCache cache({std::chrono::seconds(60), std::chrono::seconds(3600), 100});
  DnsblClient client(*broken, cache);
  auto options = Sites(kSites, 1);
  options.action = ScreenAction::kDrop;
  DnsblScreen screen(client, options);
  auto result = RunAwaitable(io_, screen.Screen(asio::ip::make_address("192.0.2.10")));
  EXPECT_EQ(result.score.errors, 3);
  EXPECT_EQ(result.verdict.action, PolicyAction::kDunno);
  EXPECT_EQ(cache.size(), 0u);  // errors are not cached

  RblOptions rbl;
  RblRequest request;
  request.client_address = "192.0.2.10";
  auto verdict = RunAwaitable(io_, CheckRblClient(client, rbl, "zen.test", request));
  EXPECT_EQ(verdict.action, PolicyAction::kDunno);
  EXPECT_NE(verdict.log.find("not rejected"), std::string::npos) << verdict.log;

  // A server that never answers: every list times out together, within the deadline.
  asio::ip::udp::socket silent(io_, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto mute = MakeResolver("127.0.0.1:" + std::to_string(silent.local_endpoint().port()),
                           std::chrono::milliseconds(200));
  DnsblClient mute_client(*mute, cache);
  auto mute_options = Sites(kSites, 1);
  mute_options.timeout = std::chrono::milliseconds(200);
  mute_options.action = ScreenAction::kDrop;
  DnsblScreen mute_screen(mute_client, mute_options);
  auto timed_out = RunAwaitable(io_, mute_screen.Screen(asio::ip::make_address("192.0.2.10")));
  EXPECT_EQ(timed_out.score.errors, 3);
  EXPECT_EQ(timed_out.verdict.action, PolicyAction::kDunno);
}

TEST_F(DnsblTest, RejectRblClientUsesPostfixsReply) {
  DnsblClient client(*resolver_, cache_);
  RblOptions options;
  RblRequest request;
  request.client_address = "192.0.2.10";
  request.client_name = "mail.client.example";
  auto listed = RunAwaitable(io_, CheckRblClient(client, options, "zen.test", request));
  EXPECT_EQ(listed.action, PolicyAction::kReject);
  EXPECT_EQ(listed.reply.ToString(),
            "554 5.7.1 Service unavailable; Client host [192.0.2.10] blocked using zen.test; "
            "https://zen.test/query/ip/192.0.2.10");

  auto filtered = RunAwaitable(io_, CheckRblClient(client, options, "zen.test=127.0.0.9",
                                                   request));
  EXPECT_EQ(filtered.action, PolicyAction::kDunno);

  request.client_address = "192.0.2.99";
  auto clean = RunAwaitable(io_, CheckRblClient(client, options, "zen.test", request));
  EXPECT_EQ(clean.action, PolicyAction::kDunno);

  // "$" in a list's TXT text is shown, never expanded.
  request.client_address = "192.0.2.60";
  auto dollars = RunAwaitable(io_, CheckRblClient(client, options, "zen.test", request));
  EXPECT_EQ(dollars.reply.ToString(),
            "554 5.7.1 Service unavailable; Client host [192.0.2.60] blocked using zen.test; "
            "cost $100 ${rbl_code} $$");
}

TEST_F(DnsblTest, RhsblRestrictions) {
  DnsblClient client(*resolver_, cache_);
  RblOptions options;
  RblRequest request;
  request.client_address = "192.0.2.99";
  request.sender = "user@Spammer.Example";
  request.helo = "bad-helo.example";
  auto sender = RunAwaitable(io_, CheckRhsbl(client, options, RhsblTarget::kSender, "dbl.test",
                                             request));
  EXPECT_EQ(sender.action, PolicyAction::kReject);
  EXPECT_EQ(sender.reply.ToString(),
            "554 5.7.1 Service unavailable; Sender address [spammer.example] blocked using "
            "dbl.test; domain listed");
  auto helo = RunAwaitable(io_, CheckRhsbl(client, options, RhsblTarget::kHelo, "dbl.test",
                                           request));
  EXPECT_EQ(helo.reply.ToString(),
            "554 5.7.1 Service unavailable; Helo command [bad-helo.example] blocked using "
            "dbl.test");
  auto unknown_client = RunAwaitable(io_, CheckRhsbl(client, options, RhsblTarget::kClient,
                                                     "dbl.test", request));
  EXPECT_EQ(unknown_client.action, PolicyAction::kDunno);  // client name "unknown"
  request.sender = "";
  auto null_sender = RunAwaitable(io_, CheckRhsbl(client, options, RhsblTarget::kSender,
                                                  "dbl.test", request));
  EXPECT_EQ(null_sender.action, PolicyAction::kDunno);
}

TEST_F(DnsblTest, RblReplyMapsAndCodes) {
  moat::testing::TempDir dir;
  std::string map = dir.WriteFile(
      "rbl_reply", "zen.test 450 $client_address is on $rbl_domain ($rbl_reason)\n");
  DnsblClient client(*resolver_, cache_);
  RblOptions options;
  auto table = core::TableList::Open("texthash:" + map);
  ASSERT_TRUE(table);
  options.reply_maps = std::make_shared<const core::TableList>(std::move(*table));
  RblRequest request;
  request.client_address = "192.0.2.10";
  auto mapped = RunAwaitable(io_, CheckRblClient(client, options, "zen.test", request));
  EXPECT_EQ(mapped.reply.ToString(),
            "450 4.7.1 192.0.2.10 is on zen.test (https://zen.test/query/ip/192.0.2.10)");
  options.reply_maps.reset();
  options.reject_code = 550;
  auto coded = RunAwaitable(io_, CheckRblClient(client, options, "bl.test", request));
  EXPECT_EQ(coded.reply.ToString(),
            "550 5.7.1 Service unavailable; Client host [192.0.2.10] blocked using bl.test");
}

}  // namespace
}  // namespace moat::mta
