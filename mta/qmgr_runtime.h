// qmgr_runtime.h - the queue manager of moat-mta (Postfix qmgr(8)): takes messages from the
// queue, routes every recipient, hands them to the delivery agents under the scheduling policy,
// and records each recipient's fate durably in the queue file.
//
// The life of a message:
//   1. Activation. New mail (incoming/, on Wakeup() after each commit and at every scan) and
//      deferred mail whose next-attempt time has come (deferred/, scanned every queue_run_delay)
//      is moved to active/ and opened read-write, up to qmgr_message_active_limit messages.
//   2. Routing. Each pending recipient is resolved: with a content filter (the message's `filter`
//      attribute: content_filter of main.cf or of the receiving service's -o, access FILTER,
//      header_checks FILTER) every recipient goes to the filter (AddressResolver::ResolveFilter);
//      otherwise trivial-rewrite + transport_maps (AddressResolver::Resolve). Mail that arrives
//      on a service with `-o content_filter=` has no filter and is delivered normally. Route
//      failures and error:/retry: transports need no connection.
//   3. Delivery. Recipients grouped by (transport, destination) go to the DeliveryScheduler
//      (concurrency windows, recipient limits, maxproc, dead destinations, defer_transports);
//      each batch it releases runs through DeliveryAgents (SMTP/LMTP/error/retry/discard).
//   4. Results. Delivered recipients are marked 'D', bounced ones 'F' with a bounce log entry,
//      both fsynced after each batch (a crash can only cause a recipient to be delivered again,
//      never lost). Deferred ones collect defer log notes.
//   5. Completion, once no batch of the message is pending: failed recipients (this attempt's
//      and any left in the bounce log by a crash) are reported in one RFC 3464 bounce to the
//      sender from <>, with the postmaster copies notify_classes asks for (bounce_policy.h:
//      a failed bounce goes to 2bounce_notice_recipient or is discarded, never to <>), each
//      committed as a new queue file (bounce_sender.h), and only then is the bounce log
//      removed. No pending recipient left: the message is deleted. Otherwise, past
//      maximal_queue_lifetime (bounce_queue_lifetime for <>) the rest bounce as expired; else
//      a delay warning is queued once it is due (delay_warning_time), recipients held up by a
//      local problem are reported to error_notice_recipient (notify_classes resource,
//      software), and the message goes to deferred/ with its next attempt after the
//      exponential backoff (qmgr_policy_timing.h: minimal_backoff_time .. maximal_backoff_time).
//
// Queue commands (`moat queue`, through mta/qmgr_control.h): Flush() makes deferred mail due
// now, as Postfix's postqueue -f / -s do; Rescan() picks up messages another process moved into
// incoming/ or deferred/ (release, requeue).
//
// Threads: everything runs on one strand of the daemon's io_context (the scheduler and the
// active messages need no locks); the delivery agents' network I/O runs as coroutines on it.
// Queue file updates are small synchronous writes and fsyncs on that strand. Wakeup() may be
// called from any thread. Stop() stops activating, lets deliveries in flight finish (or
// abandons them after `grace`: their messages stay in active/ and recovery requeues them at
// the next start), shuts the agents down; destroy the manager after Stop() completed.
//
// Errors: queue store failures are logged and the message is left where it is for recovery
// (active/) or the next scan; a corrupt file goes to corrupt/ (QueueStore::OpenFile).
#pragma once

// clang-format off
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
// clang-format on

#include "core/config.h"
#include "core/dns_resolver.h"
#include "core/error.h"
#include "core/master_cf.h"
#include "mta/bounce_policy.h"
#include "mta/bounce_sender.h"
#include "mta/delivery_agents.h"
#include "mta/qmgr_policy_scheduler.h"
#include "mta/qmgr_policy_timing.h"
#include "mta/queue_store.h"
#include "mta/resolve_address.h"

namespace moat::mta {

class MtaMetrics;

// The queue manager's compiled configuration (main.cf + master.cf's transports).
struct QueueManagerConfig {
  std::shared_ptr<const core::Config> main;
  std::shared_ptr<const TransportCatalog> catalog;
  std::shared_ptr<const AddressResolver> resolver;
  RetryTiming timing;
  std::string myhostname;
  std::size_t active_limit = 20000;      // qmgr_message_active_limit
  std::size_t bounce_size_limit = 50000;  // bounce_size_limit
  std::vector<std::string> dns_servers;   // empty: /etc/resolv.conf
  NotifyPolicy notify;  // notify_classes, *_notice_recipient, double_bounce_sender
  MtaMetrics* metrics = nullptr;          // delivery counts; null: nothing counted

