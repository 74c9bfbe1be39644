// dns_resolver_test.cc - core::DnsResolver against a real dnsmasq on a free loopback port, a UDP
// socket that never answers (timeouts) and a tiny responder that answers SERVFAIL.
#include "core/dns_resolver.h"

#include <gtest/gtest.h>

#include <asio.hpp>
#include <optional>
#include <thread>

#include "tests/support/dnsmasq_server.h"

namespace moat::core {
namespace {

using testing::DnsmasqServer;

template <typename T>
T RunTask(asio::io_context& io, asio::awaitable<T> task) {
  std::optional<T> out;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    if (e) std::rethrow_exception(e);
    out.emplace(std::move(value));
  });
  // Only until this task is done: c-ares may still be retrying a query whose deadline answered.
  io.restart();
  while (!out.has_value() && io.run_one() > 0) {
  }
  EXPECT_TRUE(out.has_value());
  return std::move(*out);
}

class DnsResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string long_text(1500, 'x');
    server_ = DnsmasqServer::Start(
        {"test"}, {"--txt-record=a.test,v=DKIM1; k=rsa; ,p=abc",
                   testing::DnsmasqTxtRecord("long.test", long_text),
                   "--mx-host=m.test,mx2.test,20", "--mx-host=m.test,mx1.test,10",
                   "--mx-host=m.test,mx0.test,5", "--host-record=h.test,192.0.2.1,2001:db8::1"});
    ASSERT_TRUE(server_);
  }

  std::unique_ptr<DnsResolver> MakeResolver(std::vector<std::string> servers,
                                            std::chrono::milliseconds timeout =
                                                std::chrono::milliseconds(5000)) {
    DnsResolverOptions options;
    options.servers = std::move(servers);
    options.query_timeout = timeout;
    auto resolver = DnsResolver::Create(io_.get_executor(), options);
    EXPECT_TRUE(resolver) << resolver.error().ToString();
    return resolver ? std::move(*resolver) : nullptr;
  }

  asio::io_context io_;
  std::unique_ptr<DnsmasqServer> server_;
};

TEST_F(DnsResolverTest, TxtRecordKeepsItsStringsAndTtl) {
  auto resolver = MakeResolver({server_->address()});
  auto answer = RunTask(io_, resolver->LookupTxt("a.test"));
  ASSERT_TRUE(answer) << answer.error().ToString();
  ASSERT_TRUE(answer->found());
  ASSERT_EQ(answer->records.size(), 1u);
  EXPECT_EQ(answer->records[0].strings, (std::vector<std::string>{"v=DKIM1; k=rsa; ", "p=abc"}));
  EXPECT_EQ(answer->records[0].Joined(), "v=DKIM1; k=rsa; p=abc");
  EXPECT_EQ(answer->records[0].ttl, static_cast<uint32_t>(DnsmasqServer::kTtl));
  EXPECT_EQ(answer->MinTtl(), static_cast<uint32_t>(DnsmasqServer::kTtl));
}

TEST_F(DnsResolverTest, TxtRecordLargerThanAUdpAnswer) {
  auto resolver = MakeResolver({server_->address()});
  auto answer = RunTask(io_, resolver->LookupTxt("long.test."));
  ASSERT_TRUE(answer) << answer.error().ToString();
  ASSERT_TRUE(answer->found());
  EXPECT_EQ(answer->records[0].Joined(), std::string(1500, 'x'));
  EXPECT_EQ(answer->records[0].strings.size(), 6u);
}

TEST_F(DnsResolverTest, AddressRecords) {
  auto resolver = MakeResolver({server_->address()});
  auto a = RunTask(io_, resolver->LookupA("h.test"));
  ASSERT_TRUE(a) << a.error().ToString();
  ASSERT_EQ(a->records.size(), 1u);
  EXPECT_EQ(a->records[0].address.to_string(), "192.0.2.1");
  EXPECT_EQ(a->records[0].ttl, static_cast<uint32_t>(DnsmasqServer::kTtl));
  auto aaaa = RunTask(io_, resolver->LookupAaaa("h.test"));
  ASSERT_TRUE(aaaa) << aaaa.error().ToString();
  ASSERT_EQ(aaaa->records.size(), 1u);
  EXPECT_EQ(aaaa->records[0].address.to_string(), "2001:db8::1");
}

