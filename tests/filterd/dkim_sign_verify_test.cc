// dkim_sign_verify_test.cc - signing at a fixed time (golden signatures), the RFC 8463 example,
// verification rules (l=, t=/x=, key flags, RFC 8301) with keys handed in directly (no DNS).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "filterd/dkim_signer.h"
#include "filterd/dkim_tags.h"
#include "filterd/dkim_verifier.h"
#include "tests/support/test_support.h"

namespace moat::filterd {
namespace {

using testing::ReadTextFile;
using testing::SourcePath;

constexpr int64_t kNow = 1700000000;  // 2023-11-14 22:13:20 UTC

std::string Corpus(const std::string& name) {
  return ReadTextFile(SourcePath("testdata/corpus/dkim/" + name));
}

DkimPrivateKey LoadKey(const std::string& name) {
  auto key = DkimPrivateKey::LoadFile(SourcePath("testdata/corpus/dkim/rfc8463/" + name));
  EXPECT_TRUE(key) << key.error().ToString();
  return *key;
}

DkimSigningKey RsaKey() { return {"football.example.com", "test", LoadKey("rsa-test.private.pem")}; }
DkimSigningKey EdKey() {
  return {"football.example.com", "brisbane", LoadKey("ed25519-brisbane.private.pem")};
}

std::string RecordFor(const DkimPrivateKey& key, const std::string& extra = "") {
  return "v=DKIM1; k=" + std::string(DkimKeyTypeName(key.type())) + "; " + extra +
         "p=" + EncodeBase64(*key.PublicKeyData());
}

DkimKeyAnswer Found(std::string record) {
  DkimKeyAnswer answer;
  answer.status = DkimKeyAnswer::Status::kFound;
  answer.records = {std::move(record)};
  return answer;
}

// Verifies every signature with the key records given by name.
std::vector<DkimSignatureResult> Verify(const std::string& message,
                                        const std::map<std::string, std::string>& records,
                                        int64_t now = kNow, DkimVerifyOptions options = {}) {
  DkimVerifier verifier(message, options);
  std::vector<DkimSignatureResult> results;
  for (size_t i = 0; i < verifier.signature_count(); ++i) {
    auto name = verifier.KeyName(i);
    DkimKeyAnswer answer;
    if (name && records.count(*name)) answer = Found(records.at(*name));
    if (name && !records.count(*name)) answer.detail = *name + " NXDOMAIN";
    results.push_back(verifier.Finish(i, answer, now));
  }
  return results;
}

std::map<std::string, std::string> FootballKeys() {
  return {{"test._domainkey.football.example.com", RecordFor(RsaKey().key)},
          {"brisbane._domainkey.football.example.com", RecordFor(EdKey().key)}};
}

TEST(DkimRfc8463Test, ExampleSignaturesVerify) {
  std::string message = Corpus("rfc8463/signed-a3.eml");
  std::map<std::string, std::string> records;
  std::ifstream dns(SourcePath("testdata/corpus/dkim/rfc8463/dns-keys.txt"));
  std::string line;
  while (std::getline(dns, line)) {
    size_t space = line.find(' ');
    if (space != std::string::npos) records[line.substr(0, space)] = line.substr(space + 1);
  }
  ASSERT_EQ(records.size(), 2u);
  auto results = Verify(message, records);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].result, DkimResult::kPass) << results[0].reason;
  EXPECT_EQ(results[0].algorithm, "ed25519-sha256");
  EXPECT_EQ(results[1].result, DkimResult::kPass) << results[1].reason;
  EXPECT_EQ(results[1].algorithm, "rsa-sha256");
  EXPECT_EQ(results[1].key_bits, 1024);
  EXPECT_EQ(results[1].domain, "football.example.com");
  EXPECT_EQ(results[1].identity, "@football.example.com");
}

// Both algorithms are deterministic: our keys re-sign the RFC's own signed data bit for bit.
TEST(DkimRfc8463Test, OurKeysReproduceTheRfcSignatures) {
  std::string message = Corpus("rfc8463/signed-a3.eml");
  DkimVerifier verifier(message);
  ASSERT_EQ(verifier.signature_count(), 2u);
  auto ed = EdKey().key.Sign(DkimHash::kSha256, verifier.SignedData(0));
  auto rsa = RsaKey().key.Sign(DkimHash::kSha256, verifier.SignedData(1));
  ASSERT_TRUE(ed && rsa);
  EXPECT_EQ(EncodeBase64(*ed),
            "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==");
  EXPECT_EQ(EncodeBase64(*rsa),
            "F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tF"
            "OeS9mPYQTnGdaSGsgeefOsk2JzdA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=");
}

