// dkim_parse_test.cc - tag-lists, base64, canonicalization (RFC 6376 3.4.5 example), the
// DKIM-Signature and key record checks.
#include <gtest/gtest.h>

#include "filterd/dkim_canon.h"
#include "filterd/dkim_signature.h"
#include "filterd/dkim_tags.h"

namespace moat::filterd {
namespace {

TEST(DkimTagsTest, ParsesWithFoldingWhitespace) {
  auto tags = DkimTagList::Parse(" v=1;\r\n\ta = rsa-sha256 ; h=from :\r\n to; b=ab cd\r\n ef=; ");
  ASSERT_TRUE(tags) << tags.error().ToString();
  ASSERT_EQ(tags->tags().size(), 4u);
  EXPECT_EQ(*tags->Find("a"), "rsa-sha256");
  EXPECT_EQ(*tags->Find("h"), "from :\r\n to");
  EXPECT_EQ(*tags->Find("b"), "ab cd\r\n ef=");
  EXPECT_EQ(tags->Find("x"), nullptr);
}

TEST(DkimTagsTest, RejectsMalformedTagLists) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"v=1; v=1", "duplicate tag v="},
      {"v=1;; a=x", "empty tag-spec"},
      {"v=1; novalue", "has no '='"},
      {"v=1; 1a=x", "bad tag name"},
      {"v=1; a-b=x", "bad tag name"},
      {"v=1; a=x\x01y", "invalid character 0x01"},
      {"v=1; a=\xc3\xa9", "invalid character 0xc3"},
      {"v=1; a=x\r\ny", "bad line folding"},
  };
  for (const auto& c : cases) {
    auto tags = DkimTagList::Parse(c.text);
    ASSERT_FALSE(tags) << c.text;
    EXPECT_EQ(tags.error().code(), core::ErrorCode::kInvalid);
    EXPECT_NE(tags.error().message().find(c.error), std::string::npos)
        << c.text << " -> " << tags.error().message();
  }
}

TEST(DkimTagsTest, Base64IsStrict) {
  EXPECT_EQ(*DecodeBase64("aGVs\r\n bG8="), "hello");
  EXPECT_EQ(*DecodeBase64(""), "");
  EXPECT_EQ(EncodeBase64("hello"), "aGVsbG8=");
  EXPECT_EQ(EncodeBase64("hi"), "aGk=");
  EXPECT_EQ(EncodeBase64("abc"), "YWJj");
  for (const char* bad : {"aGVsbG8", "aGVsbG8==", "aGV*bG8=", "aG=Vs", "a===", "aGk=aGk=", "aGl="}) {
    auto decoded = DecodeBase64(bad);
    EXPECT_FALSE(decoded) << bad;
    if (!decoded) {
      EXPECT_NE(decoded.error().message().find("bad base64"), std::string::npos);
    }
  }
}

// RFC 6376 section 3.4.5, both canonicalizations.
TEST(DkimCanonTest, Rfc6376Example) {
  std::string message = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";
  auto split = SplitMessage(message);
  ASSERT_TRUE(split) << split.error().ToString();
  ASSERT_EQ(split->headers.size(), 2u);
  EXPECT_EQ(split->headers[1].name, "B");
  std::string relaxed, simple;
  for (const auto& h : split->headers) {
    CanonicalizeHeader(h.raw, DkimCanonicalization::kRelaxed, &relaxed);
    CanonicalizeHeader(h.raw, DkimCanonicalization::kSimple, &simple);
  }
  EXPECT_EQ(relaxed, "a:X\r\nb:Y Z\r\n");
  EXPECT_EQ(simple, "A: X\r\nB : Y\t\r\n\tZ  \r\n");
  EXPECT_EQ(CanonicalizeBody(split->body, DkimCanonicalization::kRelaxed), " C\r\nD E\r\n");
  EXPECT_EQ(CanonicalizeBody(split->body, DkimCanonicalization::kSimple), " C \r\nD \t E\r\n");
}

