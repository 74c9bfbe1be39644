// resolve_transport_catalog.cc - master.cf transports (after Postfix qmgr_transport.c and
// qmgr_feedback.c for the scheduling parameters).
#include "mta/resolve_transport_catalog.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/config_error.h"
#include "core/config_value.h"

namespace moat::mta {
namespace {

int TransportInt(const core::Config& main, const std::string& transport, std::string_view suffix,
                 std::string_view fallback) {
  std::string name = fmt::format("{}_{}", transport, suffix);
  if (main.Find(name)) return static_cast<int>(main.GetInt(name));
  return static_cast<int>(main.GetInt(fallback));
}

std::string TransportText(const core::Config& main, const std::string& transport,
                          std::string_view suffix, std::string_view fallback) {
  std::string name = fmt::format("{}_{}", transport, suffix);
  if (auto value = main.Find(name)) return *value;
  return main.GetString(fallback);
}

ConcurrencyFeedback Feedback(const core::Config& main, const std::string& transport,
                             std::string_view suffix, std::string_view fallback) {
  std::string text = TransportText(main, transport, suffix, fallback);
  auto parsed = ParseConcurrencyFeedback(text);
  if (!parsed) {
    std::string name = fmt::format("{}_{}", transport, suffix);
    core::SourceLocation where = main.Find(name) ? main.LocationOf(name) : main.LocationOf(fallback);
    throw core::ConfigError(where, fmt::format("{}: {}", main.Find(name) ? name : fallback,
                                               parsed.error().message()));
  }
  return *parsed;
}

}  // namespace

std::string_view DeliveryAgentKindName(DeliveryAgentKind kind) {
  switch (kind) {
    case DeliveryAgentKind::kSmtp:
      return "smtp";
    case DeliveryAgentKind::kLmtp:
      return "lmtp";
    case DeliveryAgentKind::kError:
      return "error";
    case DeliveryAgentKind::kRetry:
      return "retry";
    case DeliveryAgentKind::kDiscard:
      return "discard";
    case DeliveryAgentKind::kUnsupported:
      return "unsupported";
  }
  return "unsupported";
}

double ConcurrencyFeedback::At(double window) const {
  if (window < 1) window = 1;
  switch (per) {
    case Per::kConstant:
      return numerator;
    case Per::kConcurrency:
      return numerator / window;
    case Per::kSqrtConcurrency:
      return numerator / std::sqrt(window);
  }
  return numerator;
}

core::Result<ConcurrencyFeedback> ParseConcurrencyFeedback(std::string_view text) {
  ConcurrencyFeedback out;
  std::string_view number = text;
  size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    number = text.substr(0, slash);
    std::string_view per = text.substr(slash + 1);
    if (per == "concurrency") {
      out.per = ConcurrencyFeedback::Per::kConcurrency;
    } else if (per == "sqrt_concurrency") {
      out.per = ConcurrencyFeedback::Per::kSqrtConcurrency;
    } else {
      return core::Fail(core::ErrorCode::kInvalid,
                        "bad feedback \"{}\": expected N, N/concurrency or N/sqrt_concurrency",
                        text);
    }
  }
  auto value = core::ParseNumber(number);
  if (!value || *value <= 0 || *value > 1) {
    return core::Fail(core::ErrorCode::kInvalid,
                      "bad feedback \"{}\": the number must be greater than 0 and at most 1",
                      text);
  }
  out.numerator = *value;
  return out;
}

std::shared_ptr<const TransportCatalog> TransportCatalog::Build(
    std::shared_ptr<const core::Config> main, const core::MasterCf& master) {
  auto catalog = std::make_shared<TransportCatalog>();
  catalog->main_ = main;
  const core::Config& m = *main;
  std::vector<std::string> deferred = m.GetList("defer_transports");
  for (const core::MasterService& service : master.services) {
    if (service.type != core::MasterServiceType::kUnix) continue;
    TransportSettings t;
    t.name = service.name;
    t.command = service.command;
    t.location = service.location;
    if (service.command == "smtp") {
      t.kind = DeliveryAgentKind::kSmtp;
    } else if (service.command == "lmtp") {
      t.kind = DeliveryAgentKind::kLmtp;
    } else if (service.command == "discard") {
      t.kind = DeliveryAgentKind::kDiscard;
    } else if (service.command == "error") {
      if (service.name == "retry") {
        t.kind = DeliveryAgentKind::kRetry;
      } else if (service.name == "error") {
        t.kind = DeliveryAgentKind::kError;
      } else {
        t.unsupported_reason = fmt::format(
            "the error delivery agent runs only as the \"error\" or \"retry\" service, not as "
            "\"{}\"",
            service.name);
      }
    } else if (core::IsDeliveryAgent(service.command)) {
      t.unsupported_reason = fmt::format(
          "the {} delivery agent (transport {}) is not supported by moat-mta", service.command,
          service.name);
    } else {
      continue;  // not a delivery transport (cleanup, qmgr, ...)
    }
    t.config = service.overrides.empty() ? main : m.WithOverrides(service.overrides);
    t.process_limit = service.process_limit ? *service.process_limit
                                            : static_cast<int>(m.GetInt("default_process_limit"));
    t.destination_concurrency_limit = TransportInt(m, t.name, "destination_concurrency_limit",
                                                   "default_destination_concurrency_limit");
    t.destination_recipient_limit = TransportInt(m, t.name, "destination_recipient_limit",
                                                 "default_destination_recipient_limit");
    t.initial_destination_concurrency = TransportInt(m, t.name, "initial_destination_concurrency",
                                                     "initial_destination_concurrency");
    t.failed_cohort_limit =
        TransportInt(m, t.name, "destination_concurrency_failed_cohort_limit",
                     "default_destination_concurrency_failed_cohort_limit");
    t.positive_feedback = Feedback(m, t.name, "destination_concurrency_positive_feedback",
                                   "default_destination_concurrency_positive_feedback");
    t.negative_feedback = Feedback(m, t.name, "destination_concurrency_negative_feedback",
                                   "default_destination_concurrency_negative_feedback");
    std::string delay_name = t.name + "_destination_rate_delay";
    t.destination_rate_delay = m.Find(delay_name) ? m.GetTime(delay_name)
                                                  : m.GetTime("default_destination_rate_delay");
    t.deferred = std::find(deferred.begin(), deferred.end(), t.name) != deferred.end();
    catalog->transports_.insert_or_assign(t.name, std::move(t));
  }
  return catalog;
}

const TransportSettings* TransportCatalog::Find(std::string_view name) const {
  auto it = transports_.find(name);
  return it == transports_.end() ? nullptr : &it->second;
}

std::vector<std::string> TransportCatalog::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, settings] : transports_) names.push_back(name);
  return names;
}

}  // namespace moat::mta
