// dkim_command.cc - `moat dkim keygen` and `moat dkim check`.
//
//   moat dkim keygen --domain D --selector S [--algorithm rsa|ed25519] [--bits N] --out FILE
//       Writes a new private key (PKCS#8 PEM, mode 0600; an existing FILE is refused without
//       --force) and prints the DNS TXT record to publish, in zone-file syntax with strings of at
//       most 255 characters:  S._domainkey.D IN TXT ( "v=DKIM1; k=rsa; " "p=..." )
//   moat dkim check --domain D --selector S [--key FILE] [--dns HOST:PORT,...]
//       Looks the record up (nameservers from --dns, else `-o dns_servers=...`, else
//       /etc/resolv.conf), checks that it parses as a DKIM key record, and with --key that it
//       publishes that private key's public half. Exit 0 when all is well, 1 otherwise.
// Standard headers first: asio's config.hpp decides between aligned_alloc and operator new by
// a libstdc++ macro, and a TU that includes asio before any std header picks differently from
// the others (an ODR clash ASan reports as alloc-dealloc-mismatch).
#include <filesystem>
#include <memory>

#include <CLI/CLI.hpp>
#include <asio.hpp>
#include <fmt/format.h>

#include "cli/command.h"
#include "core/dns_resolver.h"
#include "core/durable_file.h"
#include "filterd/dkim_key.h"
#include "filterd/dkim_signature.h"
#include "filterd/dkim_tags.h"

