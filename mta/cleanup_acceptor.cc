// cleanup_acceptor.cc - cleanup + durable commit on the writer pool.
// Standard headers before asio's (see core/smtp_stream.h).
// clang-format off
#include <chrono>
#include <utility>
#include <asio.hpp>
// clang-format on

#include "mta/cleanup_acceptor.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace moat::mta {
namespace {

constexpr int kIdAttempts = 3;  // a queue ID collision (another process) draws a new ID

// Runs `work` on `pool` and resumes the awaiting coroutine on its own executor with the result.
// The coroutine's executor is kept busy meanwhile, so its io_context does not run out of work.
template <typename Work>
auto RunOnPool(asio::thread_pool& pool, Work work) {
  using Result = decltype(work());
  return asio::async_initiate<decltype(asio::use_awaitable), void(Result)>(
      [&pool](auto handler, Work work) {
        auto tracked = asio::prefer(asio::get_associated_executor(handler),
                                    asio::execution::outstanding_work.tracked);
        asio::post(pool, [handler = std::move(handler), work = std::move(work),
                          tracked = std::move(tracked)]() mutable {
          Result result = work();
          asio::post(tracked, [handler = std::move(handler),
                               result = std::move(result)]() mutable {
            std::move(handler)(std::move(result));
          });
        });
      },
      asio::use_awaitable, std::move(work));
}

}  // namespace

CleanupAcceptor::CleanupAcceptor(std::shared_ptr<QueueStore> store,
                                 std::shared_ptr<const CleanupSettings> settings, size_t threads)
    : store_(std::move(store)), settings_(std::move(settings)), pool_(std::max<size_t>(1, threads)) {}

CleanupAcceptor::~CleanupAcceptor() { pool_.join(); }

core::Result<std::unique_ptr<CleanupAcceptor>> CleanupAcceptor::FromConfig(
    const core::Config& config) {
  auto settings = CleanupSettings::Build(config);
  if (!settings) return std::unexpected(settings.error());
  QueueStoreOptions options;
  try {
    options.directory = config.GetPath("queue_directory");
    options.spare_files = static_cast<size_t>(config.GetInt("queue_file_reuse_limit"));
  } catch (const std::exception& e) {
    return core::Fail(core::ErrorCode::kInvalid, "queue_directory: {}", e.what());
  }
  auto store = QueueStore::Open(std::move(options));
  if (!store) return std::unexpected(store.error());
  size_t threads = static_cast<size_t>(config.GetInt("queue_writer_threads"));
  return std::make_unique<CleanupAcceptor>(std::move(*store), std::move(*settings), threads);
}

std::shared_ptr<const CleanupSettings> CleanupAcceptor::Settings() const {
  std::lock_guard lock(settings_mutex_);
  return settings_;
}

void CleanupAcceptor::UpdateSettings(std::shared_ptr<const CleanupSettings> settings) {
  std::lock_guard lock(settings_mutex_);
  settings_ = std::move(settings);
}

core::Result<AcceptResult> CleanupAcceptor::AcceptNow(const IncomingMessage& message) {
  Cleanup cleanup(Settings());
  for (int attempt = 0;; ++attempt) {
    std::string id = store_->NewId();
    auto outcome = cleanup.Process(message, id, store_->Now());
    if (!outcome) {
      spdlog::info("{}: reject: {} from [{}]; from=<{}>", id, outcome.error().message(),
                   message.session.client_address, message.envelope.mail.sender);
      return std::unexpected(outcome.error());
    }
    if (outcome->discarded) return AcceptResult{"", true};
    auto committed = store_->Commit(id, outcome->envelope, outcome->content, outcome->target);
    if (committed) {
      spdlog::info("{}: from=<{}>, size={}, nrcpt={} (queue {})", id, outcome->envelope.sender,
                   outcome->content.size(), outcome->envelope.recipients.size(),
                   QueueNameText(outcome->target));
      return AcceptResult{id, false};
    }
    bool collision = committed.error().code() == core::ErrorCode::kTempFail &&
                     committed.error().message().find("already in use") != std::string::npos;
    if (!collision || attempt + 1 >= kIdAttempts) {
      spdlog::warn("{}: queue file write error: {}", id, committed.error().message());
      return core::Fail(committed.error().code(), "4.3.0 queue file write error: {}",
                        committed.error().message());
    }
  }
}

asio::awaitable<core::Result<AcceptResult>> CleanupAcceptor::Accept(IncomingMessage message) {
  // GCC 12 destroys temporaries of a co_await full-expression wrongly (a lambda holding the
  // message was freed twice): build the work and the awaitable as named locals first.
  auto shared = std::make_shared<const IncomingMessage>(std::move(message));
  auto work = [this, shared]() { return AcceptNow(*shared); };
  auto pending = RunOnPool(pool_, std::move(work));
  auto result = co_await std::move(pending);
  co_return result;
}

}  // namespace moat::mta
