// greylist_policy.h - greylisting (RFC 6647) as postgrey does it, built into moat-mta.
//
// The smtpd restriction check_greylist (smtpd_policy_restrictions.cc) asks Check() for each
// recipient. A triplet is (client network, sender, recipient): the client's address cut to
// greylist_ipv4_prefix (24) or greylist_ipv6_prefix (64) bits — postgrey's --lookup-by-subnet, so
// a sender's pool of outbound servers retries as one —, the sender normalised as postgrey does
// (greylist_normalize_sender: lower case, "+extension" and BATV "prvs=...=" tags removed, numbers
// of VERP-style local parts replaced by "#"), and the recipient in lower case. Decisions:
//
//   new triplet                         kGreylisted: defer for greylist_delay
//   seen, the delay not over            kTooEarly: defer again (the wait left in the text)
//   seen, retried after the delay       kPassed: accept; counts one successful retry for the
//     (within greylist_retry_window)               client network (at most one per hour, as
//                                                  postgrey's auto-whitelisting counts)
//   seen, retried too late (after delay kGreylisted: the delay starts again
//     + retry window)
//   passed before                       kKnown: accept (until unused for greylist_max_age)
//   network with greylist_auto_allow_   kAutoAllowed: accept without looking at the triplet
//     clients successful retries         (0 turns auto-allowing off)
//
// Entries not seen for greylist_max_age are removed (checked at most once an hour). Deferrals
// answer "450 4.7.1 <rcpt>: Recipient address rejected: <greylist_text>" where the text's %s is
// the seconds left and %r the recipient's domain (postgrey's --greylist-text). A kPassed decision
// carries an "X-Greylist: delayed N seconds by moat-mta at <myhostname>; <date>" field when
// greylist_header = yes (postgrey's --x-greylist-header).
//
// Failure mode: greylisting is a spam heuristic, so a store error fails open — the recipient is
// accepted and the error logged — rather than deferring every message while the disk is full.
// Check() returns the error; the restriction decides (and logs).
//
// Configuration, next to the postgrey option each one replaces (postgrey(8), version 1.37):
//   smtpd_recipient_restrictions = ..., reject_unauth_destination, check_greylist
//                                         check_policy_service inet:127.0.0.1:10023
//   greylist_delay = 300s                 --delay=300
//   greylist_retry_window = 2d            --retry-window=2 (postgrey counts it from the first
//                                         attempt; Moat from the end of the delay)
//   greylist_max_age = 35d                --max-age=35
//   greylist_auto_allow_clients = 5       --auto-whitelist-clients=5 (0: --noauto-whitelist-...)
//   greylist_ipv4_prefix = 24, greylist_ipv6_prefix = 64
//                                         --lookup-by-subnet (--lookup-by-host: 32 and 128)
//   greylist_client_exemptions = cidr:/etc/moat/greylist_clients.cidr, ...
//                                         --whitelist-clients=FILE (postgrey_whitelist_clients:
//                                         names, addresses, /regexps/ -> a cidr:, hash: or pcre:
//                                         table with the value OK, looked up as
//                                         check_client_access looks up)
//   greylist_recipient_exemptions = hash:/etc/moat/greylist_recipients
//                                         --whitelist-recipients=FILE (postgrey_whitelist_
//                                         recipients: addresses, domains, "postmaster@" ->
//                                         the same keys as check_recipient_access)
//   greylist_text = Greylisted, see ...   --greylist-text (%s and %r as postgrey)
//   greylist_header = yes                 --x-greylist-header
//   greylist_normalize_sender = yes       postgrey's built-in sender substitutions
//   greylist_database = $data_directory/greylist.sqlite
//                                         --dbdir (Berkeley DB) -> one SQLite file
//
// Time comes from an injected clock (Unix milliseconds) so tests can move it. Thread safety:
// Check() may be called from any thread; a mutex orders the read-modify-write of one store.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/error.h"
#include "mta/greylist_store.h"

namespace moat::mta {

struct GreylistOptions {
  std::chrono::milliseconds delay{300000};                    // greylist_delay
  std::chrono::milliseconds retry_window{2 * 86400 * 1000LL};  // greylist_retry_window
  std::chrono::milliseconds max_age{35 * 86400 * 1000LL};      // greylist_max_age
  int auto_allow_clients = 5;                                  // greylist_auto_allow_clients
  int ipv4_prefix = 24;                                        // greylist_ipv4_prefix
  int ipv6_prefix = 64;                                        // greylist_ipv6_prefix
  bool normalize_sender = true;                                // greylist_normalize_sender
  std::string text = "Greylisted, see https://www.rfc-editor.org/rfc/rfc6647";  // greylist_text
  bool header = true;                                          // greylist_header
  std::string hostname;                                        // myhostname
  std::string database;                                        // greylist_database

  static GreylistOptions FromConfig(const core::Config& config);
};

// Unix time in milliseconds.
using GreylistClock = std::function<int64_t()>;
int64_t GreylistNow();

struct GreylistRequest {
  std::string client_address;  // IP address text
  std::string sender;          // without <>; "" for the null sender
  std::string recipient;
};

enum class GreylistOutcome { kGreylisted, kTooEarly, kPassed, kKnown, kAutoAllowed, kNotApplicable };
std::string_view GreylistOutcomeName(GreylistOutcome outcome);

struct GreylistDecision {
  GreylistOutcome outcome = GreylistOutcome::kNotApplicable;
  std::string client;           // the client network of the triplet
  std::string sender;           // normalised
  std::string recipient;        // lower case
  int64_t wait_seconds = 0;     // kGreylisted/kTooEarly: seconds until a retry passes
  int64_t delayed_seconds = 0;  // kPassed: how long the mail was held back
  bool defers() const {
    return outcome == GreylistOutcome::kGreylisted || outcome == GreylistOutcome::kTooEarly;
  }
};

class GreylistPolicy {
 public:
  GreylistPolicy(std::shared_ptr<GreylistStore> store, GreylistOptions options,
                 GreylistClock clock = GreylistNow)
      : store_(std::move(store)), options_(std::move(options)), clock_(std::move(clock)) {}

  // kNotApplicable when the client has no IP address (a unix-socket client).
  core::Result<GreylistDecision> Check(const GreylistRequest& request);

  // The deferral text (greylist_text with %s and %r filled in) and the X-Greylist field.
  std::string DeferText(const GreylistDecision& decision) const;
  std::string Header(const GreylistDecision& decision) const;

  const GreylistOptions& options() const { return options_; }
  GreylistStore& store() { return *store_; }

 private:
  core::Status CountRetry(const std::string& client, int64_t now);
  void ExpireIfDue(int64_t now);

  std::shared_ptr<GreylistStore> store_;
  GreylistOptions options_;
  GreylistClock clock_;
  std::mutex mutex_;
  int64_t next_expiry_ = 0;
};

// The client network of a triplet: "192.0.2.0/24", "[2001:db8::]/64"; "" for a non-IP client.
std::string GreylistClientNetwork(std::string_view address, int ipv4_prefix, int ipv6_prefix);
// postgrey's sender normalisation (see above); lower case always.
std::string NormalizeGreylistSender(std::string_view sender, bool normalize);

}  // namespace moat::mta
