// dkim_bench.cc - DKIM signatures and verifications per second, rsa-2048 and ed25519,
// relaxed/relaxed, verification with a pre-fetched key (no DNS).
//
// The message is DKIM_BENCH_MESSAGE when set (tests/bench/dkim_vs_dkimpy.sh passes the same files
// to dkimpy), else a generated 3 KB text message. Keys: DKIM_BENCH_RSA_KEY / DKIM_BENCH_ED_KEY
// (PEM) when set, else generated at start-up. items_per_second is the figure to read.
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "filterd/dkim_signer.h"
#include "filterd/dkim_tags.h"
#include "filterd/dkim_verifier.h"
#include "tests/support/test_support.h"

namespace moat::filterd {
namespace {

constexpr int64_t kNow = 1700000000;

std::string BenchMessage() {
  if (const char* path = std::getenv("DKIM_BENCH_MESSAGE")) return testing::ReadTextFile(path);
  std::string message =
      "From: Alice Example <alice@example.test>\r\nTo: Bob <bob@example.net>\r\n"
      "Subject: Quarterly figures\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
      "Message-ID: <bench-1@example.test>\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
  while (message.size() < 3000) {
    message += "The quick brown fox jumps over the lazy dog;  figures   follow below.\r\n";
  }
  return message;
}

DkimPrivateKey BenchKey(DkimKeyType type) {
  const char* path = std::getenv(type == DkimKeyType::kRsa ? "DKIM_BENCH_RSA_KEY" : "DKIM_BENCH_ED_KEY");
  auto key = path ? DkimPrivateKey::LoadFile(path) : DkimPrivateKey::Generate(type, 2048);
  if (!key) std::abort();
  return *key;
}

const std::string& Message() {
  static const std::string message = BenchMessage();
  return message;
}

const DkimSigningKey& Key(DkimKeyType type) {
  static const DkimSigningKey rsa{"example.test", "rsa", BenchKey(DkimKeyType::kRsa)};
  static const DkimSigningKey ed{"example.test", "ed", BenchKey(DkimKeyType::kEd25519)};
  return type == DkimKeyType::kRsa ? rsa : ed;
}

void Sign(benchmark::State& state, DkimKeyType type) {
  const DkimSigningKey& key = Key(type);
  for (auto _ : state) {
    auto field = SignDkim(Message(), key, kNow);
    if (!field) state.SkipWithError("sign failed");
    benchmark::DoNotOptimize(field);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(Message().size()));
}

void Verify(benchmark::State& state, DkimKeyType type) {
  const DkimSigningKey& key = Key(type);
  std::string message = *SignDkim(Message(), key, kNow) + Message();
  DkimKeyAnswer answer;
  answer.status = DkimKeyAnswer::Status::kFound;
  answer.records = {"v=DKIM1; k=" + std::string(DkimKeyTypeName(type)) +
                    "; p=" + EncodeBase64(*key.key.PublicKeyData())};
  for (auto _ : state) {
    DkimVerifier verifier(message);
    auto result = verifier.Finish(0, answer, kNow);
    if (result.result != DkimResult::kPass) state.SkipWithError("verify failed");
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(message.size()));
}

BENCHMARK_CAPTURE(Sign, rsa2048, DkimKeyType::kRsa);
BENCHMARK_CAPTURE(Sign, ed25519, DkimKeyType::kEd25519);
BENCHMARK_CAPTURE(Verify, rsa2048, DkimKeyType::kRsa);
BENCHMARK_CAPTURE(Verify, ed25519, DkimKeyType::kEd25519);

}  // namespace
}  // namespace moat::filterd

BENCHMARK_MAIN();
