// scanners_bench - decomposition and ClamAV scanning speed over a set of messages.
//
// The set: every message of the shared MIME corpora (Stalwart, mime4j, MimeKit, gmime,
// Email::MIME, nodemailer) plus generated archive messages (EICAR and clam.exe in zip, 7z,
// tar.gz, cab, nested; clean zips of text; each file of clamav-testfiles attached). Benchmarks:
//
//   BM_Decompose              MIME + archives + file types (Decomposer), one worker
//   BM_DecomposeAndScan       ... plus the ClamAV pass over the leaves and the raw message
//   BM_ClamavWholeMessage     ClamAV alone on each raw message with its own MIME and archive
//                             parsing (what clamd/clamscan do with a mail file), for comparison
//
// Each reports bytes_per_second (raw message bytes) and items_per_second (messages).
//
//   scanners_bench [--export-corpus=DIR] [benchmark flags]
//     --export-corpus=DIR  writes the message set to DIR/messages/ and the ClamAV database used
//                          to DIR/db/, then runs the benchmarks
//                          (tests/bench/scanners_vs_clamscan.sh runs clamscan over the same files).
// Environment: MOAT_BENCH_CLAMAV_DB=dir uses that database (e.g. /var/lib/clamav) instead of the
// small one built with sigtool; MOAT_SHARED_CORPUS=dir points at the shared corpora.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "scanners/clamav_engine.h"
#include "scanners/decomposer.h"
#include "scanners/virus_scan.h"
#include "tests/support/test_support.h"

namespace {

using moat::scanners::ClamavEngine;
using moat::scanners::ClamavOptions;
using moat::scanners::ClamavScanMode;
using moat::scanners::Decomposer;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const std::string& path, std::string_view data) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary)
      .write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::string Sh(const std::string& script, const std::string& cwd) {
  moat::testing::CommandOptions options;
  options.cwd = cwd;
  auto result = moat::testing::RunCommand({"/bin/sh", "-ec", script}, options);
  if (result.exit_code != 0) {
    std::cerr << "bench setup failed: " << script << "\n" << result.err;
    std::exit(1);
  }
  return result.out;
}

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
    if ((i / 3 + 1) % 19 == 0) out += "\r\n";
  }
  return out + "\r\n";
}

std::string MessageWith(const std::string& name, const std::string& bytes) {
  return "From: bench@example.org\r\nTo: rcpt@example.net\r\nSubject: " + name +
         "\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
         "--b\r\nContent-Type: text/plain\r\n\r\nSee attachment.\r\n"
         "--b\r\nContent-Type: application/octet-stream; name=\"" +
         name + "\"\r\nContent-Disposition: attachment; filename=\"" + name +
         "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + Base64(bytes) + "--b--\r\n";
}

struct Corpus {
  std::vector<std::string> messages;
  uint64_t bytes = 0;
  std::string database;
  std::unique_ptr<moat::testing::TempDir> scratch;
};

std::optional<std::string> SharedCorpus() {
  std::vector<std::string> roots;
  if (const char* env = std::getenv("MOAT_SHARED_CORPUS")) roots.push_back(env);
  roots.push_back(moat::testing::SourcePath("../shared/corpus"));
  roots.push_back("/work/shared/corpus");
  for (const std::string& root : roots) {
    if (std::filesystem::exists(root + "/mime")) return root;
  }
  return std::nullopt;
}

std::string g_export_dir;

