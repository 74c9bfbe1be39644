// queue_command.cc - `moat queue`: the MTA's mail queue for the administrator (Postfix's mailq,
// postcat, postsuper and postqueue in one command).
//
//   moat queue list [--json]                     mailq / postqueue -p (-j)
//   moat queue show ID [--json] [--envelope]     postcat -q ID
//   moat queue flush [--site DOMAIN]             postqueue -f / postqueue -s DOMAIN
//   moat queue delete  ID...|ALL [--queue Q]...  postsuper -d
//   moat queue hold    ID...|ALL [--queue Q]...  postsuper -h
//   moat queue release ID...|ALL                 postsuper -H
//   moat queue requeue ID...|ALL [--queue Q]...  postsuper -r
//
// The queue is main.cf's queue_directory (-c DIR, -o queue_directory=...; cli/queue_options.h).
// list, show and the actions work on the files (mta::QueueStore) whether moat-mta runs or not;
// flush asks the running moat-mta through its control socket (mta/qmgr_control.h), and
// release and requeue wake it up there so it delivers the messages now. An ID of "-" reads IDs
// from standard input, one per line; a trailing '*' or '!' (as list prints them) is ignored.
//
// Exit status: 0 done (IDs that are not in the queue, or that an action skips, are reported on
// stderr and do not count as failures: the queue manager may have delivered them meanwhile);
// 1 a real error (I/O, a corrupt file, moat-mta not running for flush); 2 usage (a malformed ID
// stops the command before it touches anything).
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <set>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/queue_actions.h"
#include "cli/queue_options.h"
#include "cli/queue_view.h"
#include "mta/qmgr_control.h"
#include "mta/queue_store.h"

