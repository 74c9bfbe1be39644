// master_cf.cc - master.cf parsing and the classification of Postfix daemon commands.
#include "core/master_cf.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>

#include <fmt/format.h>

#include "core/config.h"

namespace moat::core {
namespace {

struct KnownCommand {
  std::string_view name;
  CommandSupport support;
  bool delivery_agent;
};

constexpr std::array<KnownCommand, 27> kCommands = {{
    {"smtpd", CommandSupport::kImplemented, false},
    {"postscreen", CommandSupport::kImplemented, false},
    {"smtp", CommandSupport::kImplemented, true},
    {"lmtp", CommandSupport::kImplemented, true},
    {"error", CommandSupport::kImplemented, true},
    {"discard", CommandSupport::kImplemented, false},
    {"pickup", CommandSupport::kBuiltIn, false},
    {"cleanup", CommandSupport::kBuiltIn, false},
    {"qmgr", CommandSupport::kBuiltIn, false},
    {"oqmgr", CommandSupport::kBuiltIn, false},
    {"tlsmgr", CommandSupport::kBuiltIn, false},
    {"trivial-rewrite", CommandSupport::kBuiltIn, false},
    {"bounce", CommandSupport::kBuiltIn, false},
    {"verify", CommandSupport::kBuiltIn, false},
    {"flush", CommandSupport::kBuiltIn, false},
    {"proxymap", CommandSupport::kBuiltIn, false},
    {"showq", CommandSupport::kBuiltIn, false},
    {"anvil", CommandSupport::kBuiltIn, false},
    {"scache", CommandSupport::kBuiltIn, false},
    {"postlogd", CommandSupport::kBuiltIn, false},
    {"dnsblog", CommandSupport::kBuiltIn, false},
    {"tlsproxy", CommandSupport::kBuiltIn, false},
    {"local", CommandSupport::kBuiltIn, true},
    {"virtual", CommandSupport::kBuiltIn, true},
    {"pipe", CommandSupport::kUnsupported, true},
    {"spawn", CommandSupport::kUnsupported, false},
    {"qmqpd", CommandSupport::kUnsupported, false},
}};

const KnownCommand* FindCommand(std::string_view command) {
  // A command may be given as a path relative to daemon_directory; only its last part counts.
  std::string_view base = command.substr(command.rfind('/') == std::string_view::npos
                                             ? 0
                                             : command.rfind('/') + 1);
  for (const KnownCommand& c : kCommands) {
    if (c.name == base) return &c;
  }
  return nullptr;
}

std::optional<bool> ParseFlag(std::string_view field, std::string_view what, bool& ok,
                              std::string& error) {
  if (field == "-") return std::nullopt;
  if (field == "y") return true;
  if (field == "n") return false;
  ok = false;
  error = fmt::format("field \"{}\": bad value \"{}\" (expected y, n or -)", what, field);
  return std::nullopt;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "-o" operand: "name=value" or "{ name = value }".
Result<std::pair<std::string, std::string>> ParseOverrideOperand(std::string_view operand) {
  std::string_view text = operand;
  bool long_form = text.starts_with('{');
  if (long_form) {
    if (!text.ends_with('}')) return Fail(ErrorCode::kInvalid, "-o {}: missing '}}'", operand);
    text = Trim(text.substr(1, text.size() - 2));
  }
  size_t equals = text.find('=');
  if (equals == std::string_view::npos) {
    return Fail(ErrorCode::kInvalid, "-o {}: expected name=value", operand);
  }
  std::string_view name = long_form ? Trim(text.substr(0, equals)) : text.substr(0, equals);
  std::string_view value = long_form ? Trim(text.substr(equals + 1)) : text.substr(equals + 1);
  bool name_ok = !name.empty();
  for (char c : name) name_ok = name_ok && c != ' ' && c != '\t';
  if (!name_ok) return Fail(ErrorCode::kInvalid, "-o {}: bad parameter name", operand);
  return std::make_pair(std::string(name), std::string(value));
}

}  // namespace

CommandSupport ClassifyCommand(std::string_view command) {
  const KnownCommand* c = FindCommand(command);
  return c == nullptr ? CommandSupport::kUnknown : c->support;
}

bool IsDeliveryAgent(std::string_view command) {
  const KnownCommand* c = FindCommand(command);
  return c != nullptr && c->delivery_agent;
}

std::optional<std::string> SuggestCommand(std::string_view unknown) {
  const KnownCommand* best = nullptr;
  size_t best_distance = 3;
  for (const KnownCommand& c : kCommands) {
    size_t d = EditDistance(unknown, c.name);
    if (d < best_distance) {
      best = &c;
      best_distance = d;
    }
  }
  if (best == nullptr) return std::nullopt;
  return std::string(best->name);
}

Result<std::vector<MasterField>> SplitMasterFields(std::string_view line) {
  std::vector<MasterField> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    size_t start = i;
    int braces = 0;
    while (i < line.size()) {
      char c = line[i];
      if (c == '{') {
        ++braces;
      } else if (c == '}' && braces > 0) {
        --braces;
      } else if (braces == 0 && (c == ' ' || c == '\t')) {
        break;
      }
      ++i;
    }
    if (braces > 0) {
      return Fail(ErrorCode::kInvalid, "missing '}}' in \"{}\"", line.substr(start, 60));
    }
    fields.push_back({std::string(line.substr(start, i - start)), start});
  }
  return fields;
}

const MasterService* MasterCf::Find(std::string_view name, std::string_view type) const {
  for (const MasterService& s : services) {
    if (s.name == name && (type.empty() || s.type_text == type)) return &s;
  }
  return nullptr;
}

MasterCf ParseMasterCf(std::string_view text, const std::string& file) {
  MasterCf result;
  std::map<std::string, size_t> by_key;  // Key() -> index in result.services
  for (const LogicalLine& logical : SplitLogicalLines(text, file, result.diagnostics)) {
    SourceLocation location{file, logical.line};
    auto error = [&](std::string message) {
      result.diagnostics.push_back({Severity::kError, location, std::move(message)});
    };
    auto split = SplitMasterFields(logical.text);
    if (!split) {
      error(split.error().message());
      continue;
    }
    std::vector<std::string> fields_text;
    for (const MasterField& field : *split) fields_text.push_back(field.text);
    const std::vector<std::string>* fields = &fields_text;
    static constexpr std::array<std::string_view, 8> kFieldNames = {
        "service", "type", "private", "unpriv", "chroot", "wakeup", "maxproc", "command"};
    if (fields->size() < kFieldNames.size()) {
      error(fmt::format("missing field \"{}\" (a service line has: service type private unpriv "
                        "chroot wakeup maxproc command)",
                        kFieldNames[fields->size()]));
      continue;
    }
    const std::vector<std::string>& f = *fields;
    MasterService service;
    service.name = f[0];
    service.type_text = f[1];
    service.location = location;
    if (f[1] == "inet") {
      service.type = MasterServiceType::kInet;
    } else if (f[1] == "unix") {
      service.type = MasterServiceType::kUnix;
    } else if (f[1] == "unix-dgram") {
      service.type = MasterServiceType::kUnixDgram;
    } else if (f[1] == "fifo") {
      service.type = MasterServiceType::kFifo;
    } else if (f[1] == "pass") {
      service.type = MasterServiceType::kPass;
    } else {
      error(fmt::format("unknown service type \"{}\" (expected inet, unix, unix-dgram, fifo or "
                        "pass)",
                        f[1]));
      continue;
    }
    bool ok = true;
    std::string message;
    service.private_service = ParseFlag(f[2], "private", ok, message);
    if (ok) service.unprivileged = ParseFlag(f[3], "unpriv", ok, message);
    if (ok) service.chroot = ParseFlag(f[4], "chroot", ok, message);
    if (!ok) {
      error(message);
      continue;
    }
    std::string_view wakeup = f[5];
    std::string_view wakeup_digits = wakeup.ends_with('?') ? wakeup.substr(0, wakeup.size() - 1)
                                                           : wakeup;
    if (wakeup != "-" && !AllDigits(wakeup_digits)) {
      error(fmt::format("field \"wakeup\": bad value \"{}\" (expected -, or seconds with an "
                        "optional ?)",
                        wakeup));
      continue;
    }
    service.wakeup = f[5];
    if (f[6] != "-") {
      int limit = 0;
      auto [end, ec] = std::from_chars(f[6].data(), f[6].data() + f[6].size(), limit);
      if (!AllDigits(f[6]) || ec != std::errc() || end != f[6].data() + f[6].size()) {
        error(fmt::format("field \"maxproc\": bad value \"{}\" (expected - or a number)", f[6]));
        continue;
      }
      service.process_limit = limit;
    }
    service.command = f[7];
    if (service.command.starts_with('{') || service.command.starts_with('-')) {
      error(fmt::format("field \"command\": bad command name \"{}\"", service.command));
      continue;
    }
    if (service.type == MasterServiceType::kInet && service.private_service.value_or(false)) {
      result.diagnostics.push_back({Severity::kWarning, location,
                                    fmt::format("service {}: an inet service cannot be private; "
                                                "read as \"n\"",
                                                service.name)});
      service.private_service = false;
    }

    // Leading options, as getopt reads them: the first non-option ends them.
    size_t i = 8;
    for (; i < f.size(); ++i) {
      std::string_view arg = f[i];
      SourceLocation option_location{file, logical.LineAt((*split)[i].offset)};
      if (!arg.starts_with('-') || arg == "-" || arg == "--") break;
      if (arg == "-o" || (arg.starts_with("-o") && arg.size() > 2)) {
        std::string_view operand;
        if (arg == "-o") {
          if (i + 1 >= f.size()) {
            ok = false;
            message = "-o without name=value";
            break;
          }
          operand = f[++i];
        } else {
          operand = arg.substr(2);
        }
        auto parsed = ParseOverrideOperand(operand);
        if (!parsed) {
          ok = false;
          message = parsed.error().message();
          break;
        }
        service.overrides.push_back({parsed->first, parsed->second, option_location});
        continue;
      }
      service.arguments.emplace_back(arg);
    }
    if (!ok) {
      error(message);
      continue;
    }
    for (; i < f.size(); ++i) service.arguments.push_back(f[i]);

    std::string key = service.Key();
    if (auto it = by_key.find(key); it != by_key.end()) {
      MasterService& earlier = result.services[it->second];
      result.diagnostics.push_back(
          {Severity::kWarning, location,
           fmt::format("service {} is defined again; the definition at {} is ignored", key,
                       earlier.location.ToString())});
      earlier = std::move(service);
      continue;
    }
    by_key.emplace(std::move(key), result.services.size());
    result.services.push_back(std::move(service));
  }
  return result;
}

MasterCf ReadMasterCf(const std::string& path) {
  auto text = ReadSmallFile(path);
  if (!text) {
    MasterCf result;
    result.diagnostics.push_back(
        {Severity::kError, {path, 0}, UnreadableFileMessage(path, text.error())});
    return result;
  }
  return ParseMasterCf(*text, path);
}

Result<HostPort> ExpandServiceName(const MasterService& service, const Config& config) {
  auto expanded = config.ExpandText(service.name);
  if (!expanded) return Fail(expanded.error());
  std::string_view name = Trim(*expanded);
  std::string host;
  std::string_view port_text = name;
  if (name.starts_with('[')) {
    size_t close = name.find(']');
    if (close == std::string_view::npos || close + 1 >= name.size() || name[close + 1] != ':') {
      return Fail(ErrorCode::kInvalid, "bad inet service name \"{}\" (expected [host]:port)",
                  name);
    }
    host = std::string(name.substr(1, close - 1));
    port_text = name.substr(close + 2);
  } else if (size_t colon = name.rfind(':'); colon != std::string_view::npos) {
    host = std::string(name.substr(0, colon));
    port_text = name.substr(colon + 1);
  }
  if (port_text.empty()) {
    return Fail(ErrorCode::kInvalid, "bad inet service name \"{}\": missing port", name);
  }
  int port = 0;
  if (AllDigits(port_text)) {
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || port < 1 || port > 65535) {
      return Fail(ErrorCode::kInvalid, "bad inet service name \"{}\": port out of range", name);
    }
  } else {
    std::string port_name(port_text);
    struct servent entry {};
    struct servent* found = nullptr;
    char buffer[1024];
    if (::getservbyname_r(port_name.c_str(), "tcp", &entry, buffer, sizeof buffer, &found) != 0 ||
        found == nullptr) {
      return Fail(ErrorCode::kInvalid, "bad inet service name \"{}\": unknown port \"{}\"", name,
                  port_text);
    }
    port = ntohs(static_cast<uint16_t>(found->s_port));
  }
  if (!host.empty()) {
    auto parsed = ParseHostPort(host.find(':') != std::string::npos
                                    ? fmt::format("[{}]:{}", host, port)
                                    : fmt::format("{}:{}", host, port));
    if (!parsed) return Fail(ErrorCode::kInvalid, "bad inet service name \"{}\"", name);
  }
  return HostPort{host, static_cast<uint16_t>(port)};
}

}  // namespace moat::core
