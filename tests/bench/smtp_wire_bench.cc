// smtp_wire_bench.cc - speed of the SMTP/LMTP wire protocol: the DATA codec, command parsing,
// and whole transactions over loopback (our client -> our server, Postfix's smtp-source -> our
// server, our client -> Postfix's smtp-sink), at 1, 10 and 50 concurrent sessions with 3 KB and
// 60 KB messages. The server's handler accepts everything and keeps nothing, so the figures are
// the protocol's own cost.
//
//   ninja -C build smtp_wire_bench && ./build/bench/smtp_wire_bench
#include <benchmark/benchmark.h>
#include <sys/stat.h>

#include <asio.hpp>
#include <cstring>
#include <future>
#include <thread>

#include "core/smtp_client.h"
#include "core/smtp_command.h"
#include "core/smtp_data_reader.h"
#include "core/smtp_listener.h"
#include "tests/support/test_support.h"

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::core {
namespace {

std::string MakeMessage(std::size_t size) {
  std::string message = "From: bench@example.com\r\nTo: sink@example.org\r\nSubject: bench\r\n\r\n";
  std::size_t line = 0;
  while (message.size() < size) {
    message += (line++ % 17 == 0) ? ".dotted line that needs stuffing" : std::string(74, 'x');
    message += "\r\n";
  }
  return message;
}

void BM_DataReaderDecode(benchmark::State& state) {
  std::string message = MakeMessage(static_cast<std::size_t>(state.range(0)));
  SmtpDotStuffer stuffer;
  std::string wire;
  stuffer.Encode(message, wire);
  stuffer.Finish(wire);
  SmtpInputBuffer input(wire.size() + 16);
  SmtpDataReader reader;
  std::string out;
  out.reserve(message.size());
  for (auto _ : state) {
    input.Clear();
    std::span<char> space = input.PrepareRead();
    std::memcpy(space.data(), wire.data(), wire.size());
    input.CommitRead(wire.size());
    reader.Reset(0);
    out.clear();
    bool done = reader.Consume(input, out);
    benchmark::DoNotOptimize(done);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * wire.size()));
}
BENCHMARK(BM_DataReaderDecode)->Arg(3 * 1024)->Arg(60 * 1024);

void BM_DotStufferEncode(benchmark::State& state) {
  std::string message = MakeMessage(static_cast<std::size_t>(state.range(0)));
  SmtpDotStuffer stuffer;
  std::string wire;
  for (auto _ : state) {
    wire.clear();
    stuffer.Encode(message, wire);
    stuffer.Finish(wire);
    benchmark::DoNotOptimize(wire.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * message.size()));
}
BENCHMARK(BM_DotStufferEncode)->Arg(3 * 1024)->Arg(60 * 1024);

void BM_ParseMailAndRcpt(benchmark::State& state) {
  SmtpExtensionSet offered;
  const std::string mail =
      "FROM:<bounce+tag@example.com> SIZE=3072 BODY=8BITMIME RET=HDRS ENVID=QID1";
  const std::string rcpt =
      "TO:<user@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;user@example.org";
  for (auto _ : state) {
    auto m = ParseMailArguments(mail, offered);
    auto r = ParseRcptArguments(rcpt, offered);
    benchmark::DoNotOptimize(m);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 2));
}
BENCHMARK(BM_ParseMailAndRcpt);

class AcceptAllHandler : public SmtpHandler {
 public:
  asio::awaitable<std::vector<SmtpReply>> OnMessage(const SmtpSessionInfo&,
                                                    const SmtpEnvelope& envelope,
                                                    std::string&) override {
    co_return std::vector<SmtpReply>(envelope.recipients.size(),
                                     SmtpReply(250, "2.0.0", "Ok: queued"));
  }
};