namespace moat::cli {
namespace {

using core::ErrorCode;

constexpr auto kWakeupTimeout = std::chrono::seconds(5);
// How often delete/hold ALL list the queues (see RunAction).
constexpr int kAllPasses = 3;
// A site flush reads every deferred envelope before it answers.
constexpr auto kFlushTimeout = std::chrono::seconds(120);

struct QueueArgs {
  bool json = false;
  bool envelope = false;
  std::string site;
  std::vector<std::string> ids;
  std::vector<std::string> queues;
};

[[noreturn]] void ExitWith(int status) { throw CommandExit{status}; }

[[noreturn]] void Fatal(std::string_view command, const std::string& message, int status = 1) {
  std::cerr << "moat queue " << command << ": " << TerminalText(message) << "\n";
  ExitWith(status);
}

std::string QueueDirectory(std::string_view command, const GlobalOptions& global) {
  auto directory = LoadQueueDirectory(global);
  if (!directory) {
    Fatal(command, directory.error().message(),
          directory.error().code() == ErrorCode::kNotFound ? 2 : 1);
  }
  return *directory;
}

std::shared_ptr<mta::QueueStore> OpenStore(std::string_view command,
                                           const GlobalOptions& global) {
  mta::QueueStoreOptions options;
  options.directory = QueueDirectory(command, global);
  options.create_directories = false;
  auto store = mta::QueueStore::Open(options);
  if (!store) {
    Fatal(command, fmt::format("cannot open the queue at {}: {}", options.directory,
                               store.error().message()));
  }
  return *store;
}

std::string Dump(const nlohmann::json& value, int indent = -1) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

void RunList(const QueueArgs& args, const GlobalOptions& global) {
  auto store = OpenStore("list", global);
  auto scan = ScanQueue(*store);
  if (!scan) Fatal("list", scan.error().message());
  if (args.json) {
    for (const QueueListEntry& entry : scan->entries) {
      std::cout << Dump(ListEntryJson(entry)) << "\n";
    }
  } else {
    std::cout << FormatMailq(*scan);
  }
  std::cout.flush();
  for (const std::string& problem : scan->problems) {
    std::cerr << "moat queue list: " << TerminalText(problem) << "\n";
  }
  if (!scan->problems.empty()) ExitWith(1);
}

// An ID as typed or pasted from `list` ("0123...Z*"), or nullopt when it is not one.
std::optional<std::string> CleanId(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  if (!text.empty() && (text.back() == '*' || text.back() == '!')) text.remove_suffix(1);
  if (!mta::IsValidQueueId(text)) return std::nullopt;
  return std::string(text);
}

void RunShow(const QueueArgs& args, const GlobalOptions& global) {
  auto id = CleanId(args.ids.at(0));
  if (!id) Fatal("show", fmt::format("not a queue ID: \"{}\"", args.ids[0]), 2);
  auto store = OpenStore("show", global);
  auto shown = ReadShownMessage(*store, *id);
  if (!shown) Fatal("show", shown.error().message());
  if (args.json) {
    std::cout << Dump(ShownMessageJson(*shown, args.envelope), 2) << "\n";
  } else {
    std::cout << FormatPostcat(*shown, args.envelope);
  }
}

void RunFlush(const QueueArgs& args, const GlobalOptions& global) {
  std::string request = "FLUSH";
  if (!args.site.empty()) {
    if (!mta::IsValidFlushSite(args.site)) {
      Fatal("flush", fmt::format("--site: not a domain: \"{}\"", args.site), 2);
    }
    request += " " + args.site;
  }
  std::string socket = mta::QueueControlSocketPath(QueueDirectory("flush", global));
  auto reply = mta::SendQueueControlRequest(socket, request, kFlushTimeout);
  if (!reply) Fatal("flush", reply.error().message());
  std::cout << fmt::format("{} message{} scheduled for delivery{}\n", *reply,
                           *reply == "1" ? "" : "s", args.site.empty() ? "" : " to " + args.site);
}

// The IDs to act on: ALL, "-" (standard input) or the arguments; a malformed one is a usage
// error before anything is touched.
std::vector<std::string> SelectIds(std::string_view command, const QueueArgs& args,
                                   const mta::QueueStore& store,
                                   const std::vector<mta::QueueName>& queues, bool& all) {
  all = args.ids.size() == 1 && args.ids[0] == "ALL";
  if (all) {
    auto ids = ListQueueIds(store, queues);
    if (!ids) Fatal(command, ids.error().message());
    return std::move(*ids);
  }
  std::vector<std::string> texts;
  for (const std::string& arg : args.ids) {
    if (arg == "ALL") Fatal(command, "ALL cannot be combined with IDs", 2);
    if (arg != "-") {
      texts.push_back(arg);
      continue;
    }
    for (std::string line; std::getline(std::cin, line);) {
      if (line.find_first_not_of(" \t\r") != std::string::npos) texts.push_back(line);
    }
  }
  std::vector<std::string> ids;
  std::vector<std::string> bad;
  for (const std::string& text : texts) {
    if (auto id = CleanId(text)) {
      ids.push_back(std::move(*id));
    } else {
      bad.push_back(text);
    }
  }
  if (!bad.empty()) {
    for (const std::string& text : bad) {
      std::cerr << "moat queue " << command << ": not a queue ID: \"" << TerminalText(text)
                << "\"\n";
    }
    Fatal(command, "nothing done", 2);
  }
  return ids;
}

std::vector<mta::QueueName> SelectQueues(std::string_view command, QueueAction action,
                                         const QueueArgs& args) {
  if (args.queues.empty()) return DefaultQueues(action);
  std::vector<mta::QueueName> queues;
  for (const std::string& name : args.queues) {
    auto queue = mta::ParseQueueName(name);
    if (!queue) {
      Fatal(command, fmt::format("--queue: incoming, active, deferred, hold or corrupt; got \"{}\"",
                                 name), 2);
    }
    queues.push_back(*queue);
  }
  return queues;
}

std::string DoneText(QueueAction action, const std::string& detail) {
  switch (action) {
    case QueueAction::kDelete:
      return "deleted";
    case QueueAction::kHold:
      return "placed on hold";
    case QueueAction::kRelease:
      return "released to " + detail + "/";
    case QueueAction::kRequeue:
      return "requeued as " + detail;
  }
  return detail;
}

void RunAction(QueueAction action, const QueueArgs& args, const GlobalOptions& global) {
  std::string command(QueueActionName(action));
  std::vector<mta::QueueName> queues = SelectQueues(command, action, args);
  auto store = OpenStore(command, global);
  bool all = false;
  std::vector<std::string> ids = SelectIds(command, args, *store, queues, all);
  std::size_t done = 0, failed = 0;
  std::set<std::string> seen(ids.begin(), ids.end());
  for (int pass = 1;; ++pass) {
    for (const std::string& id : ids) {
      ActionOutcome outcome = ApplyQueueAction(*store, action, id, queues);
      switch (outcome.kind) {
        case ActionOutcome::Kind::kDone:
          ++done;
          if (!all) std::cout << id << ": " << DoneText(action, outcome.detail) << "\n";
          break;
        case ActionOutcome::Kind::kNotFound:
          // With ALL, a message delivered since the listing is no news.
          if (all) break;
          [[fallthrough]];
        case ActionOutcome::Kind::kSkipped:
          std::cerr << "moat queue " << command << ": " << id << ": "
                    << TerminalText(outcome.detail) << "\n";
          break;
        case ActionOutcome::Kind::kFailed:
          ++failed;
          std::cerr << "moat queue " << command << ": " << id << ": error: "
                    << TerminalText(outcome.detail) << "\n";
          break;
      }
    }
    // A message the queue manager moved from a queue not listed yet to one listed already was
    // missed: delete and hold ALL look again (requeue would find its own copies).
    bool again = all && pass < kAllPasses &&
                 (action == QueueAction::kDelete || action == QueueAction::kHold);
    if (!again) break;
    auto listed = ListQueueIds(*store, queues);
    if (!listed) Fatal(command, listed.error().message());
    ids.clear();
    for (std::string& id : *listed) {
      if (seen.insert(id).second) ids.push_back(std::move(id));
    }
    if (ids.empty()) break;
  }
  if (all) {
    std::cout << fmt::format("{}: {} message{}\n", command, done, done == 1 ? "" : "s");
  }
  std::cout.flush();
  bool wake = done > 0 && (action == QueueAction::kRelease || action == QueueAction::kRequeue);
  if (wake) {
    std::string socket = mta::QueueControlSocketPath(store->directory());
    if (auto woken = mta::SendQueueControlRequest(socket, "WAKEUP", kWakeupTimeout); !woken) {
      std::cerr << "moat queue " << command << ": " << TerminalText(woken.error().message())
                << "; the queue manager picks the messages up when it runs\n";
    }
  }
  if (failed > 0) ExitWith(1);
}

void AddIds(CLI::App* command, QueueArgs& args) {
  command->add_option("id", args.ids, "Queue IDs, ALL, or - to read IDs from standard input")
      ->required();
}

void AddQueues(CLI::App* command, QueueArgs& args, std::string_view defaults) {
  command->add_option("--queue", args.queues,
                      fmt::format("Only messages in this queue (repeatable; default: {})",
                                  defaults));
}

}  // namespace

void RegisterQueueCommand(CLI::App& app, const GlobalOptions& global) {
  auto args = std::make_shared<QueueArgs>();
  CLI::App* queue = app.add_subcommand(
      "queue", "The MTA's mail queue: list, show, flush, delete, hold, release, requeue");
  queue->require_subcommand(1);

  CLI::App* list = queue->add_subcommand("list", "List queued messages, like mailq");
  list->add_flag("--json", args->json,
                 "One JSON object per line: id, queue, size, arrival_time, sender, recipients");
  list->callback([args, &global] { RunList(*args, global); });

  CLI::App* show = queue->add_subcommand("show", "Show one message, like postcat");
  show->add_option("id", args->ids, "Queue ID")->required()->expected(1);
  show->add_flag("--json", args->json, "The message as one JSON object");
  show->add_flag("-e,--envelope", args->envelope, "Only the envelope records");
  show->callback([args, &global] { RunShow(*args, global); });

  CLI::App* flush = queue->add_subcommand(
      "flush", "Ask the running moat-mta to deliver deferred mail now (postqueue -f / -s)");
  flush->add_option("--site", args->site,
                    "Only messages with a recipient in this domain (fast_flush_domains)");
  flush->callback([args, &global] { RunFlush(*args, global); });

  struct ActionSpec {
    QueueAction action;
    const char* help;
    const char* queues;  // nullptr: no --queue
  };
  const ActionSpec specs[] = {
      {QueueAction::kDelete, "Delete messages and their logs (postsuper -d)",
       "hold, incoming, active, deferred"},
      {QueueAction::kHold, "Put messages on hold (postsuper -h)", "incoming, active, deferred"},
      {QueueAction::kRelease, "Release held messages for delivery (postsuper -H)", nullptr},
      {QueueAction::kRequeue,
       "Queue messages again with a new ID and a fresh retry schedule (postsuper -r)",
       "hold, incoming, deferred"},
  };
  for (const ActionSpec& spec : specs) {
    CLI::App* command = queue->add_subcommand(std::string(QueueActionName(spec.action)), spec.help);
    AddIds(command, *args);
    if (spec.queues != nullptr) AddQueues(command, *args, spec.queues);
    QueueAction action = spec.action;
    command->callback([args, &global, action] { RunAction(action, *args, global); });
  }
}

}  // namespace moat::cli