TEST_F(DnsResolverTest, MxSortedByPreference) {
  auto resolver = MakeResolver({server_->address()});
  auto mx = RunTask(io_, resolver->LookupMx("m.test"));
  ASSERT_TRUE(mx) << mx.error().ToString();
  ASSERT_EQ(mx->records.size(), 3u);
  EXPECT_EQ(mx->records[0].exchange, "mx0.test");
  EXPECT_EQ(mx->records[0].preference, 5);
  EXPECT_EQ(mx->records[1].exchange, "mx1.test");
  EXPECT_EQ(mx->records[2].exchange, "mx2.test");
  EXPECT_EQ(mx->records[2].preference, 20);
}

TEST_F(DnsResolverTest, PtrRecord) {
  auto resolver = MakeResolver({server_->address()});
  auto ptr = RunTask(io_, resolver->LookupPtr(asio::ip::make_address("192.0.2.1")));
  ASSERT_TRUE(ptr) << ptr.error().ToString();
  ASSERT_EQ(ptr->records.size(), 1u);
  EXPECT_EQ(ptr->records[0].name, "h.test");
}

TEST_F(DnsResolverTest, NxDomainAndNoDataAreOutcomesNotErrors) {
  auto resolver = MakeResolver({server_->address()});
  auto nx = RunTask(io_, resolver->LookupTxt("nothing.test"));
  ASSERT_TRUE(nx) << nx.error().ToString();
  EXPECT_EQ(nx->outcome, DnsOutcome::kNxDomain);
  EXPECT_TRUE(nx->records.empty());
  auto nodata = RunTask(io_, resolver->LookupMx("a.test"));
  ASSERT_TRUE(nodata) << nodata.error().ToString();
  EXPECT_EQ(nodata->outcome, DnsOutcome::kNoData);
  EXPECT_EQ(DnsOutcomeName(nodata->outcome), "NODATA");
}

