// resolve_postfix_compat_test.cc - our resolver against the real Postfix trivial-rewrite(8).
//
// Postfix's daemons run stand-alone with -S: trivial-rewrite reads one request in Postfix's
// internal attribute protocol (name\0value\0 ... \0) from stdin and writes its reply to stdout:
// flags, transport, nexthop, recipient, flags (resolve_clnt.h: RESOLVE_FLAG_ROUTED 1<<1,
// RESOLVE_FLAG_ERROR 1<<2, RESOLVE_CLASS_LOCAL 1<<8 ... RESOLVE_CLASS_DEFAULT 1<<12). Both sides
// read the same main.cf and the same text tables (texthash:, which Postfix reads without
// postmap), so every case compares the class, transport, nexthop and rewritten recipient Postfix
// 3.7 computes with ours.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "mta/resolve_address.h"
#include "tests/mta/routing_fixture.h"

namespace moat::mta {
namespace {

constexpr const char* kTrivialRewrite = "/usr/lib/postfix/sbin/trivial-rewrite";

constexpr const char* kMainCf = R"(compatibility_level = 3.6
myhostname = mx.example.test
mydomain = example.test
mydestination = $myhostname, localhost.$mydomain, localhost
inet_interfaces = loopback-only
relay_domains = relay.test, texthash:$config_directory/relay_domains
virtual_alias_domains = alias.test
virtual_mailbox_domains = mailbox.test
transport_maps = texthash:$config_directory/transport
relocated_maps = texthash:$config_directory/relocated
sender_dependent_relayhost_maps = texthash:$config_directory/sender_relay
sender_dependent_default_transport_maps = texthash:$config_directory/sender_transport
recipient_delimiter = +
relayhost = [smarthost.test]:587
)";

constexpr const char* kTransport = R"(example.com      smtp:bar.example:2025
.example.com     smtp:[gateway.example.com]
kdent@example.com error:no mail accepted for kdent
my.domain        :
.my.domain       :
slow.test        slow:
gw.test          :[gateway.gw.test]
.err.test        error:mail for *.err.test is not deliverable
bounce.test      error:
retry.test       retry:
multi.test       smtp:bar.example, foo.example
lmtp.test        lmtp:unix:/var/run/lmtp.sock
user+ext@ext.test smtp:[ext-full]
user@ext.test    smtp:[ext-stripped]
ext.test         smtp:[ext-domain]
sub.relay.test   relay:[relay-sub.test]:2626
)";

struct PostfixReply {
  std::string transport, nexthop, recipient;
  int flags = 0;
};

std::string Attr(std::string_view name, std::string_view value) {
  std::string out(name);
  out.push_back('\0');
  out.append(value);
  out.push_back('\0');
  return out;
}

class ResolvePostfixCompatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kTrivialRewrite, X_OK) != 0) {
      GTEST_SKIP() << kTrivialRewrite << " not installed (Debian package postfix)";
    }
    fixture_ = std::make_unique<testing::RoutingFixture>(
        kMainCf,
        std::vector<std::pair<std::string, std::string>>{
            {"transport", kTransport},
            {"relocated", "old@relay.test new@example.net\n@gone.relay.test sales\n"},
            {"relay_domains", "relaytable.test ok\n"},
            {"sender_relay", "@corp.test [corp-relay.test]\n<> [bounce-relay.test]\n"
                             "dunno@corp.test DUNNO\n"},
            {"sender_transport", "@lmtp-sender.test lmtp:[127.0.0.1]:2424\n"
                                 "@slow-sender.test slow\n"}});
    // trivial-rewrite drops root privileges to the postfix user: it must read our files.
    const std::string& dir = fixture_->dir().path();
    ::chmod(dir.c_str(), 0755);
    queue_ = dir + "/queue";
    ::mkdir(queue_.c_str(), 0755);
  }

  PostfixReply AskPostfix(const std::string& sender, const std::string& address) {
    std::string request = Attr("request", "resolve") + Attr("sender", sender) +
                          Attr("address", address) + std::string(1, '\0');
    moat::testing::CommandOptions options;
    options.stdin_data = request;
    options.env = {{"MAIL_CONFIG", fixture_->dir().path()}};
    options.timeout = std::chrono::seconds(20);
    auto result = moat::testing::RunCommand(
        {kTrivialRewrite, "-S", "-n", "rewrite", "-t", "unix", "-o", "queue_directory=" + queue_,
         "-o", "data_directory=" + queue_},
        options);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    std::map<std::string, std::string> attributes;
    std::vector<std::string> fields;
    std::string current;
    for (char c : result.out) {
      if (c == '\0') {
        fields.push_back(current);
        current.clear();
      } else {
        current.push_back(c);
      }
    }
    for (size_t i = 0; i + 1 < fields.size(); i += 2) attributes[fields[i]] = fields[i + 1];
    PostfixReply reply;
    reply.transport = attributes["transport"];
    reply.nexthop = attributes["nexthop"];
    reply.recipient = attributes["recipient"];
    reply.flags = attributes.contains("flags") ? std::stoi(attributes["flags"]) : -1;
    return reply;
  }

  std::unique_ptr<testing::RoutingFixture> fixture_;
  std::string queue_;
};

