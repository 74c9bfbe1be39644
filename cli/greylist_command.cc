// greylist_command.cc - `moat greylist`: look at and reset moat-mta's greylisting state.
//
//   moat [-c DIR] [-o name=value]... greylist list [--json] [--database FILE]
//   moat [-c DIR] [-o name=value]... greylist clear [--expired] [--database FILE]
//
// The state is the SQLite file moat-mta's check_greylist restriction keeps (mta/greylist_store.h):
// greylist_database of main.cf in the -c directory (with -o overrides), or --database FILE. It is
// safe to use while moat-mta runs (SQLite WAL; moat-mta greylists a cleared triplet again).
//
// list    every triplet (client network, sender, recipient) with when it was first and last
//         seen and whether it passed (or how long it still waits), then the client networks
//         with their successful retries ("auto-allowed" from greylist_auto_allow_clients on).
//         --json prints {"database", "triplets": [...], "clients": [...]}, times in UTC ISO 8601.
// clear   removes everything (every sender is greylisted again); with --expired only what was
//         not seen for greylist_max_age, as moat-mta does on its own once an hour.
//
// Exit status: 0 done, 1 the database or configuration could not be read, 2 usage.
#include <ctime>
#include <filesystem>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "core/config_error.h"
#include "mta/greylist_policy.h"
#include "mta/greylist_store.h"
#include "mta/mta_parameters.h"

namespace moat::cli {
namespace {

struct GreylistArgs {
  std::string database;
  bool json = false;
  bool expired = false;
};

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "moat greylist: " << message << "\n";
  throw CommandExit{1};
}

std::string IsoTime(int64_t ms) {
  if (ms <= 0) return "";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// Control characters from a client's sender or recipient are not sent to a terminal.
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  return out;
}

mta::GreylistOptions LoadOptions(const GlobalOptions& global) {
  try {
    mta::MtaConfig config =
        mta::LoadMtaConfig({global.config_directory, "main.cf", global.overrides});
    return mta::GreylistOptions::FromConfig(*config.main);
  } catch (const core::ConfigError& e) {
    Fail(fmt::format("{}: {}", e.location().ToString(), e.message()));
  }
}

std::shared_ptr<mta::GreylistStore> OpenStore(const std::string& path) {
  auto store = mta::GreylistStore::Open(path);
  if (!store) Fail(store.error().message());
  return *store;
}

void List(const mta::GreylistOptions& options, const std::string& path, bool json) {
  if (!std::filesystem::exists(path)) {
    if (json) {
      nlohmann::json out = {{"database", path},
                            {"triplets", nlohmann::json::array()},
                            {"clients", nlohmann::json::array()}};
      std::cout << out.dump(2) << "\n";
    } else {
      std::cout << fmt::format("no greylisting state yet ({} does not exist)\n", path);
    }
    return;
  }
  auto store = OpenStore(path);
  auto triplets = store->Triplets();
  if (!triplets) Fail(triplets.error().message());
  auto clients = store->Clients();
  if (!clients) Fail(clients.error().message());
  const int64_t now = mta::GreylistNow();
  const int64_t delay = options.delay.count();
  auto state_of = [&](const mta::GreylistTriplet& t) -> std::string {
    if (t.passed != 0) return "passed";
    int64_t left = t.first_seen + delay - now;
    if (now - t.first_seen > delay + options.retry_window.count()) return "retry window over";
    return left > 0 ? fmt::format("greylisted, {} s left", (left + 999) / 1000)
                    : "greylisted, may retry";
  };
  auto allowed = [&](const mta::GreylistClient& c) {
    return options.auto_allow_clients > 0 && c.retries >= options.auto_allow_clients;
  };
  if (json) {
    nlohmann::json out = {{"database", path},
                          {"triplets", nlohmann::json::array()},
                          {"clients", nlohmann::json::array()}};
    for (const auto& t : *triplets) {
      out["triplets"].push_back({{"client", t.client},
                                 {"sender", t.sender},
                                 {"recipient", t.recipient},
                                 {"first_seen", IsoTime(t.first_seen)},
                                 {"last_seen", IsoTime(t.last_seen)},
                                 {"passed", t.passed != 0 ? nlohmann::json(IsoTime(t.passed))
                                                          : nlohmann::json(nullptr)},
                                 {"attempts", t.attempts},
                                 {"state", state_of(t)}});
    }
    for (const auto& c : *clients) {
      out["clients"].push_back({{"client", c.client},
                                {"retries", c.retries},
                                {"last_seen", IsoTime(c.last_seen)},
                                {"auto_allowed", allowed(c)}});
    }
    // Senders and recipients come from SMTP clients: never let bad UTF-8 stop the listing.
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  std::cout << fmt::format("{} triplets in {}\n", triplets->size(), path);
  for (const auto& t : *triplets) {
    std::cout << fmt::format("{:<20} <{}> -> <{}>\n    first {}  last {}  attempts {}  {}\n",
                             t.client, Printable(t.sender), Printable(t.recipient),
                             IsoTime(t.first_seen), IsoTime(t.last_seen), t.attempts,
                             state_of(t));
  }
  std::cout << fmt::format("{} client networks with successful retries\n", clients->size());
  for (const auto& c : *clients) {
    std::cout << fmt::format("{:<20} retries {}  last {}{}\n", c.client, c.retries,
                             IsoTime(c.last_seen), allowed(c) ? "  auto-allowed" : "");
  }
}

}  // namespace

void RegisterGreylistCommand(CLI::App& app, const GlobalOptions& global) {
  auto args = std::make_shared<GreylistArgs>();
  CLI::App* greylist = app.add_subcommand(
      "greylist", "Show or reset moat-mta's greylisting state (check_greylist)");
  greylist->require_subcommand(1);

  CLI::App* list = greylist->add_subcommand("list", "List triplets and client networks");
  list->add_flag("--json", args->json, "Print JSON");
  list->add_option("--database", args->database,
                   "The SQLite file (default: greylist_database of main.cf)");
  list->callback([args, &global] {
    mta::GreylistOptions options = LoadOptions(global);
    List(options, args->database.empty() ? options.database : args->database, args->json);
  });

  CLI::App* clear = greylist->add_subcommand("clear", "Forget triplets and client networks");
  clear->add_flag("--expired", args->expired,
                  "Only what was not seen for greylist_max_age");
  clear->add_option("--database", args->database,
                    "The SQLite file (default: greylist_database of main.cf)");
  clear->callback([args, &global] {
    mta::GreylistOptions options = LoadOptions(global);
    std::string path = args->database.empty() ? options.database : args->database;
    if (!std::filesystem::exists(path)) {
      std::cout << fmt::format("nothing to clear ({} does not exist)\n", path);
      return;
    }
    auto store = OpenStore(path);
    auto removed = args->expired
                       ? store->Expire(mta::GreylistNow() - options.max_age.count())
                       : store->Clear();
    if (!removed) Fail(removed.error().message());
    std::cout << fmt::format("{} entries removed from {}\n", *removed, path);
  });
}

}  // namespace moat::cli