TEST(DkimCanonTest, BareLfIsCrlfAndEmptyBodies) {
  auto split = SplitMessage("Subject: x\n y\nFrom: a@b\n\nline  \n\n\nlast");
  ASSERT_TRUE(split);
  std::string simple;
  CanonicalizeHeader(split->headers[0].raw, DkimCanonicalization::kSimple, &simple);
  EXPECT_EQ(simple, "Subject: x\r\n y\r\n");
  uint64_t length = 0;
  EXPECT_EQ(CanonicalizeBody(split->body, DkimCanonicalization::kSimple, &length),
            "line  \r\n\r\n\r\nlast\r\n");
  EXPECT_EQ(length, 18u);
  EXPECT_EQ(CanonicalizeBody("", DkimCanonicalization::kSimple), "\r\n");
  EXPECT_EQ(CanonicalizeBody("", DkimCanonicalization::kRelaxed), "");
  EXPECT_EQ(CanonicalizeBody("\r\n\r\n", DkimCanonicalization::kSimple), "\r\n");
  EXPECT_EQ(CanonicalizeBody(" \t\r\n\r\n", DkimCanonicalization::kRelaxed), "");
  auto headers_only = SplitMessage("From: a@b\r\nTo: c@d\r\n");
  ASSERT_TRUE(headers_only);
  EXPECT_EQ(headers_only->headers.size(), 2u);
  EXPECT_TRUE(headers_only->body.empty());
}

TEST(DkimCanonTest, MalformedHeaderSections) {
  EXPECT_FALSE(SplitMessage(" continuation first\r\nFrom: a\r\n\r\n"));
  EXPECT_FALSE(SplitMessage("From a@b without colon\r\n\r\nbody"));
  EXPECT_FALSE(SplitMessage("\r\nbody only"));
  EXPECT_FALSE(SplitMessage(""));
}

TEST(DkimCanonTest, SignedHeadersPickFromTheBottomAndOversign) {
  auto split = SplitMessage("From: first\r\nTo: t\r\nFrom: second\r\n\r\n");
  ASSERT_TRUE(split);
  EXPECT_EQ(CanonicalSignedHeaders(*split, {"from", "to", "from", "from"},
                                   DkimCanonicalization::kRelaxed),
            "from:second\r\nto:t\r\nfrom:first\r\n");
}

TEST(DkimCanonTest, RemovesOnlyTheBValue) {
  auto stripped = WithoutSignatureValue("DKIM-Signature: v=1; bh=abc=; b=xyz\r\n\t123;  d=x");
  ASSERT_TRUE(stripped);
  EXPECT_EQ(*stripped, "DKIM-Signature: v=1; bh=abc=; b=;  d=x");
  EXPECT_EQ(*WithoutSignatureValue("DKIM-Signature: b = q\r\n r"), "DKIM-Signature: b =");
  EXPECT_FALSE(WithoutSignatureValue("DKIM-Signature: v=1; bh=abc"));
}

constexpr const char* kValidSignature =
    "v=1; a=rsa-sha256; c=relaxed/simple; d=Example.COM; s=sel; i=joe@mail.example.com; "
    "h=From:To; l=10; t=100; x=200; q=dns/txt; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; "
    "b=dGVzdA==";

TEST(DkimSignatureTest, ParsesEveryTag) {
  auto sig = ParseDkimSignature(kValidSignature);
  ASSERT_TRUE(sig) << sig.error().ToString();
  EXPECT_EQ(sig->algorithm, DkimAlgorithm::kRsaSha256);
  EXPECT_EQ(sig->header_canonicalization, DkimCanonicalization::kRelaxed);
  EXPECT_EQ(sig->body_canonicalization, DkimCanonicalization::kSimple);
  EXPECT_EQ(sig->domain, "example.com");
  EXPECT_EQ(sig->selector, "sel");
  EXPECT_EQ(sig->identity, "joe@mail.example.com");
  EXPECT_EQ(sig->signed_headers, (std::vector<std::string>{"From", "To"}));
  EXPECT_EQ(*sig->body_length, 10u);
  EXPECT_EQ(*sig->timestamp, 100);
  EXPECT_EQ(*sig->expiration, 200);
  EXPECT_EQ(sig->signature, "test");
  EXPECT_EQ(sig->body_hash.size(), 32u);
  auto defaults = ParseDkimSignature(
      "v=1; a=ed25519-sha256; d=example.com; s=s; h=from; "
      "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==");
  ASSERT_TRUE(defaults) << defaults.error().ToString();
  EXPECT_EQ(defaults->header_canonicalization, DkimCanonicalization::kSimple);
  EXPECT_EQ(defaults->body_canonicalization, DkimCanonicalization::kSimple);
  EXPECT_EQ(defaults->identity, "@example.com");
}