int ClassFlag(AddressClass c) {
  switch (c) {
    case AddressClass::kLocal:
      return 1 << 8;
    case AddressClass::kVirtualAlias:
      return 1 << 9;
    case AddressClass::kVirtualMailbox:
      return 1 << 10;
    case AddressClass::kRelay:
      return 1 << 11;
    case AddressClass::kDefault:
      return 1 << 12;
  }
  return 0;
}

TEST_F(ResolvePostfixCompatTest, SameAnswersAsTrivialRewrite) {
  const std::pair<const char*, const char*> kCases[] = {
      {"s@example.org", "user@example.com"},
      {"s@example.org", "USER@Example.COM"},
      {"s@example.org", "user@sub.example.com"},
      {"s@example.org", "user@a.b.example.com"},
      {"s@example.org", "kdent@example.com"},
      {"s@example.org", "user+ext@ext.test"},
      {"s@example.org", "user+other@ext.test"},
      {"s@example.org", "other@ext.test"},
      {"s@example.org", "user@my.domain"},
      {"s@example.org", "user@host.my.domain"},
      {"s@example.org", "user@slow.test"},
      {"s@example.org", "user@gw.test"},
      {"s@example.org", "user@x.err.test"},
      {"s@example.org", "user@err.test"},
      {"s@example.org", "user@bounce.test"},
      {"s@example.org", "user@retry.test"},
      {"s@example.org", "user@multi.test"},
      {"s@example.org", "user@lmtp.test"},
      {"s@example.org", "user@mx.example.test"},
      {"s@example.org", "user@localhost"},
      {"s@example.org", "user@localhost.example.test"},
      {"s@example.org", "user"},
      {"s@example.org", ""},
      {"s@example.org", "user@[127.0.0.1]"},
      {"s@example.org", "user@[192.0.2.99]"},
      {"s@example.org", "user@relay.test"},
      {"s@example.org", "user@deep.sub.relay.test"},
      {"s@example.org", "user@relaytable.test"},
      {"s@example.org", "user@sub.relay.test"},
      {"s@example.org", "user@alias.test"},
      {"s@example.org", "user@mailbox.test"},
      {"s@example.org", "user@elsewhere.test"},
      {"s@example.org", "user@elsewhere.test."},
      {"s@example.org", "user%elsewhere.test@localhost"},
      {"s@example.org", "elsewhere.test!user@localhost"},
      {"s@example.org", "user@elsewhere.test@localhost"},
      {"s@example.org", "user%relay.test"},
      {"s@example.org", "user%other.test@relay.test"},
      {"s@example.org", "a!b!user@localhost"},
      {"s@example.org", "old@relay.test"},
      {"s@example.org", "old+ext@relay.test"},
      {"s@example.org", "anyone@gone.relay.test"},
      {"s@example.org", "user@-bad-.test"},
      {"s@example.org", "user@123.456"},
      {"s@example.org", "-option@elsewhere.test"},
      {"boss@corp.test", "user@elsewhere.test"},
      {"dunno@corp.test", "user@elsewhere.test"},
      {"", "user@elsewhere.test"},
      {"a@lmtp-sender.test", "user@elsewhere.test"},
      {"a@slow-sender.test", "user@elsewhere.test"},
      {"a@lmtp-sender.test", "user@relay.test"},
  };
  for (const auto& [sender, recipient] : kCases) {
    SCOPED_TRACE(fmt::format("sender <{}> recipient <{}>", sender, recipient));
    PostfixReply postfix = AskPostfix(sender, recipient);
    auto ours = fixture_->resolver().Resolve(sender, recipient);
    ASSERT_TRUE(ours) << ours.error().ToString();
    EXPECT_EQ(ours->recipient, postfix.recipient);
    EXPECT_EQ(ours->bad_address, (postfix.flags & (1 << 2)) != 0) << postfix.flags;
    // With a bad address trivial-rewrite stops before choosing a transport ("CHANNEL NOT
    // UPDATED"); the queue manager bounces it, as ours does through Resolution::failure.
    if (ours->bad_address) continue;
    EXPECT_EQ(ours->transport, postfix.transport);
    EXPECT_EQ(ours->nexthop, postfix.nexthop);
    EXPECT_EQ(ClassFlag(ours->address_class), postfix.flags & 0x1f00) << postfix.flags;
    EXPECT_EQ(ours->routed, (postfix.flags & (1 << 1)) != 0) << postfix.flags;
  }
}

}  // namespace
}  // namespace moat::mta