Corpus& TheCorpus() {
  static Corpus corpus = [] {
    Corpus c;
    c.scratch = std::make_unique<moat::testing::TempDir>();
    const std::string work = c.scratch->path();
    if (auto root = SharedCorpus()) {
      std::vector<std::string> files;
      for (const auto& e : std::filesystem::recursive_directory_iterator(*root + "/mime")) {
        std::string ext = e.path().extension().string();
        if (!e.is_regular_file() || e.path().string().find("_decoded") != std::string::npos)
          continue;
        if (ext == ".eml" || ext == ".msg" || ext == ".txt" || ext == ".mbox" || ext.empty()) {
          files.push_back(e.path().string());
        }
      }
      std::sort(files.begin(), files.end());
      for (const std::string& f : files) c.messages.push_back(ReadFile(f));
    }
    // Generated archive messages (as in ../shared/tools/generate-av-corpus.sh, without bombs).
    std::ofstream(work + "/eicar.com", std::ios::binary)
        << "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
    Sh("cp /usr/share/clamav-testfiles/clam.exe . && "
       "head -c 300000 /dev/urandom | base64 > report.txt && "
       "zip -q -X eicar.zip eicar.com && 7z a -bd -bso0 eicar.7z eicar.com && "
       "tar -czf eicar.tar.gz eicar.com && gcab -c -z eicar.cab eicar.com && "
       "zip -q -X clean.zip report.txt && tar -cJf clean.tar.xz report.txt && "
       "zip -q -X mixed.zip report.txt eicar.com clam.exe && "
       "cp eicar.com l0.com && zip -q -X n1.zip l0.com && 7z a -bd -bso0 n2.7z n1.zip && "
       "tar -czf n3.tar.gz n2.7z && zip -q -X nested.zip n3.tar.gz",
       work);
    for (const char* f : {"eicar.zip", "eicar.7z", "eicar.tar.gz", "eicar.cab", "clean.zip",
                          "clean.tar.xz", "mixed.zip", "nested.zip", "clam.exe", "report.txt"}) {
      c.messages.push_back(MessageWith(f, ReadFile(work + "/" + f)));
    }
    for (const auto& e : std::filesystem::directory_iterator("/usr/share/clamav-testfiles")) {
      c.messages.push_back(MessageWith(e.path().filename().string(), ReadFile(e.path().string())));
    }
    for (const std::string& m : c.messages) c.bytes += m.size();
    if (const char* db = std::getenv("MOAT_BENCH_CLAMAV_DB")) {
      c.database = db;
    } else {
      c.database = work + "/db";
      Sh("mkdir -p db && { sigtool --md5 eicar.com; sigtool --md5 clam.exe; } > db/test.hdb && "
         "{ sigtool --sha256 eicar.com; sigtool --sha256 clam.exe; } > db/test.hsb && "
         "printf 'Eicar-Test-Signature.NDB:0:*:%s\\nClamAV-Test-File.NDB:0:*:%s\\n' "
         "\"$(sigtool --hex-dump < eicar.com)\" \"$(printf CLAMessageBoxA | sigtool --hex-dump)\" "
         "> db/test.ndb",
         work);
    }
    if (!g_export_dir.empty()) {
      for (size_t i = 0; i < c.messages.size(); ++i) {
        WriteFile(g_export_dir + "/messages/" + std::to_string(10000 + i) + ".eml", c.messages[i]);
      }
      Sh("rm -rf '" + g_export_dir + "/db' && cp -r '" + c.database + "' '" + g_export_dir + "/db'",
         work);
    }
    std::cerr << "corpus: " << c.messages.size() << " messages, " << c.bytes << " bytes; "
              << "ClamAV database " << c.database << "\n";
    return c;
  }();
  return corpus;
}

std::shared_ptr<const ClamavEngine> TheEngine() {
  static std::shared_ptr<const ClamavEngine> engine = [] {
    ClamavOptions options;
    options.database_directory = TheCorpus().database;
    options.cache = false;  // every iteration scans the same messages: measure work, not cache
    auto loaded = ClamavEngine::Load(options);
    if (!loaded) {
      std::cerr << loaded.error().ToString() << "\n";
      std::exit(1);
    }
    std::cerr << "ClamAV: " << (*loaded)->info().Describe() << "\n";
    return *loaded;
  }();
  return engine;
}

void Report(benchmark::State& state, const Corpus& corpus) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus.bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * corpus.messages.size()));
}

void BM_Decompose(benchmark::State& state) {
  const Corpus& corpus = TheCorpus();
  auto decomposer = Decomposer::Create();
  for (auto _ : state) {
    for (const std::string& message : corpus.messages) {
      auto tree = decomposer->Decompose(message);
      benchmark::DoNotOptimize(tree);
    }
  }
  Report(state, corpus);
}
BENCHMARK(BM_Decompose)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_DecomposeAndScan(benchmark::State& state) {
  const Corpus& corpus = TheCorpus();
  auto engine = TheEngine();
  auto decomposer = Decomposer::Create();
  size_t infected = 0;
  for (auto _ : state) {
    infected = 0;
    for (const std::string& message : corpus.messages) {
      auto tree = decomposer->Decompose(message);
      auto report = moat::scanners::ScanContentTree(*engine, *tree, message);
      infected += report.infected() ? 1 : 0;
    }
  }
  state.counters["infected_messages"] = static_cast<double>(infected);
  Report(state, corpus);
}
BENCHMARK(BM_DecomposeAndScan)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_ClamavWholeMessage(benchmark::State& state) {
  const Corpus& corpus = TheCorpus();
  auto engine = TheEngine();
  size_t infected = 0;
  for (auto _ : state) {
    infected = 0;
    for (const std::string& message : corpus.messages) {
      auto outcome = engine->Scan(message, "", ClamavScanMode::kRawMessageParsed);
      infected += outcome && outcome->kind == moat::scanners::ClamavScanOutcome::Kind::kInfected;
    }
  }
  state.counters["infected_messages"] = static_cast<double>(infected);
  Report(state, corpus);
}
BENCHMARK(BM_ClamavWholeMessage)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.rfind("--export-corpus=", 0) == 0) {
      g_export_dir = std::string(arg.substr(16));
    } else {
      args.push_back(argv[i]);
    }
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (!g_export_dir.empty()) TheCorpus();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