TEST(DkimRfc8463Test, SeedAndPemLoadTheSameKey) {
  auto seed = DkimPrivateKey::LoadFile(SourcePath("testdata/corpus/dkim/rfc8463/ed25519-brisbane.seed.b64"));
  ASSERT_TRUE(seed) << seed.error().ToString();
  EXPECT_EQ(*seed->PublicKeyData(), *EdKey().key.PublicKeyData());
  EXPECT_EQ(EncodeBase64(*seed->PublicKeyData()), "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
}

// Golden signatures: every fixture message, both key types, both canonicalizations, at kNow.
TEST(DkimSignTest, FixedTimeSignaturesMatchTheGoldenFiles) {
  const bool update = std::getenv("UPDATE_GOLDEN") != nullptr;
  int compared = 0;
  for (const char* name : {"plain", "folded", "lists", "empty-body", "crlf"}) {
    std::string message = Corpus(std::string("messages/") + name + ".eml");
    for (const auto& key : {RsaKey(), EdKey()}) {
      for (auto canon : {DkimCanonicalization::kRelaxed, DkimCanonicalization::kSimple}) {
        DkimSignOptions options;
        options.header_canonicalization = options.body_canonicalization = canon;
        auto field = SignDkim(message, key, kNow, options);
        ASSERT_TRUE(field) << field.error().ToString();
        std::string golden_name = fmt::format("golden/{}.{}.{}.txt", name,
                                              DkimKeyTypeName(key.key.type()),
                                              DkimCanonicalizationName(canon));
        std::string golden_path = SourcePath("testdata/corpus/dkim/" + golden_name);
        if (update) {
          std::filesystem::create_directories(std::filesystem::path(golden_path).parent_path());
          std::ofstream(golden_path, std::ios::binary) << *field;
        }
        std::string expected = ReadTextFile(golden_path);
        if (*field != expected) {
          std::string actual = std::string(MOAT_BINARY_DIR) + "/" + name + ".actual";
          std::ofstream(actual, std::ios::binary) << *field;
          ADD_FAILURE() << golden_name << " differs; actual output in " << actual;
        }
        ++compared;
        auto results = Verify(*field + message, FootballKeys());
        ASSERT_EQ(results.size(), 1u);
        EXPECT_EQ(results[0].result, DkimResult::kPass) << golden_name << ": " << results[0].reason;
      }
    }
  }
  EXPECT_EQ(compared, 20);
}

TEST(DkimSignTest, HeaderListOversignsFromAndCoversTheUsualSet) {
  std::string message = Corpus("messages/lists.eml");
  auto field = SignDkim(message, EdKey(), kNow);
  ASSERT_TRUE(field);
  std::string unfolded;
  for (char c : *field) {
    if (c != '\r' && c != '\n' && c != '\t') unfolded += c;
  }
  EXPECT_NE(unfolded.find("h=from:from:subject:date:to:to:cc:message-id:reply-to:mime-version:"
                          "content-type:content-transfer-encoding:in-reply-to:references:list-id:"
                          "list-unsubscribe:list-unsubscribe-post;"),
            std::string::npos)
      << unfolded;
  EXPECT_EQ(unfolded.find("return-path"), std::string::npos);
  EXPECT_NE(unfolded.find("t=1700000000;"), std::string::npos);
  for (size_t at = 0, next; at < field->size(); at = next + 2) {
    next = field->find("\r\n", at);
    ASSERT_NE(next, std::string::npos);
    EXPECT_LE(next - at, 78u) << "line too long in " << *field;
  }
}

TEST(DkimSignTest, SignerNeverSignsMailWithoutFrom) {
  auto field = SignDkim("To: a@b\r\nSubject: x\r\n\r\nbody\r\n", EdKey(), kNow);
  ASSERT_FALSE(field);
  EXPECT_EQ(field.error().code(), core::ErrorCode::kInvalid);
}

TEST(DkimSignTest, LfLineEndingsOnRequest) {
  DkimSignOptions options;
  options.line_ending = "\n";
  std::string message = Corpus("messages/plain.eml");
  auto field = SignDkim(message, RsaKey(), kNow, options);
  ASSERT_TRUE(field);
  EXPECT_EQ(field->find('\r'), std::string::npos);
  EXPECT_EQ(Verify(*field + message, FootballKeys())[0].result, DkimResult::kPass);
}

class DkimTamperTest : public ::testing::Test {
 protected:
  std::string Signed(const DkimSignOptions& options = {}) {
    std::string message = Corpus("messages/plain.eml");
    auto fields = SignDkimAll(message, std::vector<DkimSigningKey>{RsaKey(), EdKey()}, kNow, options);
    EXPECT_TRUE(fields);
    return *fields + message;
  }
  void ExpectAll(const std::string& message, DkimResult result, const std::string& reason) {
    auto results = Verify(message, FootballKeys());
    ASSERT_EQ(results.size(), 2u);
    for (const auto& r : results) {
      EXPECT_EQ(r.result, result) << r.algorithm << ": " << r.reason;
      EXPECT_NE(r.reason.find(reason), std::string::npos) << r.reason;
    }
  }
};

TEST_F(DkimTamperTest, DualSignaturesPass) { ExpectAll(Signed(), DkimResult::kPass, ""); }

TEST_F(DkimTamperTest, ChangedBodyFails) {
  std::string message = Signed();
  message.replace(message.find("Friday?"), 7, "Monday?");
  ExpectAll(message, DkimResult::kFail, "body hash did not verify");
}

TEST_F(DkimTamperTest, ChangedHeaderFails) {
  std::string message = Signed();
  message.replace(message.find("Lunch"), 5, "Lurch");
  ExpectAll(message, DkimResult::kFail, "signature did not verify");
}

TEST_F(DkimTamperTest, AddedFromFailsAboveAndBelow) {
  std::string message = Signed();
  ExpectAll(message + "", DkimResult::kPass, "");
  std::string top = "From: mallory@evil.test\r\n" + message;
  ExpectAll(top, DkimResult::kFail, "signature did not verify");
  std::string below = message;
  below.insert(below.find("To: Bob"), "From: mallory@evil.test\n");
  ExpectAll(below, DkimResult::kFail, "signature did not verify");
}

TEST_F(DkimTamperTest, RelaxedSurvivesRefoldingSimpleDoesNot) {
  std::string message = Signed();
  message.replace(message.find("Subject: Lunch on Friday"), 24, "Subject:   Lunch\n  on Friday");
  auto results = Verify(message, FootballKeys());
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].result, DkimResult::kPass) << results[0].reason;
  DkimSignOptions simple;
  simple.header_canonicalization = DkimCanonicalization::kSimple;
  std::string strict = Signed(simple);
  strict.replace(strict.find("Subject: Lunch on Friday"), 24, "Subject:   Lunch\n  on Friday");
  ExpectAll(strict, DkimResult::kFail, "signature did not verify");
}

