// quarantine_command.cc - `moat quarantine`: review held mail from the command line.
//
//   moat quarantine list [--class C]... [--since T] [--until T] [--sender S] [--rcpt R]
//                        [--subject S] [--from S] [--min-score N] [--max-score N]
//                        [--state held|released|deleted|all] [--sort time|score] [--ascending]
//                        [--limit N] [--offset N] [--json]
//   moat quarantine show ID [--raw | --headers | --json]
//   moat quarantine release ID [--to ADDR]... [--force]
//   moat quarantine delete ID...
//   moat quarantine expire --older-than 30d
//
// T is a time ago ("30d", "12h", "90m", "2w") or a UTC date/time ("2026-11-20",
// "2026-11-20T08:00:00Z"). Text filters match substrings, case-insensitively. Every action is
// recorded in the index as "cli:<user>" (the sudo user when run through sudo).
//
// The quarantine directory: --directory DIR, else filterd.cf's quarantine_directory in the -c
// directory (with -o overrides; cli/quarantine_options.h). Release sends over SMTP to filterd.cf's
// forward_to, the MTA's return listener (quarantine/smtp_message_sender.h).
#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <ctime>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/quarantine_options.h"
#include "core/smtp_endpoint.h"
#include "quarantine/entry_json.h"
#include "quarantine/message_headers.h"
#include "quarantine/quarantine_store.h"
#include "quarantine/smtp_message_sender.h"

namespace moat::cli {
namespace {

namespace q = moat::quarantine;
using core::ErrorCode;

struct QuarantineArgs {
  std::string directory;
  // list
  std::vector<std::string> classes;
  std::string since, until, sender, rcpt, subject, from, state = "visible", sort = "time";
  std::optional<double> min_score, max_score;
  bool ascending = false;
  size_t limit = 50, offset = 0;
  bool json = false;
  // show / release / delete
  std::vector<std::string> ids;
  bool raw = false, headers = false;
  std::vector<std::string> to;
  bool force = false;
  // expire
  std::string older_than;
};

[[noreturn]] void ExitWith(int status) { throw CommandExit{status}; }

[[noreturn]] void UsageError(const std::string& message) {
  std::cerr << "moat quarantine: " << message << "\n";
  ExitWith(2);
}

// Display text for a terminal: control characters (escape sequences in a hostile subject) become
// '?', and it is cut to `width` characters (UTF-8 aware) with a trailing '~'.
std::string Printable(std::string_view text, size_t width = std::string::npos) {
  std::string out;
  size_t characters = 0;
  size_t last_start = 0;  // where the last character began, to cut before it
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80) {
      if (characters == width) {
        out.resize(last_start);
        out.push_back('~');
        break;
      }
      ++characters;
      last_start = out.size();
    }
    out.push_back(c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c));
  }
  return out;
}

std::string Pad(std::string_view text, size_t width) {
  std::string out = Printable(text, width);
  size_t characters = 0;
  for (char c : out) characters += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  out.append(width > characters ? width - characters : 0, ' ');
  return out;
}

std::string Actor() {
  if (const char* sudo = std::getenv("SUDO_USER"); sudo != nullptr && *sudo != '\0') {
    return std::string("cli:") + sudo;
  }
  struct passwd pw {};
  struct passwd* found = nullptr;
  char buffer[4096];
  if (::getpwuid_r(::geteuid(), &pw, buffer, sizeof buffer, &found) == 0 && found != nullptr) {
    return std::string("cli:") + found->pw_name;
  }
  return "cli:uid" + std::to_string(::geteuid());
}

QuarantineSettings Settings(const QuarantineArgs& args, const GlobalOptions& global) {
  auto settings = LoadQuarantineSettings(global, args.directory);
  if (!settings) {
    if (settings.error().code() == ErrorCode::kNotFound) UsageError(settings.error().message());
    std::cerr << "moat quarantine: " << settings.error().message() << "\n";
    ExitWith(1);
  }
  return std::move(*settings);
}

std::unique_ptr<q::QuarantineStore> OpenStore(const QuarantineArgs& args,
                                              const GlobalOptions& global) {
  q::StoreOptions options;
  options.directory = Settings(args, global).quarantine_directory;
  options.role = q::StoreRole::kReviewer;
  auto store = q::QuarantineStore::Open(options);
  if (!store) {
    std::cerr << "moat quarantine: " << options.directory << ": " << store.error().ToString()
              << "\n";
    ExitWith(1);
  }
  return std::move(*store);
}

