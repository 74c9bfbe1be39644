// cleanup_checks.cc - header/body check actions (semantics in the header).
#include "mta/cleanup_checks.h"

#include <cctype>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "mta/cleanup_address.h"
#include "mta/cleanup_header_names.h"

namespace moat::mta {
namespace {

bool IsStatusCode(std::string_view text, size_t* length) {
  // d.ddd.ddd followed by a space or the end
  size_t i = 0;
  if (i >= text.size() || (text[i] != '2' && text[i] != '4' && text[i] != '5')) return false;
  ++i;
  for (int part = 0; part < 2; ++part) {
    if (i >= text.size() || text[i] != '.') return false;
    ++i;
    size_t digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && digits < 3) {
      ++i;
      ++digits;
    }
    if (digits == 0) return false;
  }
  if (i < text.size() && text[i] != ' ') return false;
  *length = i;
  return true;
}

std::string Shorten(std::string_view text) {
  std::string out(text.substr(0, 200));
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return out;
}

void Log(const ContentCheckState& state, std::string_view what, CheckContext context,
         std::string_view text, std::string_view detail) {
  spdlog::info("{}{}: {} {}{}{}{}", state.log_prefix, what,
               context == CheckContext::kHeader ? "header" : "body", Shorten(text),
               state.log_suffix, detail.empty() ? "" : ": ", detail);
}

}  // namespace

std::string PrependStatusCode(std::string_view default_code, std::string_view text) {
  size_t length = 0;
  if (IsStatusCode(text, &length)) return std::string(text);
  return fmt::format("{} {}", default_code, text);
}

CheckResult ApplyAction(std::string_view value, std::string_view map_name, CheckContext context,
                        std::string_view text, ContentCheckState& state) {
  size_t command_end = value.find_first_of(" \t");
  std::string command = Lowercase(value.substr(0, command_end));
  std::string_view optional;
  if (command_end != std::string_view::npos) {
    optional = value.substr(command_end);
    while (!optional.empty() && std::isspace(static_cast<unsigned char>(optional.front()))) {
      optional.remove_prefix(1);
    }
  }
  CheckResult result;
  state.trace.push_back(fmt::format("{} {}", command, text));

  if (command == "reject") {
    std::string reason = optional.empty() ? std::string("5.7.1 message content rejected")
                                          : PrependStatusCode("5.7.1", optional);
    if (reason[0] != '4' && reason[0] != '5') {
      spdlog::warn("bad DSN action in {} -- need 4.x.x or 5.x.x", optional);
      reason[0] = '4';
    }
    state.rejected = true;
    state.reject_temporary = reason[0] == '4';
    state.reject_reason = reason;
    state.checking = false;
    Log(state, "reject", context, text, reason);
  } else if (command == "warn") {
    Log(state, "warning", context, text, optional);
  } else if (command == "info") {
    Log(state, "info", context, text, optional);
  } else if (command == "filter") {
    if (optional.empty() || optional.find(':') == std::string_view::npos) {
      spdlog::warn("bad FILTER command \"{}\" in {} -- need transport:destination", optional,
                   map_name);
    } else {
      state.filter.assign(optional);
      Log(state, "filter", context, text, optional);
    }
  } else if (command == "pass") {
    state.checking = false;
    Log(state, "pass", context, text, optional);
  } else if (command == "discard") {
    state.discard = true;
    state.discard_reason.assign(optional.empty() ? std::string_view("header/body checks")
                                                 : optional);
    state.checking = false;
    Log(state, "discard", context, text, optional);
  } else if (command == "hold") {
    if (!state.hold && !state.discard) {
      state.hold = true;
      state.hold_reason =
          optional.empty() ? fmt::format("{} {}", map_name, Shorten(text)) : std::string(optional);
      Log(state, "hold", context, text, optional);
    }
  } else if (command == "prepend") {
    if (optional.empty()) {
      spdlog::warn("PREPEND action without text in {} map", map_name);
    } else if (context == CheckContext::kHeader && !ParseHeaderName(optional)) {
      spdlog::warn("bad PREPEND header text \"{}\" in {} map -- need \"headername: headervalue\"",
                   optional, map_name);
    } else {
      result.prepend = std::string(optional);
      Log(state, "prepend", context, text, optional);
    }
  } else if (command == "replace") {
    if (optional.empty()) {
      spdlog::warn("REPLACE action without text in {} map", map_name);
    } else if (context == CheckContext::kHeader && !ParseHeaderName(optional)) {
      spdlog::warn("bad REPLACE header text \"{}\" in {} map -- need \"headername: headervalue\"",
                   optional, map_name);
    } else {
      result.kind = CheckResult::Kind::kReplace;
      result.replacement = std::string(optional);
      Log(state, "replace", context, text, optional);
    }
  } else if (command == "redirect") {
    if (optional.find('@') == std::string_view::npos) {
      spdlog::warn("bad REDIRECT target \"{}\" in {} map -- need user@domain", optional,
                   map_name);
    } else {
      state.redirect.assign(optional);
      state.checking = false;
      Log(state, "redirect", context, text, optional);
    }
  } else if (command == "bcc") {
    if (optional.find('@') == std::string_view::npos) {
      spdlog::warn("bad BCC address \"{}\" in {} map -- need user@domain", optional, map_name);
    } else {
      state.bcc.emplace_back(optional);
      Log(state, "bcc", context, text, optional);
    }
  } else if (command == "strip") {
    result.kind = CheckResult::Kind::kDrop;
    Log(state, "strip", context, text, optional);
  } else if (command == "ignore") {
    result.kind = CheckResult::Kind::kDrop;
  } else if (command == "dunno" || command == "ok") {
    // nothing
  } else {
    spdlog::warn("unknown command in {} map: {}", map_name, value);
  }
  return result;
}

core::Result<CheckResult> ApplyContentCheck(const core::TableList& checks,
                                            std::string_view map_name, CheckContext context,
                                            std::string_view text, ContentCheckState& state) {
  if (checks.empty() || !state.checking) return CheckResult{};
  thread_local std::string value;
  auto found = checks.LookupInto(text, value);
  if (!found) {
    spdlog::warn("{}{} map lookup problem -- message not accepted, try again later: {}",
                 state.log_prefix, map_name, found.error().message());
    return core::Fail(core::ErrorCode::kTempFail, "4.3.0 {} lookup problem", map_name);
  }
  if (!*found) return CheckResult{};
  std::string action = value;  // the buffer is reused by the next lookup on this thread
  return ApplyAction(action, map_name, context, text, state);
}

}  // namespace moat::mta