// An io_context on two threads (the machine's cores) with our server on a loopback port.
class LoopbackServer {
 public:
  explicit LoopbackServer(SmtpMode mode) : guard_(asio::make_work_guard(io_)) {
    auto options = std::make_shared<SmtpServerOptions>();
    options->mode = mode;
    options->message_size_limit = 0;
    SmtpListenerOptions listener_options;
    listener_options.max_sessions = 1000;
    listener_ = std::make_unique<SmtpListener>(io_.get_executor(), options, listener_options,
                                               [] { return std::make_unique<AcceptAllHandler>(); });
    if (!listener_->Listen(*ParseSmtpEndpoint("127.0.0.1:0"))) std::abort();
    listener_->Start();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~LoopbackServer() {
    asio::co_spawn(io_, listener_->Stop(std::chrono::seconds(5)), asio::use_future).get();
    guard_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
  }
  asio::io_context& io() { return io_; }
  int port() const { return listener_->local_addresses().front().port; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::unique_ptr<SmtpListener> listener_;
  std::vector<std::thread> threads_;
};

// A coroutine function, not a lambda: its arguments live in the coroutine frame.
asio::awaitable<void> SendMany(SmtpClient* client, const SmtpTransaction* tx,
                               std::atomic<int>* failures, int count) {
  for (int i = 0; i < count; ++i) {
    SmtpDeliveryResult result = co_await client->Send(*tx);
    if (result.delivered() != 1 && failures->fetch_add(1) == 0) {
      std::fprintf(stderr, "first failure: %s\n", result.replies[0].ToString().c_str());
    }
  }
}

// Sends `per_session` messages on each of `sessions` connections at once.
void RunClients(asio::io_context& io, const SmtpEndpoint& peer, SmtpMode mode, int sessions,
                int per_session, const std::string& message, benchmark::State& state) {
  SmtpClientOptions options;
  options.mode = mode;
  std::vector<std::unique_ptr<SmtpClient>> clients;
  for (int i = 0; i < sessions; ++i) {
    clients.push_back(std::make_unique<SmtpClient>(asio::make_strand(io), options));
    auto reply = asio::co_spawn(io, clients.back()->Connect(peer), asio::use_future).get();
    if (!reply.positive()) {
      state.SkipWithError(reply.ToString().c_str());
      return;
    }
  }
  SmtpTransaction tx;
  tx.mail.sender = "bench@example.com";
  tx.recipients = {{"sink@example.org", 0, "", ""}};
  tx.message = message;
  std::atomic<int> failures{0};
  for (auto _ : state) {
    std::vector<std::future<void>> done;
    for (auto& client : clients) {
      done.push_back(asio::co_spawn(io, SendMany(client.get(), &tx, &failures, per_session),
                                    asio::use_future));
    }
    for (auto& f : done) f.get();
  }
  for (auto& client : clients) asio::co_spawn(io, client->Quit(), asio::use_future).get();
  if (failures.load() > 0) state.SkipWithError("some messages were not delivered");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * sessions * per_session);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * sessions * per_session *
                          static_cast<int64_t>(message.size()));
}

void BM_LoopbackMessages(benchmark::State& state, SmtpMode mode) {
  int sessions = static_cast<int>(state.range(0));
  std::string message = MakeMessage(static_cast<std::size_t>(state.range(1)));
  LoopbackServer server(mode);
  SmtpEndpoint peer = *ParseSmtpEndpoint("127.0.0.1:" + std::to_string(server.port()));
  RunClients(server.io(), peer, mode, sessions, std::max(1, 200 / sessions), message, state);
}

void LoopbackArgs(benchmark::internal::Benchmark* b) {
  for (int sessions : {1, 10, 50}) {
    for (int size : {3 * 1024, 60 * 1024}) b->Args({sessions, size});
  }
  b->ArgNames({"sessions", "bytes"})->UseRealTime()->Unit(benchmark::kMillisecond);
}
BENCHMARK_CAPTURE(BM_LoopbackMessages, smtp, SmtpMode::kSmtp)->Apply(LoopbackArgs);
BENCHMARK_CAPTURE(BM_LoopbackMessages, lmtp, SmtpMode::kLmtp)->Apply(LoopbackArgs);

// Postfix's smtp-source against our server: each iteration sends 2000 messages over `sessions`
// parallel sessions, a new connection per message (smtp-source's default, "new") or all messages
// of a session on one connection ("reuse", smtp-source -d).
void BM_SmtpSourceToServer(benchmark::State& state, bool reuse) {
  int sessions = static_cast<int>(state.range(0));
  int size = static_cast<int>(state.range(1));
  constexpr int kMessages = 2000;
  LoopbackServer server(SmtpMode::kSmtp);
  for (auto _ : state) {
    std::vector<std::string> argv = {
        "smtp-source",        "-s", std::to_string(sessions), "-m", std::to_string(kMessages), "-l",
        std::to_string(size), "-f", "bench@example.com",      "-t", "sink@example.org"};
    if (reuse) argv.push_back("-d");
    argv.push_back("127.0.0.1:" + std::to_string(server.port()));
    auto result = moat::testing::RunCommand(argv);
    if (result.exit_code != 0) state.SkipWithError(result.err.c_str());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kMessages);
}
BENCHMARK_CAPTURE(BM_SmtpSourceToServer, new, false)->Apply(LoopbackArgs);
BENCHMARK_CAPTURE(BM_SmtpSourceToServer, reuse, true)->Apply(LoopbackArgs);

// Our client against Postfix's smtp-sink (no dumping).
void BM_ClientToSmtpSink(benchmark::State& state) {
  int sessions = static_cast<int>(state.range(0));
  std::string message = MakeMessage(static_cast<std::size_t>(state.range(1)));
  moat::testing::TempDir dir;
  int port = moat::testing::FreeTcpPort();
  moat::testing::Subprocess sink(
      {"smtp-sink", "-u", "nobody", "127.0.0.1:" + std::to_string(port), "256"}, dir.path());
  if (!moat::testing::WaitForTcpPort(port)) {
    state.SkipWithError("smtp-sink did not start");
    return;
  }
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&io] { io.run(); });
  RunClients(io, *ParseSmtpEndpoint("127.0.0.1:" + std::to_string(port)), SmtpMode::kSmtp, sessions,
             std::max(1, 200 / sessions), message, state);
  guard.reset();
  io.stop();
  for (auto& t : threads) t.join();
}
BENCHMARK(BM_ClientToSmtpSink)->Apply(LoopbackArgs);

}  // namespace
}  // namespace moat::core

BENCHMARK_MAIN();
