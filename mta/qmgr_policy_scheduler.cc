// qmgr_policy_scheduler.cc - round-robin delivery scheduling (after Postfix qmgr_transport.c,
// qmgr_queue.c and qmgr_entry.c, without the job/peer preemption of nqmgr).
#include "mta/qmgr_policy_scheduler.h"

#include <algorithm>

namespace moat::mta {

std::string DestinationKey(const Resolution& resolution) {
  if (resolution.settings != nullptr && resolution.settings->destination_recipient_limit == 1) {
    return LowerAscii(resolution.recipient);
  }
  return LowerAscii(resolution.nexthop);
}

DeliveryScheduler::DeliveryScheduler(std::shared_ptr<const TransportCatalog> catalog,
                                     SchedulerOptions options)
    : catalog_(std::move(catalog)), options_(options) {}

DeliveryScheduler::Destination& DeliveryScheduler::Get(const Route& route) {
  Key key{route.transport, route.destination};
  auto it = destinations_.find(key);
  if (it != destinations_.end()) return it->second;
  const TransportSettings* transport = catalog_->Find(route.transport);
  ConcurrencyPolicy policy =
      transport != nullptr ? ConcurrencyPolicy::FromTransport(*transport) : ConcurrencyPolicy{};
  auto [inserted, ok] = destinations_.emplace(
      key, Destination{route, transport, DestinationWindow(policy), {}, 0, {}, {}, {}, false});
  return inserted->second;
}

void DeliveryScheduler::Refuse(std::uint64_t message, std::vector<std::uint32_t> recipients,
                               const Route& route, const std::string& dsn,
                               const std::string& reason) {
  refused_.push_back(RefusedRecipients{message, std::move(recipients), route, dsn, reason});
}

void DeliveryScheduler::Refuse(Destination& d) {
  std::string reason = "delivery temporarily suspended: " + d.window.dead_reason();
  for (Pending& p : d.pending) {
    queued_ -= p.recipients.size();
    Refuse(p.message, std::move(p.recipients), d.route, d.dead_dsn, reason);
  }
  d.pending.clear();
}

void DeliveryScheduler::Revive(Destination& d, SteadyTime now) {
  if (d.window.dead() && d.dead_until && *d.dead_until <= now) ReviveNow(d);
}

void DeliveryScheduler::ReviveNow(Destination& d) {
  if (!d.window.dead()) return;
  d.window.Resume(d.busy);
  d.dead_until.reset();
  d.dead_dsn.clear();
}

void DeliveryScheduler::ForgetDeadDestinations() {
  for (auto& [key, d] : destinations_) ReviveNow(d);
}

void DeliveryScheduler::Add(std::uint64_t message, const Route& route,
                            std::vector<std::uint32_t> recipients, SteadyTime now,
                            bool flushed) {
  if (recipients.empty()) return;
  const TransportSettings* transport = catalog_->Find(route.transport);
  if (transport == nullptr) {
    Refuse(message, std::move(recipients), route, "4.3.0", "mail transport unavailable");
    return;
  }
  if (transport->deferred && !options_.flush_deferred_transports && !flushed) {
    Refuse(message, std::move(recipients), route, "4.3.2", "deferred transport");
    return;
  }
  Destination& d = Get(route);
  if (flushed) ReviveNow(d);
  Revive(d, now);
  if (d.window.dead()) {
    Refuse(message, std::move(recipients), route, d.dead_dsn,
           "delivery temporarily suspended: " + d.window.dead_reason());
    return;
  }
  queued_ += recipients.size();
  d.pending.push_back(Pending{message, std::move(recipients)});
  if (!d.in_ring) {
    d.in_ring = true;
    ring_.push_back(Key{route.transport, route.destination});
  }
}

std::optional<DeliveryBatch> DeliveryScheduler::Next(SteadyTime now) {
  for (std::size_t turns = ring_.size(); turns > 0; --turns) {
    Key key = std::move(ring_.front());
    ring_.pop_front();
    auto it = destinations_.find(key);
    if (it == destinations_.end()) continue;
    Destination& d = it->second;
    d.in_ring = false;
    if (d.pending.empty()) continue;
    Revive(d, now);
    const TransportSettings* t = d.transport;
    int& transport_busy = transport_busy_[key.first];
    bool rate_limited = t != nullptr && t->destination_rate_delay.count() > 0 &&
                        (d.busy > 0 || (d.rate_delay_until && now < *d.rate_delay_until));
    bool eligible = d.window.CanStart(d.busy) && !rate_limited &&
                    (t == nullptr || t->process_limit <= 0 || transport_busy < t->process_limit);
    if (!eligible) {
      d.in_ring = true;
      ring_.push_back(std::move(key));
      continue;
    }
    DeliveryBatch batch;
    batch.id = next_batch_++;
    batch.route = d.route;
    Pending& front = d.pending.front();
    batch.message = front.message;
    std::size_t limit = t != nullptr && t->destination_recipient_limit > 0
                            ? static_cast<std::size_t>(t->destination_recipient_limit)
                            : front.recipients.size();
    if (front.recipients.size() <= limit) {
      batch.recipients = std::move(front.recipients);
      d.pending.pop_front();
    } else {
      batch.recipients.assign(front.recipients.begin(),
                              front.recipients.begin() + static_cast<long>(limit));
      front.recipients.erase(front.recipients.begin(),
                             front.recipients.begin() + static_cast<long>(limit));
    }
    queued_ -= batch.recipients.size();
    ++d.busy;
    ++transport_busy;
    ++running_;
    if (!d.pending.empty()) {
      d.in_ring = true;
      ring_.push_back(std::move(key));
    }
    return batch;
  }
  Prune(now);
  return std::nullopt;
}

void DeliveryScheduler::Prune(SteadyTime now) {
  for (auto it = destinations_.begin(); it != destinations_.end();) {
    Destination& d = it->second;
    if (d.rate_delay_until && *d.rate_delay_until <= now) d.rate_delay_until.reset();
    if (d.busy == 0 && d.pending.empty() && !d.window.dead() && !d.rate_delay_until &&
        !d.in_ring) {
      it = destinations_.erase(it);
    } else {
      ++it;
    }
  }
}

void DeliveryScheduler::Done(const DeliveryBatch& batch, BatchOutcome outcome, SteadyTime now,
                             const std::string& dsn, const std::string& reason) {
  Key key{batch.route.transport, batch.route.destination};
  auto it = destinations_.find(key);
  if (it == destinations_.end()) return;
  Destination& d = it->second;
  d.busy = std::max(0, d.busy - 1);
  int& transport_busy = transport_busy_[key.first];
  transport_busy = std::max(0, transport_busy - 1);
  if (running_ > 0) --running_;
  if (outcome == BatchOutcome::kDelivered) {
    d.window.OnSuccess(d.busy);
  } else {
    bool was_dead = d.window.dead();
    d.window.OnSiteFailure(reason);
    if (d.window.dead() && !was_dead) {
      d.dead_until = now + options_.minimal_backoff;
      d.dead_dsn = dsn.empty() ? "4.4.1" : dsn;
      Refuse(d);
    }
  }
  if (d.transport != nullptr && d.transport->destination_rate_delay.count() > 0) {
    d.rate_delay_until = now + d.transport->destination_rate_delay;
  }
  if (d.busy == 0 && d.pending.empty() && !d.window.dead() && !d.rate_delay_until &&
      !d.in_ring) {
    destinations_.erase(it);  // an idle destination forgets its window, as Postfix's does
  }
}

std::vector<RefusedRecipients> DeliveryScheduler::TakeRefused() {
  std::vector<RefusedRecipients> out;
  out.swap(refused_);
  return out;
}

std::optional<SteadyTime> DeliveryScheduler::NextWakeup() const {
  std::optional<SteadyTime> wakeup;
  auto consider = [&](SteadyTime t) {
    if (!wakeup || t < *wakeup) wakeup = t;
  };
  for (const auto& [key, d] : destinations_) {
    if (d.dead_until) consider(*d.dead_until);
    if (d.rate_delay_until && !d.pending.empty()) consider(*d.rate_delay_until);
  }
  return wakeup;
}

const DestinationWindow* DeliveryScheduler::Window(const Route& route) const {
  auto it = destinations_.find(Key{route.transport, route.destination});
  return it == destinations_.end() ? nullptr : &it->second.window;
}

}  // namespace moat::mta