TEST_F(DnsResolverTest, RefusedIsTemporary) {
  auto resolver = MakeResolver({server_->address()});
  auto refused = RunTask(io_, resolver->LookupTxt("example.org"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kTempFail);
  EXPECT_NE(refused.error().message().find("SERVFAIL or REFUSED"), std::string::npos)
      << refused.error().message();
}

TEST_F(DnsResolverTest, MalformedNameIsPermanent) {
  auto resolver = MakeResolver({server_->address()});
  auto bad = RunTask(io_, resolver->LookupTxt("a..test"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kPermFail);
  auto long_label = RunTask(io_, resolver->LookupTxt(std::string(64, 'a') + ".test"));
  ASSERT_FALSE(long_label);
  EXPECT_EQ(long_label.error().code(), ErrorCode::kPermFail);
}

TEST_F(DnsResolverTest, ManyConcurrentLookups) {
  auto resolver = MakeResolver({server_->address()});
  int found = 0, nx = 0;
  for (int i = 0; i < 40; ++i) {
    asio::co_spawn(io_, resolver->LookupTxt(i % 2 ? "a.test" : fmt::format("n{}.test", i)),
                   [&](std::exception_ptr, Result<DnsAnswer<TxtRecord>> answer) {
                     ASSERT_TRUE(answer);
                     (answer->found() ? found : nx)++;
                   });
  }
  io_.run();
  EXPECT_EQ(found, 20);
  EXPECT_EQ(nx, 20);
}

// A server that never answers: the per-query deadline answers kTempFail "timeout".
TEST_F(DnsResolverTest, SilentServerTimesOut) {
  asio::ip::udp::socket silent(io_, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto port = silent.local_endpoint().port();
  auto resolver = MakeResolver({fmt::format("127.0.0.1:{}", port)}, std::chrono::milliseconds(300));
  auto answer = RunTask(io_, resolver->LookupTxt("s._domainkey.example.test"));
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code(), ErrorCode::kTempFail);
  EXPECT_NE(answer.error().message().find("timeout"), std::string::npos);
  // The per-call override works the same way.
  auto again = RunTask(io_, resolver->LookupA("x.example.test", std::chrono::milliseconds(100)));
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().temporary());
}

// Answers every query with SERVFAIL, from its own thread.
class ServfailServer {
 public:
  ServfailServer() : socket_(io_, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    Receive();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ServfailServer() {
    io_.stop();
    thread_.join();
  }
  int port() const { return socket_.local_endpoint().port(); }

 private:
  void Receive() {
    socket_.async_receive_from(asio::buffer(buffer_), peer_, [this](std::error_code ec, size_t n) {
      if (ec) return;
      if (n >= 12) {
        buffer_[2] |= 0x80;                          // QR: a response
        buffer_[3] = static_cast<char>(0x80 | 2);    // RA, RCODE 2 = SERVFAIL
        socket_.send_to(asio::buffer(buffer_, n), peer_);
      }
      Receive();
    });
  }
  asio::io_context io_;
  asio::ip::udp::socket socket_;
  asio::ip::udp::endpoint peer_;
  std::array<char, 1500> buffer_{};
  std::thread thread_;
};

TEST_F(DnsResolverTest, ServfailIsTemporary) {
  ServfailServer servfail;
  auto resolver = MakeResolver({fmt::format("127.0.0.1:{}", servfail.port())});
  auto answer = RunTask(io_, resolver->LookupTxt("s._domainkey.example.test"));
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code(), ErrorCode::kTempFail);
  EXPECT_NE(answer.error().message().find("SERVFAIL or REFUSED"), std::string::npos)
      << answer.error().message();
}

TEST_F(DnsResolverTest, FallsBackToTheNextServer) {
  ServfailServer servfail;
  auto resolver =
      MakeResolver({fmt::format("127.0.0.1:{}", servfail.port()), server_->address()});
  auto answer = RunTask(io_, resolver->LookupTxt("a.test"));
  ASSERT_TRUE(answer) << answer.error().ToString();
  EXPECT_TRUE(answer->found());
}

TEST_F(DnsResolverTest, DestroyingTheResolverCompletesPendingLookups) {
  asio::ip::udp::socket silent(io_, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto resolver = MakeResolver({fmt::format("127.0.0.1:{}", silent.local_endpoint().port())});
  std::optional<Result<DnsAnswer<TxtRecord>>> out;
  asio::co_spawn(io_, resolver->LookupTxt("a.test"),
                 [&](std::exception_ptr, Result<DnsAnswer<TxtRecord>> answer) { out = answer; });
  io_.poll();  // the query is sent
  resolver.reset();
  io_.run();
  ASSERT_TRUE(out.has_value());
  ASSERT_FALSE(*out);
  EXPECT_EQ(out->error().code(), ErrorCode::kTempFail);
  EXPECT_NE(out->error().message().find("shut down"), std::string::npos);
}

TEST(DnsServersTest, ParsesHostPortLists) {
  auto servers = ParseDnsServers("127.0.0.1:5353, [::1]:53 192.0.2.1,::1");
  ASSERT_TRUE(servers) << servers.error().ToString();
  EXPECT_EQ(*servers, (std::vector<std::string>{"127.0.0.1:5353", "[::1]:53", "192.0.2.1:53",
                                                "[::1]:53"}));
  EXPECT_FALSE(ParseDnsServers("ns.example.com:53"));
  EXPECT_FALSE(ParseDnsServers("127.0.0.1:0"));
  EXPECT_FALSE(ParseDnsServers("127.0.0.1:70000"));
  EXPECT_FALSE(ParseDnsServers("[::1:53"));
  EXPECT_EQ(ParseDnsServers("127.0.0.1:x").error().code(), ErrorCode::kInvalid);
  asio::io_context io;
  DnsResolverOptions options;
  options.servers = {"not-an-ip:53"};
  auto resolver = DnsResolver::Create(io.get_executor(), options);
  ASSERT_FALSE(resolver);
  EXPECT_EQ(resolver.error().code(), ErrorCode::kInvalid);
}

TEST(DnsServersTest, ReverseNames) {
  EXPECT_EQ(ReverseLookupName(asio::ip::make_address("192.0.2.1")), "1.2.0.192.in-addr.arpa");
  EXPECT_EQ(ReverseLookupName(asio::ip::make_address("2001:db8::1")),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

}  // namespace
}  // namespace moat::core