namespace moat::cli {
namespace {

using filterd::DkimKeyType;

struct KeygenArgs {
  std::string domain;
  std::string selector;
  std::string algorithm = "rsa";
  int bits = 2048;
  std::string out;
  bool force = false;
};

struct CheckArgs {
  std::string domain;
  std::string selector;
  std::string key;
  std::string dns;
};

[[noreturn]] void Exit(int status) { throw CommandExit{status}; }

// The record split into zone-file strings of at most 255 characters.
std::string ZoneRecord(const std::string& selector, const std::string& domain, DkimKeyType type,
                       const std::string& public_base64) {
  std::string out = fmt::format("{}._domainkey.{} IN TXT ( \"v=DKIM1; k={}; \"", selector, domain,
                                filterd::DkimKeyTypeName(type));
  std::string p = "p=" + public_base64;
  for (size_t at = 0; at < p.size(); at += 255) out += fmt::format(" \"{}\"", p.substr(at, 255));
  return out + " )";
}

void RunKeygen(const KeygenArgs& args) {
  DkimKeyType type;
  if (args.algorithm == "rsa") {
    type = DkimKeyType::kRsa;
  } else if (args.algorithm == "ed25519") {
    type = DkimKeyType::kEd25519;
  } else {
    fmt::print(stderr, "moat dkim keygen: --algorithm must be rsa or ed25519\n");
    Exit(2);
  }
  if (!args.force && std::filesystem::exists(args.out)) {
    fmt::print(stderr, "moat dkim keygen: {} exists (use --force to replace it)\n", args.out);
    Exit(1);
  }
  auto key = filterd::DkimPrivateKey::Generate(type, args.bits);
  if (!key) {
    fmt::print(stderr, "moat dkim keygen: {}\n", key.error().message());
    Exit(type == DkimKeyType::kRsa && key.error().code() == core::ErrorCode::kInvalid ? 2 : 1);
  }
  auto pem = key->ToPem();
  auto public_data = key->PublicKeyData();
  if (!pem || !public_data) {
    fmt::print(stderr, "moat dkim keygen: {}\n", (!pem ? pem.error() : public_data.error()).message());
    Exit(1);
  }
  if (auto written = core::WriteFileAtomically(args.out, *pem, 0600); !written) {
    fmt::print(stderr, "moat dkim keygen: {}\n", written.error().message());
    Exit(1);
  }
  fmt::print("{}\n", ZoneRecord(args.selector, args.domain, type,
                                filterd::EncodeBase64(*public_data)));
  std::fflush(stdout);
}

std::vector<std::string> DnsServers(const CheckArgs& args, const GlobalOptions& global) {
  std::string value = args.dns;
  if (value.empty()) {
    for (const auto& override : global.overrides) {
      if (override.starts_with("dns_servers=")) value = override.substr(12);
    }
  }
  if (value.empty()) return {};
  auto servers = core::ParseDnsServers(value);
  if (!servers) {
    fmt::print(stderr, "moat dkim check: {}\n", servers.error().message());
    Exit(2);
  }
  return *servers;
}

void RunCheck(const CheckArgs& args, const GlobalOptions& global) {
  std::optional<filterd::DkimPrivateKey> key;
  if (!args.key.empty()) {
    auto loaded = filterd::DkimPrivateKey::LoadFile(args.key);
    if (!loaded) {
      fmt::print(stderr, "moat dkim check: {}\n", loaded.error().message());
      Exit(1);
    }
    key = std::move(*loaded);
  }
  asio::io_context io;
  core::DnsResolverOptions options;
  options.servers = DnsServers(args, global);
  auto resolver = core::DnsResolver::Create(io.get_executor(), options);
  if (!resolver) {
    fmt::print(stderr, "moat dkim check: {}\n", resolver.error().message());
    Exit(1);
  }
  const std::string name = filterd::DkimKeyName(args.selector, args.domain);
  std::optional<core::Result<core::DnsAnswer<core::TxtRecord>>> answer;
  asio::co_spawn(io, (*resolver)->LookupTxt(name),
                 [&](std::exception_ptr, core::Result<core::DnsAnswer<core::TxtRecord>> r) {
                   answer = std::move(r);
                 });
  while (!answer && io.run_one() > 0) {
  }
  if (!answer || !*answer) {
    fmt::print("{}: DNS lookup failed ({}): {}\n", name,
               answer && answer->error().temporary() ? "temporary" : "permanent",
               answer ? answer->error().message() : "no answer");
    Exit(1);
  }
  if (!(*answer)->found()) {
    fmt::print("{}: no key published ({})\n", name, core::DnsOutcomeName((*answer)->outcome));
    Exit(1);
  }
  int status = 0;
  for (const auto& txt : (*answer)->records) {
    std::string text = txt.Joined();
    auto record = filterd::ParseDkimKeyRecord(text);
    if (!record) {
      fmt::print("{}: not a valid DKIM key record: {}\n  {}\n", name, record.error().message(),
                 text);
      status = 1;
      continue;
    }
    if (record->revoked()) {
      fmt::print("{}: key revoked (empty p=)\n", name);
      status = 1;
      continue;
    }
    auto public_key = filterd::DkimPublicKey::FromRecordData(record->key_type, record->public_key);
    if (!public_key) {
      fmt::print("{}: {}\n", name, public_key.error().message());
      status = 1;
      continue;
    }
    fmt::print("{}: {} key, {} bits, TTL {}{}\n", name, filterd::DkimKeyTypeName(record->key_type),
               public_key->bits(), txt.ttl, record->testing ? ", testing mode (t=y)" : "");
    if (public_key->type() == DkimKeyType::kRsa && public_key->bits() < 1024) {
      fmt::print("{}: RSA keys under 1024 bits fail verification everywhere (RFC 8301)\n", name);
      status = 1;
    }
    if (key) {
      auto mine = key->PublicKeyData();
      if (key->type() == record->key_type && mine && *mine == record->public_key) {
        fmt::print("{}: matches {}\n", name, args.key);
      } else {
        fmt::print("{}: does NOT match {}\n", name, args.key);
        status = 1;
      }
    }
  }
  std::fflush(stdout);
  if (status != 0) Exit(status);
}

}  // namespace

void RegisterDkimCommand(CLI::App& app, const GlobalOptions& global) {
  CLI::App* dkim = app.add_subcommand("dkim", "DKIM keys: generate them, check published records");
  dkim->require_subcommand(1);

  auto keygen_args = std::make_shared<KeygenArgs>();
  CLI::App* keygen = dkim->add_subcommand("keygen", "Generate a signing key and its DNS record");
  keygen->add_option("--domain", keygen_args->domain, "Signing domain (d=)")->required();
  keygen->add_option("--selector", keygen_args->selector, "Selector (s=)")->required();
  keygen->add_option("--algorithm", keygen_args->algorithm, "rsa or ed25519")
      ->check(CLI::IsMember({"rsa", "ed25519"}));
  keygen->add_option("--bits", keygen_args->bits, "RSA key size")->check(CLI::Range(1024, 8192));
  keygen->add_option("--out", keygen_args->out, "Private key file to write (PEM, mode 0600)")
      ->required();
  keygen->add_flag("--force", keygen_args->force, "Replace an existing key file");
  keygen->callback([keygen_args] { RunKeygen(*keygen_args); });

  auto check_args = std::make_shared<CheckArgs>();
  CLI::App* check = dkim->add_subcommand("check", "Compare the published DNS record with a key");
  check->add_option("--domain", check_args->domain, "Signing domain (d=)")->required();
  check->add_option("--selector", check_args->selector, "Selector (s=)")->required();
  check->add_option("--key", check_args->key, "Private key file to compare with");
  check->add_option("--dns", check_args->dns,
                    "Nameservers to ask, host:port[,host:port] (default: dns_servers, then "
                    "/etc/resolv.conf)");
  check->callback([check_args, &global] { RunCheck(*check_args, global); });
}

}  // namespace moat::cli