TEST_F(DkimTamperTest, BodyLengthTagAllowsAppendedText) {
  DkimSignOptions options;
  options.body_length = true;
  std::string message = Signed(options);
  EXPECT_NE(message.find("l=49;"), std::string::npos);
  ExpectAll(message + "appended footer\n", DkimResult::kPass, "");
  std::string shorter = message.substr(0, message.size() - 8);
  ExpectAll(shorter, DkimResult::kPermError, "is longer than the body");
}

TEST_F(DkimTamperTest, ExpiryAndFutureTimestampsWithClockSkew) {
  DkimSignOptions options;
  options.lifetime = std::chrono::seconds(3600);
  std::string message = Signed(options);
  EXPECT_NE(message.find("x=1700003600;"), std::string::npos);
  auto at = [&](int64_t now) { return Verify(message, FootballKeys(), now); };
  EXPECT_EQ(at(kNow + 3600 + 300)[0].result, DkimResult::kPass);  // within the skew
  auto expired = at(kNow + 3600 + 301);
  EXPECT_EQ(expired[0].result, DkimResult::kPermError);
  EXPECT_NE(expired[0].reason.find("signature expired"), std::string::npos);
  EXPECT_EQ(at(kNow - 300)[1].result, DkimResult::kPass);
  auto future = at(kNow - 301);
  EXPECT_EQ(future[1].result, DkimResult::kPermError);
  EXPECT_NE(future[1].reason.find("in the future"), std::string::npos);
}

