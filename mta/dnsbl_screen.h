// dnsbl_screen.h - postscreen's connect-time verdict: the access list, then the DNSBL score.
//
// At connect time the smtpd (or a screening listener) calls Screen() with the client address:
//   1. postscreen_access_list (dnsbl_access_list.h): PERMIT ends the screen with kPermit (no DNS
//      query at all); REJECT applies postscreen_denylist_action.
//   2. Every postscreen_dnsbl_sites list is asked at once (one query per distinct domain, however
//      many entries name it), within postscreen_dnsbl_timeout. Each entry whose filter matches
//      an answer adds its weight once. A list that fails to answer adds nothing.
//   3. score >= postscreen_dnsbl_threshold: the client is listed, and postscreen_dnsbl_action
//      applies; score <= postscreen_dnsbl_allowlist_threshold (when that is negative, e.g. -1):
//      the client is allow-listed: kPermit.
// Actions (postscreen(8)): ignore (log only, DUNNO), enforce (kReject with "550 5.7.1 Service
// unavailable; client [1.2.3.4] blocked using zen.example; <TXT text>", which smtpd answers to
// every RCPT TO of the session after the greeting), drop (kDrop with 521 and the same text:
// hang up at once). The list named is the one with the highest weight among those that listed
// the client, shown as postscreen_dnsbl_reply_map maps it (to hide "password" list names); the
// reason is that list's TXT record for the client, when it has one and is not hidden by the map.
//
// Contract: a DNS failure never yields kReject/kDrop. Thread safety and lifetime as DnsblClient
// (dnsbl_client.h): Screen() runs on the resolver's executor; options are immutable.
#pragma once

// clang-format off
#include <chrono>
#include <memory>
#include <string>
#include <vector>
#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
// clang-format on

#include "core/config.h"
#include "core/lookup_table.h"
#include "mta/dnsbl_access_list.h"
#include "mta/dnsbl_client.h"
#include "mta/dnsbl_site.h"
#include "mta/policy_verdict.h"

namespace moat::mta {

enum class ScreenAction { kIgnore, kEnforce, kDrop };

struct DnsblScreenOptions {
  std::vector<DnsblSite> sites;                      // postscreen_dnsbl_sites
  int threshold = 1;                                 // postscreen_dnsbl_threshold
  int allowlist_threshold = 0;                       // postscreen_dnsbl_allowlist_threshold
  ScreenAction action = ScreenAction::kIgnore;       // postscreen_dnsbl_action
  ScreenAction denylist_action = ScreenAction::kIgnore;  // postscreen_denylist_action
  std::chrono::milliseconds timeout{10000};          // postscreen_dnsbl_timeout
  DnsblAccessList access_list;                       // postscreen_access_list
  std::shared_ptr<const core::TableList> reply_map;  // postscreen_dnsbl_reply_map

  // From main.cf. `mynetworks` backs permit_mynetworks. Errors: the site or table that is wrong.
  static core::Result<DnsblScreenOptions> FromConfig(
      const core::Config& config, std::shared_ptr<const core::NetworkList> mynetworks);
};

core::Result<ScreenAction> ParseScreenAction(std::string_view text);  // ignore|enforce|drop

struct DnsblListing {
  std::string site;    // the entry as written ("zen.example=127.0.0.[2..11]*2")
  std::string domain;  // its domain
  int weight = 0;
  std::vector<asio::ip::address_v4> answers;  // the answers that matched its filter
};

struct DnsblScore {
  int score = 0;
  std::vector<DnsblListing> listings;  // entries that matched, in configuration order
  int errors = 0;                      // lists that did not answer (timeout, SERVFAIL, ...)
  size_t ignored = 0;                  // answers outside 127.0.0.0/8
};

struct ScreenResult {
  PolicyVerdict verdict;
  DnsblScore score;
  bool listed = false;       // score >= threshold
  bool allowlisted = false;  // by the access list or by the allow-list threshold
  bool denylisted = false;   // by the access list
};

class DnsblScreen {
 public:
  DnsblScreen(DnsblClient& client, DnsblScreenOptions options)
      : client_(client),
        shared_(std::make_shared<const DnsblScreenOptions>(std::move(options))),
        options_(*shared_) {}
  // Options shared with the service snapshot (no copy per connection).
  DnsblScreen(DnsblClient& client, std::shared_ptr<const DnsblScreenOptions> options)
      : client_(client), shared_(std::move(options)), options_(*shared_) {}

  // The DNSBL score alone (step 2).
  asio::awaitable<DnsblScore> Score(asio::ip::address client);
  // The whole screen (steps 1-3) and its verdict.
  asio::awaitable<ScreenResult> Screen(asio::ip::address client);

  const DnsblScreenOptions& options() const { return options_; }

 private:
  DnsblClient& client_;
  std::shared_ptr<const DnsblScreenOptions> shared_;
  const DnsblScreenOptions& options_;
};

}  // namespace moat::mta