TEST(DkimSignatureTest, RejectsBrokenSignaturesWithReasons) {
  const std::string bh = "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; ";
  struct Case {
    std::string value;
    const char* error;
  } cases[] = {
      {"v=2; a=rsa-sha256; d=e.com; s=s; h=from; " + bh + "b=dGVzdA==", "unsupported version"},
      {"a=rsa-sha256; d=e.com; s=s; h=from; " + bh + "b=dGVzdA==", "missing v= tag"},
      {"v=1; a=rsa-md5; d=e.com; s=s; h=from; " + bh + "b=dGVzdA==", "unsupported algorithm"},
      {"v=1; a=rsa-sha256; d=e.com; s=s; h=from; " + bh, "missing b= tag"},
      {"v=1; a=rsa-sha256; d=e.com; s=s; h=from; " + bh + "b=dGV*zdA==", "bad base64"},
      {"v=1; a=rsa-sha256; d=e.com; s=s; h=from; bh=AAAA; b=dGVzdA==", "bh= is 3 bytes"},
      {"v=1; a=rsa-sha256; d=e.com; s=s; h=to:subject; " + bh + "b=dGVzdA==",
       "h= does not include From"},
      {"v=1; a=rsa-sha256; d=e.com; s=s; h=from; i=x@other.com; " + bh + "b=dGVzdA==",
       "i= domain is not d="},
      {"v=1; a=rsa-sha256; d=e.com; s=s; h=from; i=x@notE.com; " + bh + "b=dGVzdA==",
       "i= domain is not d="},
      {"v=1; a=rsa-sha256; d=e.com; s=s; h=from; l=-1; " + bh + "b=dGVzdA==", "bad l= value"},
      {"v=1; a=rsa-sha256; d=e.com; s=s; h=from; t=20; x=10; " + bh + "b=dGVzdA==",
       "x= is before t="},
      {"v=1; a=rsa-sha256; d=e.com; s=s; h=from; c=fancy; " + bh + "b=dGVzdA==",
       "unsupported canonicalization"},
      {"v=1; a=rsa-sha256; d=e.com; s=s; h=from; q=http; " + bh + "b=dGVzdA==",
       "unsupported query method"},
      {"v=1; a=rsa-sha256; d=e..com; s=s; h=from; " + bh + "b=dGVzdA==", "bad d= domain"},
      {"v=1; a=rsa-sha256; d=e.com; s=s/x; h=from; " + bh + "b=dGVzdA==", "bad s= selector"},
      {"v=1; a=rsa-sha256; d=e.com; s=s; h=from; t=1234567890123; " + bh + "b=dGVzdA==",
       "bad t= value"},
  };
  for (const auto& c : cases) {
    auto sig = ParseDkimSignature(c.value);
    ASSERT_FALSE(sig) << c.value;
    EXPECT_NE(sig.error().message().find(c.error), std::string::npos)
        << c.value << " -> " << sig.error().message();
  }
}

TEST(DkimKeyRecordTest, ParsesFlagsAndDefaults) {
  auto record = ParseDkimKeyRecord("v=DKIM1; k=ed25519; h=sha256; s=email:*; t=y:s; p=dGVzdA==");
  ASSERT_TRUE(record) << record.error().ToString();
  EXPECT_EQ(record->key_type, DkimKeyType::kEd25519);
  EXPECT_TRUE(record->testing);
  EXPECT_TRUE(record->strict_identity);
  EXPECT_TRUE(record->AllowsHash("sha256"));
  EXPECT_FALSE(record->AllowsHash("sha1"));
  EXPECT_EQ(record->public_key, "test");
  auto plain = ParseDkimKeyRecord("p=dGVzdA==");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->key_type, DkimKeyType::kRsa);
  EXPECT_TRUE(plain->AllowsHash("sha1"));
  auto revoked = ParseDkimKeyRecord("v=DKIM1; p=");
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(revoked->revoked());
}

TEST(DkimKeyRecordTest, RejectsBrokenRecords) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"v=DKIM2; p=dGVzdA==", "unsupported v="},
      {"k=rsa; v=DKIM1; p=dGVzdA==", "v= is not the first tag"},
      {"v=DKIM1; k=dsa; p=dGVzdA==", "unknown key type"},
      {"v=DKIM1; k=rsa", "missing p= tag"},
      {"v=DKIM1; p=dGVzd!A==", "bad base64"},
      {"v=DKIM1; s=tls; p=dGVzdA==", "not for email"},
      {"v=DKIM1; p=abc; p=abc", "duplicate tag"},
      {"this is not a key record", "has no '='"},
  };
  for (const auto& c : cases) {
    auto record = ParseDkimKeyRecord(c.text);
    ASSERT_FALSE(record) << c.text;
    EXPECT_NE(record.error().message().find(c.error), std::string::npos)
        << c.text << " -> " << record.error().message();
  }
}

}  // namespace
}  // namespace moat::filterd