// Key record flags and failures, each against the same rsa + ed25519 signed message.
TEST_F(DkimTamperTest, KeyRecordRules) {
  std::string message = Signed();
  const std::string rsa_name = "test._domainkey.football.example.com";
  const std::string ed_name = "brisbane._domainkey.football.example.com";
  auto rsa_record = [&](const std::string& extra) { return RecordFor(RsaKey().key, extra); };
  struct Case {
    std::string record;
    DkimResult result;
    const char* reason;
  } rsa_cases[] = {
      {"v=DKIM1; k=rsa; p=", DkimResult::kPermError, "key revoked"},
      {rsa_record("h=sha1; "), DkimResult::kPermError, "not allowed by the key's h="},
      {rsa_record("h=sha1:sha256; "), DkimResult::kPass, ""},
      {rsa_record("s=email; "), DkimResult::kPass, ""},
      {rsa_record("s=other; "), DkimResult::kPermError, "not for email"},
      {rsa_record("t=y; "), DkimResult::kPass, "testing mode"},
      {RecordFor(EdKey().key), DkimResult::kPermError, "does not match a=rsa-sha256"},
      {"v=DKIM1; k=rsa; p=" + EncodeBase64(*EdKey().key.PublicKeyData()), DkimResult::kPermError,
       "not a DER RSA public key"},
      {"v=DKIM1; k=rsa; p=AAAA!", DkimResult::kPermError, "bad base64"},
      {"v=DKIM1; k=rsa; p=" + EncodeBase64("garbage that is not DER"), DkimResult::kPermError,
       "not a DER RSA public key"},
      {"v=spf1 -all", DkimResult::kPermError, "unsupported v=spf1"},
      {"not a record", DkimResult::kPermError, "has no '='"},
  };
  for (const auto& c : rsa_cases) {
    auto results = Verify(message, {{rsa_name, c.record}, {ed_name, RecordFor(EdKey().key)}});
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0].result, c.result) << c.record << ": " << results[0].reason;
    EXPECT_NE(results[0].reason.find(c.reason), std::string::npos) << results[0].reason;
    EXPECT_EQ(results[1].result, DkimResult::kPass);
  }
  // k=ed25519 with an RSA key's bytes: wrong key type.
  auto wrong = Verify(message, {{rsa_name, rsa_record("")},
                                {ed_name, "v=DKIM1; k=ed25519; p=" +
                                              EncodeBase64(*RsaKey().key.PublicKeyData())}});
  EXPECT_EQ(wrong[1].result, DkimResult::kPermError);
  EXPECT_NE(wrong[1].reason.find("wrong key type"), std::string::npos) << wrong[1].reason;
  // No key at all.
  auto missing = Verify(message, {});
  EXPECT_EQ(missing[0].result, DkimResult::kPermError);
  EXPECT_NE(missing[0].reason.find("no key for signature"), std::string::npos);
}

TEST(DkimVerifyTest, StrictIdentityFlag) {
  std::string message = Corpus("messages/plain.eml");
  DkimSignOptions options;
  options.identity = "alice@mail.football.example.com";
  auto field = SignDkim(message, EdKey(), kNow, options);
  ASSERT_TRUE(field);
  const std::string name = "brisbane._domainkey.football.example.com";
  auto relaxed = Verify(*field + message, {{name, RecordFor(EdKey().key)}});
  EXPECT_EQ(relaxed[0].result, DkimResult::kPass) << relaxed[0].reason;
  EXPECT_EQ(relaxed[0].identity, "alice@mail.football.example.com");
  auto strict = Verify(*field + message, {{name, RecordFor(EdKey().key, "t=s; ")}});
  EXPECT_EQ(strict[0].result, DkimResult::kPermError);
  EXPECT_NE(strict[0].reason.find("t=s"), std::string::npos);
}

TEST(DkimVerifyTest, MalformedSignatureHeadersArePermerrors) {
  std::string message = Corpus("messages/plain.eml");
  auto good = SignDkim(message, EdKey(), kNow);
  ASSERT_TRUE(good);
  std::string bad_b64 = *good;
  bad_b64.replace(bad_b64.find("b=", bad_b64.find("bh=") + 3) + 2, 1, "*");
  std::string broken_tags = "DKIM-Signature: v=1; a=rsa-sha256;; d=x.test; s=s\r\n";
  std::string unknown_alg = "DKIM-Signature: v=1; a=rsa-sha512; d=x.test; s=s; h=from; bh=AA==; b=AA==\r\n";
  std::string signed_message = broken_tags + unknown_alg + bad_b64 + *good + message;
  auto results = Verify(signed_message, FootballKeys());
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].result, DkimResult::kPermError);
  EXPECT_NE(results[0].reason.find("empty tag-spec"), std::string::npos) << results[0].reason;
  EXPECT_EQ(results[1].result, DkimResult::kPermError);
  EXPECT_NE(results[1].reason.find("unsupported algorithm"), std::string::npos);
  EXPECT_EQ(results[1].domain, "x.test");
  EXPECT_EQ(results[2].result, DkimResult::kPermError);
  EXPECT_NE(results[2].reason.find("bad base64"), std::string::npos) << results[2].reason;
  EXPECT_EQ(results[3].result, DkimResult::kPass) << results[3].reason;
}

