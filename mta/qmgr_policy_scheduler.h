// qmgr_policy_scheduler.h - which delivery runs next: round-robin between destinations within
// their concurrency windows, transport process limits (master.cf maxproc), recipient limits per
// delivery, dead destinations, destination rate delays, and defer_transports.
//
// The queue manager feeds it recipients already resolved (transport + destination) and asks for
// batches to hand to a delivery agent; it reports each batch's outcome back. The scheduler knows
// nothing of queue files: a message is an opaque id, a recipient an index into it.
//
//   Add(message, route, recipients)   queue recipients of one message for one route. Recipients
//                                     for a dead destination or a deferred transport are not
//                                     queued: they come back from TakeRefused() with the reason.
//                                     A message being flushed (`moat queue flush`) ignores
//                                     defer_transports and revives a dead destination first
//                                     (Postfix's QMGR_FLUSH_DFXP and QMGR_FLUSH_EACH).
//   ForgetDeadDestinations()          `moat queue flush`: every dead destination is tried again
//                                     now (Postfix's QMGR_FLUSH_ONCE, qmgr_enable_all()).
//   Next(now)                         the next batch, or nothing when every destination with
//                                     work is at its window, its transport at maxproc, dead or
//                                     rate-delayed; NextWakeup() says when that may change.
//   Done(batch, outcome, now)         the batch finished: its destination's window gets positive
//                                     feedback (kDelivered: the destination was reached, whatever
//                                     each recipient's reply), or negative (kSiteFailure: could
//                                     not reach it). A destination that dies gives back all its
//                                     queued recipients through TakeRefused().
//
// Fairness: destinations with work form a ring; Next() starts after the destination it served
// last, so a destination with 10,000 queued recipients does not starve one with a single message
// (Postfix rotates between transports and their queues the same way). Within a destination,
// messages are served in arrival order, up to destination_recipient_limit recipients of one
// message per batch.
//
// Destination keys follow Postfix: the nexthop, case-folded; with a recipient limit of 1 each
// recipient address is its own destination (per-recipient concurrency, as for local delivery).
//
// Not thread-safe; one scheduler per queue manager, used from its strand. Time is injected.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mta/qmgr_policy_concurrency.h"
#include "mta/resolve_address.h"

namespace moat::mta {

using SteadyTime = std::chrono::steady_clock::time_point;

// The destination (queue) name of a resolved recipient within its transport.
std::string DestinationKey(const Resolution& resolution);

struct Route {
  std::string transport;    // must be in the catalog
  std::string destination;  // DestinationKey()
};

struct DeliveryBatch {
  std::uint64_t id = 0;
  Route route;
  std::uint64_t message = 0;
  std::vector<std::uint32_t> recipients;
};

enum class BatchOutcome {
  kDelivered,    // the destination was reached (per-recipient results may still be 4xx/5xx)
  kSiteFailure,  // the destination could not be reached at all
};

struct RefusedRecipients {
  std::uint64_t message = 0;
  std::vector<std::uint32_t> recipients;
  Route route;
  std::string dsn;     // "4.3.2" for defer_transports; the dead destination's is "4.4.1"...
  std::string reason;  // "deferred transport", "delivery temporarily suspended: ..."
};

struct SchedulerOptions {
  std::chrono::seconds minimal_backoff{300};  // a dead destination revives after this
  // `moat queue flush`: defer_transports do not apply to this run.
  bool flush_deferred_transports = false;
};

class DeliveryScheduler {
 public:
  DeliveryScheduler(std::shared_ptr<const TransportCatalog> catalog, SchedulerOptions options);

  void Add(std::uint64_t message, const Route& route, std::vector<std::uint32_t> recipients,
           SteadyTime now, bool flushed = false);
  void ForgetDeadDestinations();
  std::optional<DeliveryBatch> Next(SteadyTime now);
  // For kSiteFailure, `dsn` and `reason` say why ("4.4.1", "connect to mx[192.0.2.1]:25:
  // Connection refused"); they become the reason of recipients refused while it is dead.
  void Done(const DeliveryBatch& batch, BatchOutcome outcome, SteadyTime now,
            const std::string& dsn = {}, const std::string& reason = {});
  std::vector<RefusedRecipients> TakeRefused();

  // When a rate delay or a dead destination's backoff ends; nullopt when nothing waits on time.
  std::optional<SteadyTime> NextWakeup() const;

  std::size_t queued_recipients() const { return queued_; }
  std::size_t running() const { return running_; }
  bool idle() const { return queued_ == 0 && running_ == 0; }
  // For tests and `moat queue` views.
  const DestinationWindow* Window(const Route& route) const;

 private:
  struct Pending {
    std::uint64_t message;
    std::vector<std::uint32_t> recipients;
  };
  struct Destination {
    Route route;
    const TransportSettings* transport = nullptr;
    DestinationWindow window;
    std::deque<Pending> pending;
    int busy = 0;
    std::optional<SteadyTime> dead_until;
    std::optional<SteadyTime> rate_delay_until;
    std::string dead_dsn;
    bool in_ring = false;
  };
  using Key = std::pair<std::string, std::string>;  // transport, destination

  Destination& Get(const Route& route);
  void Revive(Destination& destination, SteadyTime now);
  static void ReviveNow(Destination& destination);
  // Forgets idle destinations whose rate delay has passed.
  void Prune(SteadyTime now);
  void Refuse(Destination& destination);
  void Refuse(std::uint64_t message, std::vector<std::uint32_t> recipients, const Route& route,
              const std::string& dsn, const std::string& reason);

  std::shared_ptr<const TransportCatalog> catalog_;
  SchedulerOptions options_;
  std::map<Key, Destination> destinations_;
  std::deque<Key> ring_;  // destinations with queued work, in service order
  std::map<std::string, int, std::less<>> transport_busy_;
  std::vector<RefusedRecipients> refused_;
  std::size_t queued_ = 0;
  std::size_t running_ = 0;
  std::uint64_t next_batch_ = 1;
};

}  // namespace moat::mta
