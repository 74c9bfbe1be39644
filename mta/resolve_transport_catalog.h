// resolve_transport_catalog.h - the mail delivery transports of master.cf and their settings.
//
// A transport is a master.cf service of type unix whose command is a delivery agent; its name is
// what transport_maps, relay_transport, default_transport and content_filter refer to:
//
//   relay       unix  -  -  n  -  -  smtp  -o syslog_name=postfix/relay
//   amavisfeed  unix  -  -  n  -  2  lmtp  -o lmtp_send_xforward_command=yes
//
// Each TransportSettings carries two views, as Postfix splits them between processes:
//   - the delivery agent's view: main.cf with the service's -o overrides on top (`config`), read
//     by the SMTP/LMTP agent (smtp_* or lmtp_* parameters, by the command);
//   - the queue manager's view: main.cf only. Postfix's qmgr never sees a service's -o, so
//     `amavisfeed_destination_recipient_limit` belongs in main.cf; likewise here. master.cf's
//     maxproc caps the transport's total concurrency (0 = no limit; "-" = default_process_limit).
//
// Agents moat-mta runs: smtp and lmtp (SMTP/LMTP client), error (as service "error": bounce;
// as "retry": defer, as Postfix's error(8) does), discard. local, virtual and pipe are Postfix
// agents moat-mta does not have: mail routed to them is deferred with a clear reason (nothing is
// lost; the administrator fixes the routing). A transport not defined in master.cf at all is
// "mail transport unavailable" (deferred), as in Postfix.
//
// Build() runs at configuration load time and throws core::ConfigError for values that do not
// parse (a feedback value that is not "1", "1/concurrency", ...). The catalog is immutable and
// shared by every thread of the queue manager and the delivery agents.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/master_cf.h"

namespace moat::mta {

enum class DeliveryAgentKind {
  kSmtp,
  kLmtp,
  kError,        // bounces every recipient with the nexthop text
  kRetry,        // defers every recipient with the nexthop text
  kDiscard,      // reports success without delivering (logs the nexthop text)
  kUnsupported,  // local, virtual, pipe, ...: moat-mta defers the mail
};

std::string_view DeliveryAgentKindName(DeliveryAgentKind kind);

// Postfix's concurrency feedback: "1", "0.5", "1/concurrency", "1/sqrt_concurrency".
struct ConcurrencyFeedback {
  enum class Per { kConstant, kConcurrency, kSqrtConcurrency };
  double numerator = 1.0;
  Per per = Per::kConstant;
  // The window change for one success/failure at concurrency `window`.
  double At(double window) const;
};
core::Result<ConcurrencyFeedback> ParseConcurrencyFeedback(std::string_view text);

struct TransportSettings {
  std::string name;     // master.cf service name
  std::string command;  // smtp, lmtp, error, discard, local, ...
  DeliveryAgentKind kind = DeliveryAgentKind::kUnsupported;
  std::string unsupported_reason;  // for kUnsupported

  // The agent's view: main.cf + command line -o + the service's -o.
  std::shared_ptr<const core::Config> config;

  // The queue manager's view (main.cf): 0 means "no limit" for the limits.
  int process_limit = 0;                    // maxproc
  int destination_concurrency_limit = 20;   // <t>_destination_concurrency_limit
  int destination_recipient_limit = 50;     // <t>_destination_recipient_limit
  int initial_destination_concurrency = 5;  // <t>_initial_destination_concurrency
  int failed_cohort_limit = 1;              // <t>_destination_concurrency_failed_cohort_limit
  ConcurrencyFeedback positive_feedback;    // <t>_destination_concurrency_positive_feedback
  ConcurrencyFeedback negative_feedback;    // <t>_destination_concurrency_negative_feedback
  std::chrono::seconds destination_rate_delay{0};  // <t>_destination_rate_delay
  bool deferred = false;                    // listed in defer_transports

  core::SourceLocation location;  // of the master.cf line
};

class TransportCatalog {
 public:
  // Throws core::ConfigError.
  static std::shared_ptr<const TransportCatalog> Build(std::shared_ptr<const core::Config> main,
                                                       const core::MasterCf& master);

  // nullptr when master.cf defines no such transport.
  const TransportSettings* Find(std::string_view name) const;
  std::vector<std::string> Names() const;
  const core::Config& main() const { return *main_; }

 private:
  std::shared_ptr<const core::Config> main_;
  std::map<std::string, TransportSettings, std::less<>> transports_;
};

}  // namespace moat::mta
