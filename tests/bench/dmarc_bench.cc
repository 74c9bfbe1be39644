// dmarc_bench.cc - what DMARC costs moat-filterd per message: the CPU work (author domains,
// trusted Received-SPF, sampling bucket, organisational domains, record parsing, alignment) and
// whole evaluations through the real resolver against a dnsmasq on loopback (one lookup for an
// organisational domain, two for a subdomain without its own record), plus loading Debian's
// Public Suffix List (once per configuration snapshot). items_per_second is the figure to read.
#include <benchmark/benchmark.h>

// clang-format off
#include <optional>
#include <asio.hpp>
// clang-format on

#include "filterd/dmarc_evaluator.h"
#include "tests/support/dnsmasq_server.h"

namespace moat::filterd {
namespace {

const char* kMessage =
    "Received-SPF: pass (mx.moat.test: domain of bounces@mail.bank.example designates "
    "192.0.2.1 as permitted sender)\r\n\tclient-ip=192.0.2.1; "
    "envelope-from=bounces@mail.bank.example;"
    "\r\n\thelo=mail.bank.example; receiver=mx.moat.test; identity=mailfrom\r\n"
    "Received: from mail.bank.example (mail.bank.example [192.0.2.1])\r\n"
    "\tby mx.moat.test (Moat) with ESMTP id 4XyZ1 for <r@moat.test>;\r\n"
    "\tTue, 14 Nov 2023 22:13:20 +0000\r\n"
    "From: \"Bank, Customer Service\" <service@news.bank.example>\r\nTo: r@moat.test\r\n"
    "Subject: Your statement\r\nMessage-ID: <bench-1@bank.example>\r\n\r\nHello.\r\n";

const PublicSuffixList& Suffixes() {
  static auto list = PublicSuffixList::Load(kDefaultPublicSuffixList);
  if (!list) std::abort();
  return **list;
}

void BM_LoadPublicSuffixList(benchmark::State& state) {
  for (auto _ : state) {
    auto list = PublicSuffixList::Load(kDefaultPublicSuffixList);
    benchmark::DoNotOptimize(list);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LoadPublicSuffixList)->Unit(benchmark::kMillisecond);

void BM_OrganizationalDomain(benchmark::State& state) {
  const PublicSuffixList& list = Suffixes();
  for (auto _ : state) {
    benchmark::DoNotOptimize(list.OrganizationalDomain("a.b.mail.example.co.uk"));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OrganizationalDomain);

void BM_ParseDmarcRecord(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        ParseDmarcRecord("v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,"
                         "mailto:tld-test@thirdparty.example.net!10m; pct=25"));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseDmarcRecord);

// Everything the stage does besides DNS: the message's identifiers and the evaluation of a
// found record.
void BM_DmarcCpuPerMessage(benchmark::State& state) {
  const PublicSuffixList& list = Suffixes();
  DmarcDiscovery found;
  found.status = DmarcDiscovery::Status::kFound;
  found.record_domain = "bank.example";
  found.record = *ParseDmarcRecord("v=DMARC1; p=reject; sp=quarantine");
  for (auto _ : state) {
    DmarcInput input;
    input.authors = FindAuthorDomains(kMessage);
    input.spf = TrustedSpfResults(kMessage).mail_from;
    input.sample_bucket = DmarcSampleBucket(kMessage);
    DmarcOutcome outcome = EvaluateDomain(found, input.authors.domains.front(), input, list);
    benchmark::DoNotOptimize(outcome);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DmarcCpuPerMessage);

asio::awaitable<void> EvaluateBatch(core::DnsResolver* resolver, const DmarcInput* input, int n,
                                    int* passed) {
  for (int i = 0; i < n; ++i) {
    DmarcOutcome outcome = co_await EvaluateDmarc(*resolver, Suffixes(), *input);
    *passed += outcome.result == DmarcResult::kPass;
  }
}

// Whole evaluations, one after another (as one LMTP session would), against dnsmasq on
// loopback. Arg 0: the From domain has its own record (one lookup); 1: a subdomain without one
// (two lookups).
void BM_EvaluateDmarcWithDnsmasq(benchmark::State& state) {
  auto dns = testing::DnsmasqServer::Start(
      {"bank.example"},
      {testing::DnsmasqTxtRecord("_dmarc.bank.example", "v=DMARC1; p=reject; sp=quarantine")});
  if (!dns) std::abort();
  asio::io_context io;
  core::DnsResolverOptions options;
  options.servers = {dns->address()};
  auto resolver = core::DnsResolver::Create(io.get_executor(), options);
  if (!resolver) std::abort();
  DmarcInput input;
  std::string from = state.range(0) == 0 ? "service@bank.example" : "service@news.bank.example";
  input.authors = FindAuthorDomains("From: " + from + "\r\n\r\n");
  input.spf = TrustedSpfResults(kMessage).mail_from;
  int passed = 0;
  constexpr int kBatch = 100;
  for (auto _ : state) {
    asio::co_spawn(io, EvaluateBatch(resolver->get(), &input, kBatch, &passed), asio::detached);
    io.restart();
    io.run();
  }
  if (passed != static_cast<int>(state.iterations()) * kBatch) state.SkipWithError("not pass");
  state.SetItemsProcessed(state.iterations() * kBatch);
  resolver->reset();
}
BENCHMARK(BM_EvaluateDmarcWithDnsmasq)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// What a resolver costs to make: moat-filterd's DaemonContent makes one per message with the
// plain NewDnsResolverProvider(), which the DMARC stage now asks for on every inbound message.
void BM_CreateResolver(benchmark::State& state) {
  asio::io_context io;
  core::DnsResolverOptions options;
  options.servers = {"127.0.0.1:53"};
  for (auto _ : state) {
    auto resolver = core::DnsResolver::Create(io.get_executor(), options);
    if (!resolver) std::abort();
    resolver->reset();
    io.poll();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CreateResolver);

}  // namespace
}  // namespace moat::filterd

BENCHMARK_MAIN();
