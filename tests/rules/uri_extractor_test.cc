// uri_extractor_test.cc - links in text, canonical forms, domains.
#include "rules/uri_extractor.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace moat::rules {
namespace {

std::shared_ptr<const UriContext> Context() {
  std::vector<core::Regex> redirectors;
  redirectors.push_back(*core::Regex::Compile("^http://redir\\.example\\.com/r\\?u=(.*)$"));
  return *UriContext::Create({"com", "net", "org", "uk", "de"}, {"co.uk"}, {},
                             std::move(redirectors));
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(UriExtractorTest, FindsLinksInText) {
  auto ctx = Context();
  auto uris =
      ctx->FindTextUris({"Visit http://example.com/a, or www.example.org/b.\n",
                         "Mail info@example.net or mailto:sales@example.de?subject=hi\n",
                         "Plain host shop.example.co.uk/deal and (see https://x.example.com/p)\n",
                         "Not a link: foo.invalidtld and user@nodot\n"});
  EXPECT_TRUE(Contains(uris, "http://example.com/a")) << uris.size();
  EXPECT_TRUE(Contains(uris, "http://www.example.org/b"));
  EXPECT_TRUE(Contains(uris, "mailto:info@example.net"));
  EXPECT_TRUE(Contains(uris, "mailto:sales@example.de?subject=hi"));
  EXPECT_TRUE(Contains(uris, "http://shop.example.co.uk/deal"));
  EXPECT_TRUE(Contains(uris, "https://x.example.com/p"));
  for (const auto& u : uris) {
    EXPECT_EQ(u.find("invalidtld"), std::string::npos) << u;
    EXPECT_EQ(u.find("nodot"), std::string::npos) << u;
  }
}

TEST(UriExtractorTest, CanonicalizesAsSpamAssassin) {
  auto ctx = Context();
  auto v = ctx->Canonicalize("http://%77%77%77.example.com:80/a%2Fb");
  EXPECT_TRUE(Contains(v, "http://%77%77%77.example.com:80/a%2Fb"));  // the original stays
  EXPECT_TRUE(Contains(v, "http://www.example.com:80/a/b"));
  EXPECT_TRUE(Contains(v, "http://www.example.com/a/b"));
  EXPECT_TRUE(Contains(ctx->Canonicalize("http:\\\\example.com\\x"), "http://example.com/x"));
  EXPECT_TRUE(Contains(ctx->Canonicalize("http://0xC0.0250.2.1/x"), "http://192.168.2.1/x"));
  EXPECT_TRUE(Contains(ctx->Canonicalize("http://3232236033/x"), "http://192.168.2.1/x"));
  // user@ before the host is left alone (the host is what it is); an '@' inside the host
  // part is cut, as SpamAssassin does.
  EXPECT_TRUE(Contains(ctx->Canonicalize("http://a@bank.example.com@evil.example.net/"),
                       "http://evil.example.net/"));
  EXPECT_TRUE(
      Contains(ctx->Canonicalize("http://redir.example.com/r?u=http://target.example.org/x"),
               "http://target.example.org/x"));
  EXPECT_TRUE(
      Contains(ctx->Canonicalize("http://t.example.com/click?url=https://final.example.net/y&z=1"),
               "https://final.example.net/y"));
  EXPECT_TRUE(Contains(ctx->Canonicalize("http://example?x"), "http://example/?x"));
}

TEST(UriExtractorTest, DomainsAndRegistryBoundaries) {
  auto ctx = Context();
  EXPECT_EQ(ctx->UriDomain("http://www.shop.example.co.uk/x").value_or(""), "example.co.uk");
  EXPECT_EQ(ctx->UriDomain("mailto:a@mail.example.com?s=1").value_or(""), "example.com");
  EXPECT_EQ(ctx->UriDomain("http://192.0.2.1/x").value_or(""), "192.0.2.1");
  EXPECT_FALSE(ctx->UriDomain("http://example.invalidtld/"));
  EXPECT_FALSE(ctx->UriDomain("javascript:alert(1)"));
  EXPECT_TRUE(IsFqdnValid("a.example.com"));
  EXPECT_FALSE(IsFqdnValid("localhost"));
  EXPECT_FALSE(IsFqdnValid("-a.example.com"));
  EXPECT_TRUE(IsIpAddress("2001:db8::1"));
}

TEST(UriExtractorTest, CollectsTextAndHtmlLinksOnce) {
  auto ctx = Context();
  auto uris = ctx->CollectUris({"see http://example.com/a and http://example.com/a\n"},
                               {"http://example.com/a", "data:text/html;base64,AAAA"});
  EXPECT_EQ(std::count(uris.begin(), uris.end(), "http://example.com/a"), 1);
  EXPECT_TRUE(Contains(uris, "data:text/html;base64,AAAA"));
}

TEST(UriExtractorTest, WithoutTldsOnlySchemedLinksWithKnownDomainsSurvive) {
  auto empty = UriContext::Empty();
  auto uris = empty->CollectUris({"http://example.com/a www.example.org info@example.net\n"}, {});
  EXPECT_TRUE(uris.empty());  // as SpamAssassin without util_rb_tld: no valid domain
}

}  // namespace
}  // namespace moat::rules