std::string Dump(const nlohmann::json& value, int indent = -1) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ClassLabel(const q::QuarantineEntry& e) {
  std::string label(q::ContentClassName(e.metadata.content_class));
  if (!e.metadata.subclass.empty()) label += "/" + e.metadata.subclass;
  return label;
}

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out.append(separator);
    out.append(item);
  }
  return out;
}

q::QuarantineQuery BuildQuery(const QuarantineArgs& args) {
  q::QuarantineQuery query;
  q::TimePoint now = q::Clock::now();
  for (const std::string& name : args.classes) {
    auto c = q::ParseContentClass(name);
    if (!c) {
      UsageError("unknown class '" + Printable(name) +
                 "' (VIRUS, BANNED, UNCHECKED, SPAM, SPAMMY, BAD-HEADER, CLEAN)");
    }
    query.classes.push_back(*c);
  }
  if (!args.since.empty()) {
    query.since = ParseTime(args.since, now);
    if (!query.since) UsageError("--since: not a time: '" + Printable(args.since) + "'");
  }
  if (!args.until.empty()) {
    query.until = ParseTime(args.until, now);
    if (!query.until) UsageError("--until: not a time: '" + Printable(args.until) + "'");
  }
  query.sender = args.sender;
  query.recipient = args.rcpt;
  query.subject = args.subject;
  query.from = args.from;
  query.min_score = args.min_score;
  query.max_score = args.max_score;
  if (args.state == "all") {
    query.states = {};
  } else if (args.state != "visible") {
    auto state = q::ParseEntryState(args.state);
    if (!state) UsageError("--state: held, released, deleted or all");
    query.states = {*state};
  }
  query.sort = args.sort == "score" ? q::SortField::kScore : q::SortField::kTime;
  query.descending = !args.ascending;
  query.limit = std::min(args.limit, q::kMaxQueryLimit);
  query.offset = args.offset;
  return query;
}

void RunList(const QuarantineArgs& args, const GlobalOptions& global) {
  q::QuarantineQuery query = BuildQuery(args);
  auto store = OpenStore(args, global);
  auto page = store->List(query);
  if (!page) {
    std::cerr << "moat quarantine list: " << page.error().ToString() << "\n";
    ExitWith(1);
  }
  if (args.json) {
    nlohmann::json entries = nlohmann::json::array();
    for (const q::QuarantineEntry& e : page->entries) {
      nlohmann::json item = q::EntryToJson(e);
      item.erase("history");  // lists carry no history; `show` does
      entries.push_back(std::move(item));
    }
    std::cout << Dump({{"total", page->total},
                       {"offset", query.offset},
                       {"limit", query.limit},
                       {"entries", std::move(entries)}})
              << "\n";
    return;
  }
  std::cout << Pad("ID", 36) << Pad("TIME (UTC)", 21) << Pad("CLASS", 14) << Pad("SCORE", 7)
            << Pad("ST", 3) << Pad("SENDER", 29) << Pad("RECIPIENT", 29) << "SUBJECT\n";
  for (const q::QuarantineEntry& e : page->entries) {
    const q::EntryMetadata& m = e.metadata;
    std::string score = m.score ? fmt::format("{:.1f}", *m.score) : "-";
    // H held, R released, D deleted; ! when the stored copy is damaged.
    std::string flags(1, static_cast<char>(std::toupper(q::EntryStateName(e.state)[0])));
    if (!e.damage.empty()) flags += "!";
    std::string rcpt = m.recipients.empty() ? "" : m.recipients[0];
    if (m.recipients.size() > 1) rcpt += fmt::format(" +{}", m.recipients.size() - 1);
    std::cout << Pad(e.id, 36) << Pad(q::FormatUtc(e.time), 21) << Pad(ClassLabel(e), 14)
              << Pad(score, 7) << Pad(flags, 3)
              << Pad(m.envelope_sender.empty() ? "<>" : m.envelope_sender, 29) << Pad(rcpt, 29)
              << Printable(m.subject, 60) << "\n";
  }
  size_t first = page->entries.empty() ? 0 : query.offset + 1;
  std::cout << fmt::format("{}-{} of {} entries\n", first, query.offset + page->entries.size(),
                           page->total);
  for (const q::QuarantineEntry& e : page->entries) {
    if (!e.damage.empty()) std::cerr << "damaged: " << e.id << ": " << Printable(e.damage) << "\n";
  }
}

