// master_cf.h - the Postfix master.cf format: which services run, and their -o overrides.
//
// Syntax (master(5)): logical lines as in main.cf (config_file.h: comments, continuation lines
// that start with whitespace). Each logical line is one service in eight or more fields:
//
//   service type  private unpriv chroot wakeup maxproc command + arguments
//   smtp    inet  n       -      n      -      -       smtpd -o smtpd_tls_security_level=may
//
//   service   inet: [host:]port, host may be [ipv6]; otherwise a name
//   type      inet, unix, unix-dgram, fifo, pass
//   private, unpriv, chroot   y, n or - (built-in default)
//   wakeup    - or seconds, optionally followed by ? ; maxproc - or a number (0 = no limit)
//   command   the daemon, then its arguments. Leading options are read as getopt does: `-o
//             name=value` (short form, no whitespace) and `-o { name = value with spaces }`
//             (long form: whitespace after `{`, around `=` and before `}` is ignored), `-v`,
//             `-D`; the first non-option ends the options, so pipe(8)'s `argv=... -d x` stays
//             intact. `{ ... }` keeps whitespace inside any argument.
//
// When a name/type pair is defined twice, the last definition wins (Postfix); a warning names
// the one that is ignored.
//
// Moat extension: the service field of an inet service may refer to main.cf parameters
// (`$smtp_listen inet n - n - - smtpd`), so tests and ./run can move listeners with -o; see
// ExpandServiceName().
//
// Commands: moat-mta implements smtpd, postscreen and the delivery agents smtp, lmtp, error and
// discard itself, and accepts Postfix's internal services (pickup, cleanup, qmgr, tlsmgr,
// trivial-rewrite, bounce, ...) as built in. pipe, spawn and qmqpd are Postfix programs that
// Moat does not run (a warning); any other command is an error.
//
// Parsing never throws; problems are diagnostics with file:line. Plain data, thread-safe to read.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_error.h"
#include "core/config_file.h"
#include "core/config_value.h"

namespace moat::core {

class Config;

enum class MasterServiceType { kInet, kUnix, kUnixDgram, kFifo, kPass };

enum class CommandSupport {
  kImplemented,  // moat-mta runs it: smtpd, postscreen, smtp, lmtp, error, discard
  kBuiltIn,      // a Postfix-internal service whose job moat-mta does inside itself
  kUnsupported,  // a Postfix program moat-mta does not run (pipe, spawn, qmqpd)
  kUnknown,
};

CommandSupport ClassifyCommand(std::string_view command);
// True for commands that deliver mail (smtp, lmtp, local, virtual, pipe, error): Postfix
// defines `<service>_destination_concurrency_limit` etc. for services that run them.
bool IsDeliveryAgent(std::string_view command);
// The closest known command for a misspelt one.
std::optional<std::string> SuggestCommand(std::string_view unknown);

struct MasterService {
  std::string name;       // as written: "smtp", "127.0.0.1:10025", "amavisfeed", "$smtp_listen"
  std::string type_text;  // "inet"
  MasterServiceType type = MasterServiceType::kInet;
  std::optional<bool> private_service;  // nullopt for "-"
  std::optional<bool> unprivileged;
  std::optional<bool> chroot;
  std::string wakeup = "-";
  std::optional<int> process_limit;     // nullopt for "-" (default_process_limit)
  std::string command;
  std::vector<std::string> arguments;   // everything after the command except -o overrides
  std::vector<ConfigEntry> overrides;   // -o name=value, located at the line of the -o
  SourceLocation location;

  // "name/type", Postfix's identity of a service.
  std::string Key() const { return name + "/" + type_text; }
};

struct MasterCf {
  std::vector<MasterService> services;  // in file order, after duplicates were dropped
  ConfigDiagnostics diagnostics;

  // The first service with this name (and type, when given).
  const MasterService* Find(std::string_view name, std::string_view type = {}) const;
};

MasterCf ParseMasterCf(std::string_view text, const std::string& file);
// Reads and parses; an unreadable file is one error diagnostic.
MasterCf ReadMasterCf(const std::string& path);

// The listen address of an inet service: `$name` references expanded against `config` (the
// main.cf snapshot), then parsed. A bare port means all interfaces (host ""). Symbolic ports
// ("smtp") are looked up in /etc/services. Errors are kInvalid.
Result<HostPort> ExpandServiceName(const MasterService& service, const Config& config);

// Splits a master.cf logical line into fields: whitespace-separated, `{ ... }` kept together
// (with its braces). An unbalanced `{` is kInvalid.
struct MasterField {
  std::string text;
  size_t offset = 0;  // in the logical line
};
Result<std::vector<MasterField>> SplitMasterFields(std::string_view line);

}  // namespace moat::core
