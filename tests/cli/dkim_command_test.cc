// dkim_command_test.cc - `moat dkim keygen` and `moat dkim check` through CLI11, against a real
// DNS server (dnsmasq) publishing the record keygen printed.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

#include <asio.hpp>

#include "cli/command.h"
#include "filterd/dkim_key.h"
#include "filterd/dkim_tags.h"
#include "tests/support/dnsmasq_server.h"

namespace moat::cli {
namespace {

struct Outcome {
  int status = 0;
  std::string out;
  std::string err;
};

Outcome RunMoat(std::vector<std::string> args, GlobalOptions global = {}) {
  CLI::App app("moat");
  app.require_subcommand(1);
  RegisterDkimCommand(app, global);
  std::vector<const char*> argv = {"moat"};
  for (const auto& a : args) argv.push_back(a.c_str());
  Outcome outcome;
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  try {
    app.parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  } catch (const CLI::ParseError& e) {
    outcome.status = e.get_exit_code() == 0 ? 0 : 2;
  } catch (const CommandExit& e) {
    outcome.status = e.status;
  }
  outcome.out = ::testing::internal::GetCapturedStdout();
  outcome.err = ::testing::internal::GetCapturedStderr();
  return outcome;
}

// The TXT text of a printed zone record: the quoted strings joined.
std::string RecordText(const std::string& zone) {
  std::string text;
  for (size_t at = zone.find('"'); at != std::string::npos; at = zone.find('"', at + 1)) {
    size_t end = zone.find('"', at + 1);
    text += zone.substr(at + 1, end - at - 1);
    at = end;
  }
  return text;
}

TEST(DkimCommandTest, KeygenWritesAPrivateKeyAndPrintsTheRecord) {
  testing::TempDir dir;
  for (std::string algorithm : {"rsa", "ed25519"}) {
    std::string out = dir.Path(algorithm + ".pem");
    auto r = RunMoat({"dkim", "keygen", "--domain", "example.test", "--selector", "s1",
                      "--algorithm", algorithm, "--bits", "2048", "--out", out});
    ASSERT_EQ(r.status, 0) << r.err;
    struct stat st {};
    ASSERT_EQ(::stat(out.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto key = filterd::DkimPrivateKey::LoadFile(out);
    ASSERT_TRUE(key) << key.error().ToString();
    std::string prefix = "s1._domainkey.example.test IN TXT ( \"v=DKIM1; k=" + algorithm + "; \" \"p=";
    EXPECT_TRUE(r.out.starts_with(prefix)) << r.out;
    EXPECT_TRUE(r.out.ends_with(" )\n")) << r.out;
    EXPECT_EQ(RecordText(r.out), "v=DKIM1; k=" + algorithm +
                                     "; p=" + filterd::EncodeBase64(*key->PublicKeyData()));
    for (size_t at = r.out.find('"'); at != std::string::npos; at = r.out.find('"', at + 1)) {
      size_t end = r.out.find('"', at + 1);
      EXPECT_LE(end - at - 1, 255u);
      at = end;
    }
  }
  auto rsa = RunMoat({"dkim", "keygen", "--domain", "example.test", "--selector", "s1", "--out",
                      dir.Path("rsa.pem")});
  EXPECT_EQ(rsa.status, 1) << "refuses to overwrite";
  EXPECT_NE(rsa.err.find("exists"), std::string::npos);
  auto big = RunMoat({"dkim", "keygen", "--domain", "example.test", "--selector", "s4096",
                      "--bits", "4096", "--out", dir.Path("big.pem")});
  ASSERT_EQ(big.status, 0);
  EXPECT_EQ(std::count(big.out.begin(), big.out.end(), '"'), 8);  // v=, then p= in 3 strings
  EXPECT_EQ(RunMoat({"dkim", "keygen", "--domain", "d", "--selector", "s", "--algorithm", "dsa",
                     "--out", dir.Path("x.pem")}).status, 2);
  EXPECT_EQ(RunMoat({"dkim", "keygen", "--domain", "d", "--selector", "s", "--bits", "512",
                     "--out", dir.Path("x.pem")}).status, 2);
}

TEST(DkimCommandTest, CheckComparesThePublishedRecordWithTheKey) {
  testing::TempDir dir;
  auto gen = RunMoat({"dkim", "keygen", "--domain", "example.test", "--selector", "s1",
                      "--out", dir.Path("s1.pem")});
  ASSERT_EQ(gen.status, 0) << gen.err;
  auto other = RunMoat({"dkim", "keygen", "--domain", "example.test", "--selector", "s2",
                        "--algorithm", "ed25519", "--out", dir.Path("s2.pem")});
  ASSERT_EQ(other.status, 0);
  auto dns = testing::DnsmasqServer::Start(
      {"example.test"},
      {testing::DnsmasqTxtRecord("s1._domainkey.example.test", RecordText(gen.out)),
       "--txt-record=bad._domainkey.example.test,v=DKIM1; k=rsa; p=%%%"});
  ASSERT_TRUE(dns);
  GlobalOptions global;
  global.overrides = {"dns_servers=" + dns->address()};

  auto ok = RunMoat({"dkim", "check", "--domain", "example.test", "--selector", "s1", "--key",
                     dir.Path("s1.pem")}, global);
  EXPECT_EQ(ok.status, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("rsa key, 2048 bits"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("matches"), std::string::npos) << ok.out;

  auto mismatch = RunMoat({"dkim", "check", "--domain", "example.test", "--selector", "s1",
                           "--key", dir.Path("s2.pem"), "--dns", dns->address()});
  EXPECT_EQ(mismatch.status, 1);
  EXPECT_NE(mismatch.out.find("does NOT match"), std::string::npos) << mismatch.out;

  auto missing = RunMoat({"dkim", "check", "--domain", "example.test", "--selector", "s2"}, global);
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.out.find("no key published (NXDOMAIN)"), std::string::npos) << missing.out;

  auto bad = RunMoat({"dkim", "check", "--domain", "example.test", "--selector", "bad"}, global);
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.out.find("not a valid DKIM key record"), std::string::npos) << bad.out;

  asio::io_context io;
  asio::ip::udp::socket silent(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto timeout = RunMoat({"dkim", "check", "--domain", "example.test", "--selector", "s1", "--dns",
                          "127.0.0.1:" + std::to_string(silent.local_endpoint().port())});
  EXPECT_EQ(timeout.status, 1);
  EXPECT_NE(timeout.out.find("DNS lookup failed (temporary)"), std::string::npos) << timeout.out;
}

}  // namespace
}  // namespace moat::cli