void PrintEntry(const q::QuarantineEntry& e) {
  const q::EntryMetadata& m = e.metadata;
  auto line = [](std::string_view label, std::string_view value) {
    std::cout << Pad(label, 13) << Printable(value) << "\n";
  };
  line("ID:", e.id);
  line("Time:", q::FormatUtc(e.time));
  line("Class:", ClassLabel(e));
  line("Score:", m.score ? fmt::format("{:.2f}", *m.score) : "-");
  line("Reason:", m.reason);
  line("State:", q::EntryStateName(e.state));
  if (!e.damage.empty()) line("Damage:", e.damage);
  line("Sender:", "<" + m.envelope_sender + ">");
  line("Recipients:", Join(m.recipients, ", "));
  line("From:", m.header_from);
  line("Subject:", m.subject);
  line("Message-ID:", m.message_id);
  line("Size:", fmt::format("{} bytes", e.size));
  line("Client:", m.client_address);
  line("Policy bank:", m.policy_bank);
  if (!e.history.empty()) {
    std::cout << "History:\n";
    for (const q::EntryEvent& event : e.history) {
      std::string text = fmt::format("  {} {} by {}", q::FormatUtc(event.time),
                                     q::EventKindName(event.kind), event.actor);
      if (!event.recipients.empty()) text += " to " + Join(event.recipients, ", ");
      if (!event.detail.empty()) text += " (" + event.detail + ")";
      std::cout << Printable(text) << "\n";
    }
  }
  if (!m.trace_json.empty()) {
    std::cout << "Decision trace:\n";
    // ordered_json keeps the trace's own key order (verdict first, as `moat scan` writes it).
    auto trace = nlohmann::ordered_json::parse(m.trace_json, nullptr, false);
    std::string text = trace.is_discarded()
                           ? m.trace_json
                           : trace.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      std::cout << "  " << Printable(std::string_view(text).substr(start, end - start)) << "\n";
      start = end + 1;
    }
  }
}

void RunShow(const QuarantineArgs& args, const GlobalOptions& global) {
  if (args.raw && args.headers) UsageError("show: --raw and --headers exclude each other");
  auto store = OpenStore(args, global);
  const std::string& id = args.ids.at(0);
  auto entry = store->GetEntry(id);
  if (!entry) {
    std::cerr << "moat quarantine show: " << entry.error().ToString() << "\n";
    ExitWith(1);
  }
  bool deleted = entry->state == q::EntryState::kDeleted;
  // The stored copy is read (and so verified) every time: damage is reported, and marked.
  auto message =
      deleted && !args.raw && !args.headers ? core::Result<std::string>() : store->ReadMessage(id);
  if (!message) {
    if (auto marked = store->GetEntry(id); marked) entry = std::move(marked);  // with the damage
  }
  if (args.raw || args.headers) {
    if (message) {
      std::string_view bytes = args.raw ? std::string_view(*message) : q::HeaderSection(*message);
      std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      std::cout.flush();
    }
  } else if (args.json) {
    std::cout << Dump(q::EntryToJson(*entry), 2) << "\n";
  } else {
    PrintEntry(*entry);
  }
  if (!message) {
    std::cerr << "moat quarantine show: " << message.error().ToString() << "\n";
    ExitWith(1);
  }
}

void RunRelease(const QuarantineArgs& args, const GlobalOptions& global) {
  QuarantineSettings settings = Settings(args, global);
  auto peer = core::ParseSmtpEndpoint(settings.forward_to);
  if (!peer) {
    std::cerr << "moat quarantine release: forward_to: " << peer.error().message() << "\n";
    ExitWith(1);
  }
  auto store = OpenStore(args, global);
  q::SmtpMessageSender sender({.peer = *peer, .helo_name = settings.forward_helo_name});
  q::ReleaseRequest request{args.to, Actor(), args.force};
  auto released = store->Release(args.ids.at(0), request, sender);
  if (!released) {
    std::cerr << "moat quarantine release: " << released.error().ToString() << "\n";
    ExitWith(1);
  }
  std::cout << "released " << args.ids[0] << " to " << Join(released->outcome.accepted, ", ")
            << "\n";
  for (const q::RejectedRecipient& r : released->outcome.rejected) {
    std::cerr << "rejected <" << r.address << ">: " << Printable(r.reply) << "\n";
  }
}

