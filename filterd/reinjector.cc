// reinjector.cc - the connection pool in front of core::SmtpClient.
#include "filterd/reinjector.h"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

// GCC 12 false positive on asio's coroutine frame allocator (see core/smtp_session.cc).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::filterd {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kSweepInterval = std::chrono::seconds(1);
// Pooled connections that turn out to be closed are retried on the next one; after this many
// the next attempt is a fresh connection whatever the pool holds.
constexpr int kMaxStaleRetries = 8;

// A refusal at connect time is never permanent for the mail: the next hop is our own MTA, and a
// 5xx greeting means a misconfiguration that must not bounce messages.
core::SmtpDeliveryResult ConnectFailure(const core::SmtpTransaction& tx, const core::SmtpReply& why,
                                        const std::string& peer) {
  core::SmtpReply reply =
      why.transient()
          ? why
          : core::SmtpReply(451, "4.4.0",
                            fmt::format("reinjection to {} refused: {}", peer, why.ToString()));
  core::SmtpDeliveryResult result;
  result.replies.assign(tx.recipients.size(), reply);
  result.connection_failed = true;
  return result;
}

}  // namespace

Reinjector::Reinjector(asio::io_context& io, ReinjectorOptions options)
    : state_(std::make_shared<State>(io)) {
  state_->options = std::move(options);
  state_->options.client.mode = core::SmtpMode::kSmtp;
}

Reinjector::~Reinjector() {
  std::lock_guard lock(state_->mutex);
  state_->closed = true;
  state_->idle.clear();
  if (state_->timer) {
    asio::post(state_->sweep_strand, [state = state_] { state->timer->cancel(); });
  }
}

void Reinjector::Start() {
  state_->timer = std::make_unique<asio::steady_timer>(state_->sweep_strand);
  asio::co_spawn(state_->sweep_strand, Sweep(state_), asio::detached);
}

void Reinjector::SetOptions(ReinjectorOptions options) {
  options.client.mode = core::SmtpMode::kSmtp;
  std::lock_guard lock(state_->mutex);
  state_->options = std::move(options);
  ++state_->generation;
}

std::size_t Reinjector::idle_connections() const {
  std::lock_guard lock(state_->mutex);
  return state_->idle.size();
}

std::string Reinjector::peer_name() const {
  std::lock_guard lock(state_->mutex);
  return state_->options.peer.ToString();
}

asio::awaitable<void> Reinjector::QuitAndDrop(std::unique_ptr<core::SmtpClient> client) {
  co_await client->Quit();
}

void Reinjector::Retire(State& state, std::unique_ptr<core::SmtpClient> client) {
  asio::co_spawn(state.io, QuitAndDrop(std::move(client)), asio::detached);
}

std::optional<Reinjector::Pooled> Reinjector::TakeIdle() {
  std::vector<std::unique_ptr<core::SmtpClient>> retire;
  std::optional<Pooled> out;
  {
    std::lock_guard lock(state_->mutex);
    auto now = Clock::now();
    const ReinjectorOptions& o = state_->options;
    while (!state_->idle.empty()) {
      Pooled pooled = std::move(state_->idle.back());
      state_->idle.pop_back();
      if (pooled.generation != state_->generation || now - pooled.opened >= o.reuse_time_limit ||
          now - pooled.last_used >= o.idle_limit) {
        retire.push_back(std::move(pooled.client));
        continue;
      }
      out = std::move(pooled);
      break;
    }
  }
  for (auto& client : retire) Retire(*state_, std::move(client));
  return out;
}

void Reinjector::Release(Pooled pooled, const core::SmtpDeliveryResult& result) {
  if (result.connection_failed || !pooled.client->ready()) {
    pooled.client->Close();
    return;
  }
  auto now = Clock::now();
  {
    std::lock_guard lock(state_->mutex);
    const ReinjectorOptions& o = state_->options;
    if (!state_->closed && pooled.generation == state_->generation &&
        now - pooled.opened < o.reuse_time_limit && state_->idle.size() < o.max_idle) {
      pooled.last_used = now;
      state_->idle.push_back(std::move(pooled));
      return;
    }
  }
  Retire(*state_, std::move(pooled.client));
}

asio::awaitable<core::SmtpDeliveryResult> Reinjector::Send(const core::SmtpTransaction& tx) {
  state_->counters.transactions.fetch_add(1, std::memory_order_relaxed);
  for (int attempt = 0;; ++attempt) {
    std::optional<Pooled> pooled;
    if (attempt < kMaxStaleRetries) pooled = TakeIdle();
    const bool fresh = !pooled.has_value();
    if (fresh) {
      ReinjectorOptions options;
      std::uint64_t generation = 0;
      {
        std::lock_guard lock(state_->mutex);
        options = state_->options;
        generation = state_->generation;
      }
      auto client =
          std::make_unique<core::SmtpClient>(asio::make_strand(state_->io), options.client);
      core::SmtpReply reply = co_await client->Connect(options.peer);
      state_->counters.connections_opened.fetch_add(1, std::memory_order_relaxed);
      if (!reply.positive()) {
        state_->counters.connect_failures.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("reinjection: cannot use {}: {}", options.peer.ToString(), reply.ToString());
        client->Close();
        core::SmtpDeliveryResult failure = ConnectFailure(tx, reply, options.peer.ToString());
        co_return failure;
      }
      auto now = Clock::now();
      pooled = Pooled{std::move(client), now, now, generation};
    } else {
      state_->counters.reused.fetch_add(1, std::memory_order_relaxed);
    }
    core::SmtpDeliveryResult result = co_await pooled->client->Send(tx);
    if (result.retry_on_new_connection && !fresh) {
      state_->counters.stale_retries.fetch_add(1, std::memory_order_relaxed);
      pooled->client->Close();
      continue;
    }
    Release(std::move(*pooled), result);
    co_return result;
  }
}

asio::awaitable<void> Reinjector::Sweep(std::shared_ptr<State> state) {
  while (true) {
    state->timer->expires_after(kSweepInterval);
    auto [error] =
        co_await state->timer->async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    (void)error;
    std::vector<std::unique_ptr<core::SmtpClient>> retire;
    {
      std::lock_guard lock(state->mutex);
      if (state->closed) break;
      auto now = Clock::now();
      auto& idle = state->idle;
      for (auto it = idle.begin(); it != idle.end();) {
        if (now - it->last_used >= state->options.idle_limit ||
            now - it->opened >= state->options.reuse_time_limit) {
          retire.push_back(std::move(it->client));
          it = idle.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& client : retire) Retire(*state, std::move(client));
  }
}

asio::awaitable<void> Reinjector::Close() {
  std::vector<Pooled> idle;
  {
    std::lock_guard lock(state_->mutex);
    state_->closed = true;
    idle.swap(state_->idle);
    if (state_->timer) {
      asio::post(state_->sweep_strand, [state = state_] { state->timer->cancel(); });
    }
  }
  for (Pooled& pooled : idle) co_await pooled.client->Quit();
}

}  // namespace moat::filterd
