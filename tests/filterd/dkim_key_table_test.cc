// dkim_key_table_test.cc - OpenDKIM KeyTable / SigningTable loading and key lookup.
#include "filterd/dkim_key_table.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace moat::filterd {
namespace {

class DkimKeyTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto rsa = DkimPrivateKey::Generate(DkimKeyType::kRsa, 1024);
    auto ed = DkimPrivateKey::Generate(DkimKeyType::kEd25519, 0);
    ASSERT_TRUE(rsa && ed);
    dir_.WriteFile("keys/rsa.pem", *rsa->ToPem());
    dir_.WriteFile("keys/ed.pem", *ed->ToPem());
  }

  std::vector<std::string> Describe(const std::vector<DkimSigningKey>& keys) {
    std::vector<std::string> out;
    for (const auto& k : keys) {
      out.push_back(k.domain + "/" + k.selector + "/" + std::string(DkimKeyTypeName(k.key.type())));
    }
    return out;
  }

  testing::TempDir dir_;
};

TEST_F(DkimKeyTableTest, LooksUpByAddressDomainPatternAndParent) {
  dir_.WriteFile("KeyTable",
                 "# OpenDKIM format\n"
                 "rsa-example   example.com:s2023:keys/rsa.pem\n"
                 "ed-example    example.com:e2023:" + dir_.Path("keys/ed.pem") + "\n"
                 "ceo           example.com:ceo:keys/ed.pem\n"
                 "lists         lists.example.org:l1:keys/rsa.pem\n"
                 "any           %:generic:keys/ed.pem\n");
  dir_.WriteFile("SigningTable",
                 "example.com          rsa-example\n"
                 "example.com          ed-example   # dual signing\n"
                 "ceo@example.com      ceo\n"
                 "*@lists.example.org  lists\n"
                 "*@*.hosted.test      any\n");
  auto store = DkimKeyStore::Load(dir_.Path("KeyTable"), "refile:" + dir_.Path("SigningTable"));
  ASSERT_TRUE(store) << store.error().ToString();
  EXPECT_EQ((*store)->key_count(), 5u);
  EXPECT_EQ(Describe((*store)->KeysFor("alice@example.com")),
            (std::vector<std::string>{"example.com/s2023/rsa", "example.com/e2023/ed25519"}));
  EXPECT_EQ(Describe((*store)->KeysFor("CEO@Example.COM")),
            (std::vector<std::string>{"example.com/ceo/ed25519"}));
  EXPECT_EQ(Describe((*store)->KeysFor("bob@mail.eu.example.com")),
            (std::vector<std::string>{"example.com/s2023/rsa", "example.com/e2023/ed25519"}));
  EXPECT_EQ(Describe((*store)->KeysFor("news@lists.example.org")),
            (std::vector<std::string>{"lists.example.org/l1/rsa"}));
  EXPECT_EQ(Describe((*store)->KeysFor("x@shop.hosted.test")),
            (std::vector<std::string>{"shop.hosted.test/generic/ed25519"}));
  EXPECT_TRUE((*store)->KeysFor("someone@example.net").empty());
  EXPECT_TRUE((*store)->KeysFor("x@notexample.com").empty());
}

TEST_F(DkimKeyTableTest, ErrorsNameFileAndLine) {
  struct Case {
    std::string key_table;
    std::string signing_table;
    const char* error;
  } cases[] = {
      {"k example.com:s\n", "example.com k\n", "KeyTable:1: expected 'keyname domain:selector"},
      {"k\n", "", "KeyTable:1: expected 'key value'"},
      {"k example.com:s:keys/missing.pem\n", "", "KeyTable:1: open"},
      {"k example.com:s:keys/rsa.pem\nk example.com:t:keys/rsa.pem\n", "", "defined twice"},
      {"k example.com:s:keys/rsa.pem\n", "\n\nexample.com nosuchkey\n",
       "SigningTable:3: key name 'nosuchkey' is not in the KeyTable"},
  };
  for (const auto& c : cases) {
    auto store = DkimKeyStore::FromText(c.key_table, c.signing_table, dir_.path());
    ASSERT_FALSE(store) << c.key_table;
    EXPECT_NE(store.error().message().find(c.error), std::string::npos) << store.error().message();
  }
  dir_.WriteFile("keys/garbage.pem", "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n");
  auto bad_key = DkimKeyStore::FromText("k example.com:s:keys/garbage.pem\n", "", dir_.path());
  ASSERT_FALSE(bad_key);
  EXPECT_EQ(bad_key.error().code(), core::ErrorCode::kInvalid);
  auto missing = DkimKeyStore::Load(dir_.Path("nope"), dir_.Path("nope2"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), core::ErrorCode::kIo);
}

TEST(DkimPatternTest, Globs) {
  EXPECT_TRUE(DkimPatternMatches("*@example.com", "a@example.com"));
  EXPECT_TRUE(DkimPatternMatches("*@EXAMPLE.com", "a@example.COM"));
  EXPECT_FALSE(DkimPatternMatches("*@example.com", "a@sub.example.com"));
  EXPECT_TRUE(DkimPatternMatches("*example.com", "a@sub.example.com"));
  EXPECT_TRUE(DkimPatternMatches("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(DkimPatternMatches("a*b*c", "aXXbYY"));
  EXPECT_TRUE(DkimPatternMatches("*", ""));
  EXPECT_FALSE(DkimPatternMatches("", "x"));
  EXPECT_FALSE(DkimPatternMatches(std::string(50, '*') + "b", std::string(5000, 'a')));
}

}  // namespace
}  // namespace moat::filterd