TEST(DkimVerifyTest, TooManySignaturesAreNeutral) {
  std::string message = Corpus("messages/plain.eml");
  auto field = SignDkim(message, EdKey(), kNow);
  ASSERT_TRUE(field);
  DkimVerifyOptions options;
  options.max_signatures = 2;
  auto results = Verify(*field + *field + *field + message, FootballKeys(), kNow, options);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[1].result, DkimResult::kPass);
  EXPECT_EQ(results[2].result, DkimResult::kNeutral);
}

TEST(DkimVerifyTest, ShortRsaKeysFail) {
  testing::TempDir dir;
  auto gen = testing::RunCommand({"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                                  "rsa_keygen_bits:512", "-out", dir.Path("short.pem")});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  auto key = DkimPrivateKey::LoadFile(dir.Path("short.pem"));
  ASSERT_TRUE(key) << key.error().ToString();
  EXPECT_EQ(key->bits(), 512);
  std::string message = Corpus("messages/plain.eml");
  auto field = SignDkim(message, {"example.test", "short", *key}, kNow);
  ASSERT_TRUE(field);
  auto results = Verify(*field + message, {{"short._domainkey.example.test", RecordFor(*key)}});
  EXPECT_EQ(results[0].result, DkimResult::kFail);
  EXPECT_NE(results[0].reason.find("RSA key of 512 bits"), std::string::npos) << results[0].reason;
}

TEST(DkimKeyTest, GeneratedKeysSignAndVerify) {
  for (auto type : {DkimKeyType::kRsa, DkimKeyType::kEd25519}) {
    auto key = DkimPrivateKey::Generate(type, 2048);
    ASSERT_TRUE(key) << key.error().ToString();
    auto pem = key->ToPem();
    ASSERT_TRUE(pem);
    auto again = DkimPrivateKey::FromPem(*pem);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again->PublicKeyData(), *key->PublicKeyData());
    auto pub = DkimPublicKey::FromRecordData(type, *key->PublicKeyData());
    ASSERT_TRUE(pub);
    auto sig = key->Sign(DkimHash::kSha256, "data");
    ASSERT_TRUE(sig);
    EXPECT_TRUE(pub->Verify(DkimHash::kSha256, "data", *sig));
    EXPECT_FALSE(pub->Verify(DkimHash::kSha256, "datA", *sig));
    EXPECT_FALSE(pub->Verify(DkimHash::kSha256, "data", "short"));
  }
  EXPECT_FALSE(DkimPrivateKey::Generate(DkimKeyType::kRsa, 512));
  EXPECT_FALSE(DkimPrivateKey::FromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
  EXPECT_FALSE(DkimPrivateKey::LoadFile("/nonexistent/key.pem"));
}

}  // namespace
}  // namespace moat::filterd

namespace moat::filterd {
namespace {

// Hostile input: thousands of seeded mutations of a dual-signed message go through every parser
// (message split, tag-lists, base64, key records, canonicalization). Each must end in a result,
// never a crash (ASan/UBSan builds run this too), and a changed signed byte never passes.
TEST(DkimVerifyTest, MutatedMessagesNeverCrashOrPass) {
  std::string message = Corpus("messages/folded.eml");
  auto fields = SignDkimAll(message, std::vector<DkimSigningKey>{RsaKey(), EdKey()}, kNow);
  ASSERT_TRUE(fields);
  const std::string original = *fields + message;
  const std::string alphabet = std::string(";=: \t\r\n\0\xff\"@.abB/+", 17);
  uint64_t state = 0x9e3779b97f4a7c15ull;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  auto keys = FootballKeys();
  int passes = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string mutated = original;
    int edits = 1 + static_cast<int>(next() % 3);
    for (int e = 0; e < edits; ++e) {
      size_t at = next() % mutated.size();
      char c = alphabet[next() % alphabet.size()];
      switch (next() % 3) {
        case 0: mutated[at] = c; break;
        case 1: mutated.insert(at, 1, c); break;
        default: mutated.erase(at, 1); break;
      }
    }
    auto results = Verify(mutated, keys);
    for (const auto& r : results) passes += r.result == DkimResult::kPass;
    auto tags = DkimTagList::Parse(mutated.substr(0, 400));
    auto record = ParseDkimKeyRecord(mutated.substr(next() % 200, 120));
    auto b64 = DecodeBase64(mutated.substr(next() % 300, 64));
    (void)tags;
    (void)record;
    (void)b64;
  }
  // Mutations may land outside signed bytes (X-Unsigned, insignificant whitespace under relaxed),
  // so some passes are right; most mutations must break at least one signature.
  EXPECT_LT(passes, 3000 * 2);
}

}  // namespace
}  // namespace moat::filterd
