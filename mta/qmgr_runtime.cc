// qmgr_runtime.cc - the queue manager loop (see qmgr_runtime.h for the life of a message).
#include "mta/qmgr_runtime.h"

// clang-format off
#include <algorithm>
#include <exception>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
// clang-format on

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/config_error.h"
#include "mta/bounce_message.h"
#include "mta/mta_metrics.h"

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::mta {
namespace {

using Clock = std::chrono::steady_clock;

// How often incoming/ is listed even without a wake-up (mail queued by another process).
constexpr auto kIncomingRescan = std::chrono::seconds(5);

int64_t UnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

core::XforwardAttributes XforwardOf(const QueuedMessage& message) {
  const QueueAttributes& a = message.envelope.attributes;
  core::XforwardAttributes x;
  auto set = [](std::optional<std::string>& field, const std::string& value) {
    if (!value.empty()) field = value;
  };
  set(x.name, a.client_name);
  set(x.addr, a.client_address);
  set(x.port, a.client_port);
  set(x.proto, a.protocol);
  set(x.helo, a.helo);
  x.ident = message.id;
  x.source = a.rewrite_context == "local" ? "LOCAL" : "REMOTE";
  return x;
}

}  // namespace

core::Result<std::shared_ptr<const QueueManagerConfig>> QueueManagerConfig::Build(
    std::shared_ptr<const core::Config> main, const core::MasterCf& master,
    std::vector<std::string> dns_servers) {
  try {
    auto config = std::make_shared<QueueManagerConfig>();
    config->main = main;
    config->catalog = TransportCatalog::Build(main, master);
    config->resolver = AddressResolver::Create(config->catalog);
    config->timing = RetryTiming::FromConfig(*main);
    config->myhostname = main->GetString("myhostname");
    config->active_limit = static_cast<std::size_t>(main->GetInt("qmgr_message_active_limit"));
    config->bounce_size_limit = static_cast<std::size_t>(main->GetSize("bounce_size_limit"));
    config->dns_servers = std::move(dns_servers);
    config->notify = NotifyPolicy::FromConfig(*main);
    return std::shared_ptr<const QueueManagerConfig>(std::move(config));
  } catch (const core::ConfigError& e) {
    return core::Fail(core::ErrorCode::kInvalid, "{}: error: {}", e.location().ToString(),
                      e.message());
  } catch (const std::exception& e) {
    return core::Fail(core::ErrorCode::kInvalid, "queue manager configuration: {}", e.what());
  }
}

core::Result<std::unique_ptr<QueueManager>> QueueManager::Create(
    asio::io_context& io, std::shared_ptr<QueueStore> store,
    std::shared_ptr<const QueueManagerConfig> config) {
  std::unique_ptr<QueueManager> manager(new QueueManager(io, std::move(store), config));
  core::DnsResolverOptions dns;
  dns.servers = config->dns_servers;
  auto resolver = core::DnsResolver::Create(manager->strand_, dns);
  if (!resolver) return std::unexpected(resolver.error());
  manager->dns_ = std::move(*resolver);
  try {
    manager->agents_ = std::make_unique<DeliveryAgents>(manager->strand_, config->catalog,
                                                        manager->dns_.get());
  } catch (const core::ConfigError& e) {
    return core::Fail(core::ErrorCode::kInvalid, "{}: error: {}", e.location().ToString(),
                      e.message());
  }
  return manager;
}

QueueManager::QueueManager(asio::io_context& io, std::shared_ptr<QueueStore> store,
                           std::shared_ptr<const QueueManagerConfig> config)
    : io_(io),
      strand_(asio::make_strand(io)),
      store_(std::move(store)),
      config_(std::move(config)),
      scheduler_(config_->catalog, SchedulerOptions{config_->timing.minimal_backoff, false}),
      bounces_(store_, BounceSettings{config_->notify, config_->myhostname,
                                      config_->bounce_size_limit, config_->timing}),
      timer_(strand_) {}

QueueManager::~QueueManager() = default;

void QueueManager::Start() {
  asio::co_spawn(strand_, Loop(), asio::detached);
}

void QueueManager::Wakeup() {
  asio::post(strand_, [this] {
    incoming_dirty_ = true;
    Poke();
  });
}

void QueueManager::Rescan() {
  asio::post(strand_, [this] {
    incoming_dirty_ = true;
    next_deferred_scan_ = Clock::time_point{};
    Poke();
  });
}

void QueueManager::Poke() {
  poked_ = true;
  timer_.cancel();
}

asio::awaitable<void> QueueManager::Stop(std::chrono::milliseconds grace) {
  co_await asio::post(strand_, asio::use_awaitable);
  stopping_ = true;
  Poke();
  auto deadline = Clock::now() + grace;
  asio::steady_timer wait(strand_);
  while ((running_batches_ > 0 || !loop_done_) && Clock::now() < deadline) {
    wait.expires_after(std::chrono::milliseconds(20));
    co_await wait.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }
  if (running_batches_ > 0) {
    spdlog::warn("queue manager: {} deliveries still running at shutdown; their messages stay "
                 "in active/ and are requeued at the next start", running_batches_);
  }
  co_await agents_->Shutdown();
  dns_.reset();  // on its own executor, as the resolver wants
}

asio::awaitable<void> QueueManager::Loop() {
  while (!stopping_) {
    auto now = Clock::now();
    if (now >= next_deferred_scan_) {
      next_deferred_scan_ = now + config_->timing.queue_run_delay;
      ScanDeferred();
    }
    if (incoming_dirty_ || now >= next_incoming_scan_) {
      incoming_dirty_ = false;
      next_incoming_scan_ = now + kIncomingRescan;
      ScanIncoming();
    }
    TakeRefused();
    StartBatches();
    auto deadline = std::min(next_deferred_scan_, next_incoming_scan_);
    if (auto wake = scheduler_.NextWakeup()) deadline = std::min(deadline, *wake);
    // A wake-up time already past that Next() could not act on (a transport at maxproc) must
    // not spin the loop: deliveries finishing poke it anyway.
    deadline = std::max(deadline, Clock::now() + std::chrono::milliseconds(10));
    if (!poked_ && !stopping_) {
      timer_.expires_at(deadline);
      co_await timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
    poked_ = false;
  }
  loop_done_ = true;
}

void QueueManager::ScanIncoming() {
  auto entries = store_->List(QueueName::kIncoming);
  if (!entries) {
    spdlog::error("queue manager: cannot list incoming/: {}", entries.error().message());
    return;
  }
  for (const QueueEntry& entry : *entries) {
    if (active_.size() >= config_->active_limit) {
      incoming_dirty_ = true;  // the rest when messages finish
      return;
    }
    if (!active_ids_.count(entry.id)) Activate(QueueName::kIncoming, entry.id);
  }
}

void QueueManager::ScanDeferred() {
  auto entries = store_->List(QueueName::kDeferred);
  if (!entries) {
    spdlog::error("queue manager: cannot list deferred/: {}", entries.error().message());
    return;
  }
  int64_t now = UnixSeconds(store_->Now());
  for (const QueueEntry& entry : *entries) {
    if (active_.size() >= config_->active_limit) return;
    if (active_ids_.count(entry.id)) continue;
    auto head = store_->ReadHead(QueueName::kDeferred, entry.id);
    if (!head) continue;  // moved away meanwhile, or damaged: OpenFile reports the latter
    if (head->schedule.next_attempt <= now || flush_ids_.count(entry.id)) {
      Activate(QueueName::kDeferred, entry.id);
    }
  }
}

void QueueManager::Activate(QueueName from, const std::string& id) {
  bool flushed = flush_ids_.erase(id) > 0;
  // Not fsynced: see QueueStore::MoveDurability.
  if (auto moved = store_->Move(id, from, QueueName::kActive,
                                QueueStore::MoveDurability::kAtomic);
      !moved) {
    if (moved.error().code() != core::ErrorCode::kNotFound) {
      spdlog::error("{}: cannot move to active/: {}", id, moved.error().message());
    }
    return;
  }
  auto file = store_->OpenFile(QueueName::kActive, id, true, true);
  if (!file) {
    // kNotFound: `moat queue` held or deleted it meanwhile - the administrator's doing.
    if (file.error().code() == core::ErrorCode::kNotFound) {
      spdlog::info("{}: taken out of the queue by the administrator", id);
    } else {
      spdlog::error("{}: cannot open: {}", id, file.error().message());
    }
    return;
  }
  const QueuedMessage& queued = file->message();
  spdlog::info("{}: from=<{}>, size={}, nrcpt={} (queue active)", id, queued.envelope.sender,
               queued.content_length, queued.pending_recipients());
  std::uint64_t handle = next_handle_++;
  ActiveMessage message{handle, std::move(*file), {}, {}, {}, {}, 0, 0, Clock::now()};
  message.activated = Clock::now();
  for (const QueueRecipient& r : message.file.message().envelope.recipients) {
    message.recipients.push_back(Recipient{r.offset, r.status == RecipientStatus::kPending});
  }
  active_ids_.insert(id);
  auto [it, inserted] = active_.emplace(handle, std::move(message));
  Route(it->second, flushed);
  MaybeFinish(handle);
}

void QueueManager::Route(ActiveMessage& message, bool flushed) {
  const QueueEnvelope& envelope = message.file.message().envelope;
  const std::string& filter = envelope.attributes.filter;
  std::map<std::pair<std::string, std::string>, std::vector<std::uint32_t>> groups;
  std::vector<std::uint32_t> bounced;
  std::vector<std::pair<std::string, std::string>> why;
  for (std::uint32_t i = 0; i < message.recipients.size(); ++i) {
    if (!message.recipients[i].pending) continue;
    const std::string& address = envelope.recipients[i].address;
    auto resolved = filter.empty() ? config_->resolver->Resolve(envelope.sender, address)
                                   : config_->resolver->ResolveFilter(filter, address);
    ++message.outstanding;
    if (!resolved) {
      DeferRecipient(message, i, "4.3.0", resolved.error().message());
      NoteLocalProblem(message, NoticeEvent::kSoftware, i, "4.3.0", resolved.error().message());
      continue;
    }
    if (resolved->failure) {
      if (resolved->failure->temporary) {
        DeferRecipient(message, i, resolved->failure->dsn, resolved->failure->reason);
        NoteLocalProblem(message, NoticeEvent::kSoftware, i, resolved->failure->dsn,
                         resolved->failure->reason);
      } else {
        bounced.push_back(i);
        why.emplace_back(resolved->failure->dsn, resolved->failure->reason);
      }
      continue;
    }
    std::pair<std::string, std::string> key{resolved->transport, DestinationKey(*resolved)};
    groups[key].push_back(i);
    message.routes.try_emplace(key, std::move(*resolved));
  }
  if (!bounced.empty()) BounceRecipients(message, bounced, why, "failed");
  auto now = Clock::now();
  for (auto& [key, indexes] : groups) {
    scheduler_.Add(message.handle, mta::Route{key.first, key.second}, std::move(indexes), now,
                   flushed);
  }
}

void QueueManager::StartBatches() {
  if (stopping_) return;
  while (auto batch = scheduler_.Next(Clock::now())) {
    ++running_batches_;
    asio::co_spawn(strand_, RunBatch(std::move(*batch)), asio::detached);
  }
}

asio::awaitable<void> QueueManager::RunBatch(DeliveryBatch batch) {
  auto it = active_.find(batch.message);
  if (it == active_.end()) {  // cannot happen: a message stays while it has outstanding work
    --running_batches_;
    co_return;
  }
  ActiveMessage& message = it->second;
  const QueuedMessage& queued = message.file.message();
  std::shared_ptr<const std::string> content = message.content.lock();
  DeliveryResult result;
  if (!content) {
    auto text = message.file.ReadContent();
    if (text) {
      content = std::make_shared<const std::string>(std::move(*text));
      message.content = content;
    } else {
      spdlog::error("{}: cannot read the content: {}", queued.id, text.error().message());
    }
  }
  DeliveryRequest request;
  request.queue_id = queued.id;
  request.mail.sender = queued.envelope.sender;
  request.mail.size = queued.content_length;
  request.mail.body = queued.envelope.attributes.body;
  request.mail.ret = queued.envelope.attributes.ret;
  request.mail.envid = queued.envelope.attributes.envid;
  request.mail.smtputf8 = queued.envelope.attributes.smtputf8;
  for (std::uint32_t index : batch.recipients) {
    const QueueRecipient& r = queued.envelope.recipients[index];
    DeliveryRecipient recipient;
    recipient.rcpt.recipient = r.address;
    recipient.rcpt.notify = r.notify;
    recipient.rcpt.orcpt_type = r.orcpt_type;
    recipient.rcpt.orcpt = r.orcpt;
    recipient.index = index;
    request.recipients.push_back(std::move(recipient));
  }
  request.xforward = XforwardOf(queued);
  request.content = content;
  request.arrival = std::chrono::system_clock::time_point(
      std::chrono::microseconds(queued.envelope.arrival_us));
  if (content) {
    Resolution route = message.routes.at({batch.route.transport, batch.route.destination});
    // GCC 12: no temporaries inside the co_await expression (the awaitable is a named local).
    auto delivering = agents_->Deliver(std::move(route), std::move(request));
    result = co_await std::move(delivering);
  } else {
    result = UniformResult(request, DeliveryStatus::kDeferred, "4.3.0",
                           "queue file read error");
  }
  bool read_error = !content;
  // The message is still there: its outstanding count kept it in active_.
  ActiveMessage& same = active_.at(batch.message);
  scheduler_.Done(batch, result.site_failure ? BatchOutcome::kSiteFailure
                                             : BatchOutcome::kDelivered,
                  Clock::now(), result.site_dsn, result.site_reason);
  ApplyResult(same, result);
  if (read_error) {
    for (std::uint32_t index : batch.recipients) {
      NoteLocalProblem(same, NoticeEvent::kResource, index, "4.3.0", "queue file read error");
    }
  }
  if (config_->metrics) config_->metrics->RecordDelivery(batch.route.transport, result, queued);
  // A recipient the agent did not answer (it should not happen) is deferred, never dropped.
  std::set<std::uint32_t> answered;
  for (const RecipientResult& r : result.recipients) answered.insert(r.index);
  for (std::uint32_t index : batch.recipients) {
    if (!answered.count(index)) {
      DeferRecipient(same, index, "4.3.0", "no delivery result");
      NoteLocalProblem(same, NoticeEvent::kSoftware, index, "4.3.0", "no delivery result");
    }
  }
  --running_batches_;
  TakeRefused();
  MaybeFinish(batch.message);
  Poke();
}

void QueueManager::ApplyResult(ActiveMessage& message, const DeliveryResult& result) {
  const QueuedMessage& queued = message.file.message();
  std::vector<std::uint64_t> delivered;
  std::vector<std::uint32_t> bounced;
  std::vector<std::pair<std::string, std::string>> why;
  auto age = std::chrono::system_clock::now() -
             std::chrono::system_clock::time_point(
                 std::chrono::microseconds(queued.envelope.arrival_us));
  for (const RecipientResult& r : result.recipients) {
    if (r.index >= message.recipients.size() || !message.recipients[r.index].pending) continue;
    switch (r.status) {
      case DeliveryStatus::kDelivered:
        spdlog::info("{}", FormatDeliveryLog(queued.id, r, result, age));
        delivered.push_back(message.recipients[r.index].offset);
        message.recipients[r.index].pending = false;
        --message.outstanding;
        break;
      case DeliveryStatus::kBounced:
        spdlog::info("{}", FormatDeliveryLog(queued.id, r, result, age));
        bounced.push_back(r.index);
        why.emplace_back(r.dsn, r.reason);
        break;
      case DeliveryStatus::kDeferred:
        spdlog::info("{}", FormatDeliveryLog(queued.id, r, result, age));
        DeferRecipient(message, r.index, r.dsn, r.reason);
        break;
    }
  }
  if (!delivered.empty()) {
    // Written, not fsynced here: a mark only prevents a duplicate, and the file is either
    // deleted when the message is done (the unlink is the record) or fsynced by Defer() when
    // recipients remain. A process crash keeps the write (page cache); a power loss can undo
    // it, and then the recipient is delivered again - never lost. One fsync per delivery on
    // this strand held the whole queue manager to the disk's fsync rate.
    auto marked = message.file.MarkRecipients(delivered, RecipientStatus::kDelivered);
    if (!marked) {
      // The next hop has the message; a mark that did not reach the file means it may be sent
      // again, never lost.
      spdlog::error("{}: cannot mark delivered recipients: {}", queued.id,
                    marked.error().message());
    }
  }
  if (!bounced.empty()) BounceRecipients(message, bounced, why, "failed");
}

void QueueManager::DeferRecipient(ActiveMessage& message, std::uint32_t index, std::string dsn,
                                  std::string reason) {
  if (index >= message.recipients.size() || !message.recipients[index].pending) return;
  const QueueRecipient& r = message.file.message().envelope.recipients[index];
  message.deferred.push_back(RecipientLogEntry{UnixSeconds(store_->Now()), r.offset, r.address,
                                               std::move(dsn), "delayed", std::move(reason)});
  message.recipients[index].pending = false;
  --message.outstanding;
}

void QueueManager::BounceRecipients(ActiveMessage& message,
                                    const std::vector<std::uint32_t>& indexes,
                                    const std::vector<std::pair<std::string, std::string>>& why,
                                    std::string_view action) {
  const QueuedMessage& queued = message.file.message();
  std::vector<RecipientLogEntry> entries;
  std::vector<std::uint64_t> offsets;
  int64_t now = UnixSeconds(store_->Now());
  for (std::size_t k = 0; k < indexes.size(); ++k) {
    std::uint32_t index = indexes[k];
    if (!message.recipients[index].pending) continue;
    const QueueRecipient& r = queued.envelope.recipients[index];
    entries.push_back(RecipientLogEntry{now, r.offset, r.address, why[k].first,
                                        std::string(action), why[k].second});
    offsets.push_back(r.offset);
    message.recipients[index].pending = false;
    --message.outstanding;
  }
  if (entries.empty()) return;
  // The bounce log first (fsynced), then the 'F' marks: a crash in between leaves a pending
  // recipient with a log entry, which is tried again (never a failed one nobody is told of).
  auto logged = store_->AppendLog(RecipientLogKind::kBounce, queued.id, entries);
  if (!logged) {
    spdlog::error("{}: cannot write the bounce log ({}); deferring instead", queued.id,
                  logged.error().message());
    for (RecipientLogEntry& e : entries) {
      e.status = "4.3.0";
      e.action = "delayed";
      e.reason = fmt::format("cannot write the bounce log: {}", logged.error().message());
      message.resource_problems.push_back(e);
      message.deferred.push_back(std::move(e));
    }
    return;
  }
  message.bounced += entries.size();
  auto marked = message.file.MarkRecipients(offsets, RecipientStatus::kFailed);
  if (marked) marked = message.file.Sync();
  if (!marked) {
    spdlog::error("{}: cannot mark failed recipients: {}", queued.id, marked.error().message());
  }
}

void QueueManager::TakeRefused() {
  std::set<std::uint64_t> touched;
  for (RefusedRecipients& refused : scheduler_.TakeRefused()) {
    auto it = active_.find(refused.message);
    if (it == active_.end()) continue;
    for (std::uint32_t index : refused.recipients) {
      const QueueRecipient& r = it->second.file.message().envelope.recipients[index];
      spdlog::info("{}: to=<{}>, relay=none, dsn={}, status=deferred ({})",
                   it->second.file.id(), r.address, refused.dsn, refused.reason);
      DeferRecipient(it->second, index, refused.dsn, refused.reason);
    }
    touched.insert(refused.message);
  }
  for (std::uint64_t handle : touched) MaybeFinish(handle);
}

void QueueManager::MaybeFinish(std::uint64_t handle) {
  auto it = active_.find(handle);
  if (it == active_.end() || it->second.outstanding > 0) return;
  std::string id = it->second.file.id();
  Finish(it->second);
  active_.erase(it);
  active_ids_.erase(id);
  incoming_dirty_ = true;  // room for more
}

void QueueManager::Finish(ActiveMessage& message) {
  const QueuedMessage& queued = message.file.message();
  const std::string id = queued.id;
  bool null_sender = queued.envelope.sender.empty();
  std::size_t pending = queued.pending_recipients();
  auto now = store_->Now();
  auto arrival = std::chrono::system_clock::time_point(
      std::chrono::microseconds(queued.envelope.arrival_us));

  if (pending > 0) {
    const QueueSchedule& schedule = queued.envelope.schedule;
    DeferDecision decision =
        DecideDeferred(config_->timing, arrival, now, null_sender,
                       WarningState{schedule.warn_time, schedule.attempts == 0});
    if (decision.action != DeferredAction::kExpire) {
      UpdateDelayWarning(message, decision);
      SendProblemNotices(message);
    }
    if (decision.action == DeferredAction::kExpire) {
      std::vector<std::uint32_t> indexes;
      std::vector<std::pair<std::string, std::string>> why;
      for (const RecipientLogEntry& note : message.deferred) {
        for (std::uint32_t i = 0; i < message.recipients.size(); ++i) {
          if (message.recipients[i].offset != note.offset) continue;
          message.recipients[i].pending = true;  // BounceRecipients takes pending ones
          ++message.outstanding;
          indexes.push_back(i);
          why.emplace_back(note.status.empty() ? "4.0.0" : note.status,
                           fmt::format("delivery expired: {}", note.reason));
        }
      }
      spdlog::info("{}: from=<{}>, status=expired, returned to sender", id,
                   queued.envelope.sender);
      BounceRecipients(message, indexes, why, "failed");
      message.deferred.clear();
      pending = message.file.message().pending_recipients();
    }
  }

  bool bounce_pending = message.bounced > 0;
  if (!bounce_pending) {
    auto log = store_->ReadLog(RecipientLogKind::kBounce, id);
    bounce_pending = log && !log->empty();
  }
  bool bounce_failed = false;
  if (bounce_pending) {
    if (auto sent = SendBounce(message); !sent) {
      spdlog::error("{}: cannot queue the non-delivery notification: {}; will retry", id,
                    sent.error().message());
      bounce_failed = true;
    }
  }

  if (pending == 0 && !bounce_failed) {
    if (auto removed = store_->Recycle(message.file, QueueName::kActive); !removed) {
      spdlog::error("{}: cannot remove: {}", id, removed.error().message());
    } else {
      spdlog::info("{}: removed", id);
    }
    return;
  }
  auto next = NextAttempt(config_->timing, arrival, now);
  if (auto deferred = store_->Defer(message.file, QueueName::kActive, message.deferred,
                                    UnixSeconds(next));
      !deferred) {
    if (deferred.error().code() == core::ErrorCode::kNotFound) {
      spdlog::info("{}: taken out of the queue by the administrator", id);
    } else {
      spdlog::error("{}: cannot move to deferred/: {}", id, deferred.error().message());
    }
  }
}

core::Status QueueManager::SendBounce(ActiveMessage& message) {
  const QueuedMessage& queued = message.file.message();
  auto entries = store_->ReadLog(RecipientLogKind::kBounce, queued.id);
  if (!entries) return std::unexpected(entries.error());
  if (entries->empty()) return {};
  // The report to the sender, or for a failed notice the double bounce to the postmaster (or
  // nothing): never a bounce to the null sender, which is how bounce loops are prevented.
  auto sent = bounces_.Send(NoticeEvent::kFailure, message.file, *entries, Clock::now());
  if (!sent) return std::unexpected(sent.error());
  if (*sent > 0) incoming_dirty_ = true;
  return store_->RemoveLog(RecipientLogKind::kBounce, queued.id);
}

void QueueManager::NoteLocalProblem(ActiveMessage& message, NoticeEvent kind,
                                    std::uint32_t index, std::string_view dsn,
                                    std::string_view reason) {
  if (index >= message.recipients.size()) return;
  const QueueRecipient& r = message.file.message().envelope.recipients[index];
  auto& list = kind == NoticeEvent::kResource ? message.resource_problems
                                              : message.software_problems;
  list.push_back(RecipientLogEntry{UnixSeconds(store_->Now()), r.offset, r.address,
                                   std::string(dsn), "delayed", std::string(reason)});
}

void QueueManager::UpdateDelayWarning(ActiveMessage& message, const DeferDecision& decision) {
  QueueSchedule schedule = message.file.message().envelope.schedule;
  int64_t warn_time = decision.warn_time;
  if (decision.action == DeferredAction::kWarnAndRetryLater) {
    // Queued before the SCHEDULE record forgets it: a crash in between warns twice, never not.
    auto sent = bounces_.Send(NoticeEvent::kDelay, message.file, message.deferred, Clock::now());
    if (!sent) {
      spdlog::error("{}: cannot queue the delay notification: {}; will retry",
                    message.file.id(), sent.error().message());
      warn_time = UnixSeconds(store_->Now());  // still due at the next attempt
      for (RecipientLogEntry entry : message.deferred) {
        entry.status = "4.3.0";
        entry.reason = fmt::format("cannot queue the delay notification: {}",
                                   sent.error().message());
        message.resource_problems.push_back(std::move(entry));
      }
    } else if (*sent > 0) {
      incoming_dirty_ = true;
    }
  }
  if (warn_time == schedule.warn_time) return;
  schedule.warn_time = warn_time;
  // Made durable by the Defer() that follows (it syncs the schedule it extends).
  if (auto set = message.file.SetSchedule(schedule); !set) {
    spdlog::error("{}: cannot update the delay warning time: {}", message.file.id(),
                  set.error().message());
  }
}

void QueueManager::SendProblemNotices(ActiveMessage& message) {
  for (NoticeEvent kind : {NoticeEvent::kResource, NoticeEvent::kSoftware}) {
    auto& list = kind == NoticeEvent::kResource ? message.resource_problems
                                                : message.software_problems;
    if (list.empty()) continue;
    auto sent = bounces_.Send(kind, message.file, list, Clock::now());
    if (!sent) {
      spdlog::warn("{}: cannot queue the postmaster notice: {}", message.file.id(),
                   sent.error().message());
    } else if (*sent > 0) {
      incoming_dirty_ = true;
    }
    list.clear();
  }
}

}  // namespace moat::mta