void RunDelete(const QuarantineArgs& args, const GlobalOptions& global) {
  auto store = OpenStore(args, global);
  std::string actor = Actor();
  int status = 0;
  for (const std::string& id : args.ids) {
    if (auto deleted = store->Delete(id, actor); !deleted) {
      std::cerr << "moat quarantine delete: " << deleted.error().ToString() << "\n";
      status = 1;
    } else {
      std::cout << "deleted " << id << "\n";
    }
  }
  if (status != 0) ExitWith(status);
}

void RunExpire(const QuarantineArgs& args, const GlobalOptions& global) {
  auto older_than = ParseAge(args.older_than);
  if (!older_than) {
    UsageError("--older-than: a number with a unit (s, m, h, d, w), e.g. 30d; got '" +
               Printable(args.older_than) + "'");
  }
  auto store = OpenStore(args, global);
  auto report = store->ExpireOlderThan(*older_than, q::Clock::now());
  if (!report) {
    std::cerr << "moat quarantine expire: " << report.error().ToString() << "\n";
    ExitWith(1);
  }
  std::cout << fmt::format("expired {} entries ({} files, {} bytes freed)\n",
                           report->entries_removed, report->files_removed, report->bytes_freed);
  if (report->failures > 0) {
    std::cerr << fmt::format("moat quarantine expire: {} files could not be removed (see log)\n",
                             report->failures);
    ExitWith(1);
  }
}

}  // namespace

void RegisterQuarantineCommand(CLI::App& app, const GlobalOptions& global) {
  auto args = std::make_shared<QuarantineArgs>();
  CLI::App* quarantine =
      app.add_subcommand("quarantine", "Review held mail: list, show, release, delete, expire");
  quarantine->require_subcommand(1);
  quarantine->add_option("--directory", args->directory,
                         "Quarantine directory (default: filterd.cf's quarantine_directory)");

  CLI::App* list = quarantine->add_subcommand("list", "List held messages, newest first");
  list->add_option("--class", args->classes, "Content class (repeatable or comma-separated)")
      ->delimiter(',');
  list->add_option("--since", args->since, "Held at or after: 30d, 12h, 2026-11-20[T08:00:00Z]");
  list->add_option("--until", args->until, "Held before (same forms as --since)");
  list->add_option("--sender", args->sender, "Envelope sender contains");
  list->add_option("--rcpt", args->rcpt, "An envelope recipient contains");
  list->add_option("--subject", args->subject, "Subject contains");
  list->add_option("--from", args->from, "From: header contains");
  list->add_option("--min-score", args->min_score, "Spam score at least");
  list->add_option("--max-score", args->max_score, "Spam score at most");
  list->add_option("--state", args->state, "held, released, deleted or all (default: not deleted)");
  list->add_option("--sort", args->sort, "time or score")->check(CLI::IsMember({"time", "score"}));
  list->add_flag("--ascending", args->ascending, "Oldest (lowest) first");
  list->add_option("--limit", args->limit, "Entries per page (at most 1000)");
  list->add_option("--offset", args->offset, "Entries to skip");
  list->add_flag("--json", args->json, "One JSON object: total, offset, limit, entries");
  list->callback([args, &global] { RunList(*args, global); });

  CLI::App* show = quarantine->add_subcommand("show", "Show one held message and its history");
  show->add_option("id", args->ids, "Quarantine ID")->required()->expected(1);
  show->add_flag("--raw", args->raw, "The message exactly as received");
  show->add_flag("--headers", args->headers, "Only the message's header section");
  show->add_flag("--json", args->json, "The entry as JSON");
  show->callback([args, &global] { RunShow(*args, global); });

  CLI::App* release = quarantine->add_subcommand(
      "release", "Reinject through the MTA's return listener, bypassing the filter");
  release->add_option("id", args->ids, "Quarantine ID")->required()->expected(1);
  release->add_option("--to", args->to, "Send to this address instead (repeatable)");
  release->add_flag("--force", args->force, "Release a message that was released before");
  release->callback([args, &global] { RunRelease(*args, global); });

  CLI::App* remove = quarantine->add_subcommand("delete", "Delete held messages");
  remove->add_option("id", args->ids, "Quarantine IDs")->required();
  remove->callback([args, &global] { RunDelete(*args, global); });

  CLI::App* expire = quarantine->add_subcommand("expire", "Remove entries older than a duration");
  expire->add_option("--older-than", args->older_than, "e.g. 30d, 12h, 2w")->required();
  expire->callback([args, &global] { RunExpire(*args, global); });
}

}  // namespace moat::cli