  // kInvalid with the configuration error's text (tables, transports, times).
  static core::Result<std::shared_ptr<const QueueManagerConfig>> Build(
      std::shared_ptr<const core::Config> main, const core::MasterCf& master,
      std::vector<std::string> dns_servers);
};

class QueueManager {
 public:
  // kIo when the DNS resolver cannot start; kInvalid for transport settings.
  static core::Result<std::unique_ptr<QueueManager>> Create(
      asio::io_context& io, std::shared_ptr<QueueStore> store,
      std::shared_ptr<const QueueManagerConfig> config);
  ~QueueManager();
  QueueManager(const QueueManager&) = delete;
  QueueManager& operator=(const QueueManager&) = delete;

  // Spawns the manager's loop on its strand.
  void Start();
  // New mail in incoming/ (thread-safe, cheap; coalesced).
  void Wakeup();
  // Messages moved into incoming/ or deferred/ by another process: both are scanned now
  // (thread-safe, cheap; coalesced).
  void Rescan();
  // `moat queue flush`: deferred mail (with `site`: only messages with a pending recipient in
  // that domain) is tried now, whatever its backoff said; for those messages defer_transports do
  // not apply and their dead destinations are tried again. Without a site, mail in incoming/ is
  // flushed too and every dead destination is forgotten (Postfix's QMGR_FLUSH_ONCE). Returns the
  // number of messages scheduled. May be awaited from any executor; the queue is read there,
  // the scheduler is touched on the strand.
  asio::awaitable<std::size_t> Flush(std::optional<std::string> site);
  asio::awaitable<void> Stop(std::chrono::milliseconds grace);

 private:
  struct Recipient {
    std::uint64_t offset = 0;
    bool pending = false;  // waiting for a delivery result in this attempt
  };
  struct ActiveMessage {
    std::uint64_t handle = 0;
    QueueFile file;
    std::vector<Recipient> recipients;  // parallel to file.message().envelope.recipients
    std::map<std::pair<std::string, std::string>, Resolution> routes;
    std::weak_ptr<const std::string> content;
    std::vector<RecipientLogEntry> deferred;  // notes for the defer log
    std::size_t bounced = 0;                  // bounce log entries written in this attempt
    std::size_t outstanding = 0;              // recipients with no result yet
    std::chrono::steady_clock::time_point activated;
    // Recipients held up by a local problem in this attempt (notify_classes resource/software).
    std::vector<RecipientLogEntry> resource_problems = {};
    std::vector<RecipientLogEntry> software_problems = {};
  };

  QueueManager(asio::io_context& io, std::shared_ptr<QueueStore> store,
               std::shared_ptr<const QueueManagerConfig> config);

  asio::awaitable<void> Loop();
  void ScanIncoming();
  void ScanDeferred();
  void Activate(QueueName from, const std::string& id);
  void Route(ActiveMessage& message, bool flushed = false);
  asio::awaitable<std::size_t> ApplyFlush(std::vector<std::string> ids, bool all);
  void StartBatches();
  asio::awaitable<void> RunBatch(DeliveryBatch batch);
  void ApplyResult(ActiveMessage& message, const DeliveryResult& result);
  void TakeRefused();
  void DeferRecipient(ActiveMessage& message, std::uint32_t index, std::string dsn,
                      std::string reason);
  void BounceRecipients(ActiveMessage& message, const std::vector<std::uint32_t>& indexes,
                        const std::vector<std::pair<std::string, std::string>>& why,
                        std::string_view action);
  void MaybeFinish(std::uint64_t handle);
  void Finish(ActiveMessage& message);
  core::Status SendBounce(ActiveMessage& message);
  void NoteLocalProblem(ActiveMessage& message, NoticeEvent kind, std::uint32_t index,
                        std::string_view dsn, std::string_view reason);
  void UpdateDelayWarning(ActiveMessage& message, const DeferDecision& decision);
  void SendProblemNotices(ActiveMessage& message);
  void Poke();

  asio::io_context& io_;
  asio::strand<asio::io_context::executor_type> strand_;
  std::shared_ptr<QueueStore> store_;
  std::shared_ptr<const QueueManagerConfig> config_;
  std::unique_ptr<core::DnsResolver> dns_;
  std::unique_ptr<DeliveryAgents> agents_;
  DeliveryScheduler scheduler_;
  BounceSender bounces_;
  asio::steady_timer timer_;

  std::map<std::uint64_t, ActiveMessage> active_;
  std::set<std::string> active_ids_;
  std::set<std::string> flush_ids_;  // flushed messages not activated yet
  std::uint64_t next_handle_ = 1;
  std::size_t running_batches_ = 0;
  bool incoming_dirty_ = true;
  bool poked_ = false;
  bool stopping_ = false;
  bool loop_done_ = false;
  std::chrono::steady_clock::time_point next_deferred_scan_{};
  std::chrono::steady_clock::time_point next_incoming_scan_{};
};

}  // namespace moat::mta
