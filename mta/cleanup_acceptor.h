// cleanup_acceptor.h - the MessageAcceptor behind smtpd (incoming_message.h): cleanup, then a
// durable commit into the queue, on a pool of writer threads.
//
// Accept() hands the message to one of `queue_writer_threads` threads, which draws a queue ID,
// runs cleanup (cleanup_message.h) and commits the queue file (QueueStore::Commit: file fsync,
// rename, directory fsync shared with the other commits in flight), then resumes the calling
// coroutine on its own executor with the queue ID. The SMTP session's thread never blocks on the
// disk, and N sessions committing at once share directory fsyncs and let the file system batch
// their journal commits (the benchmark tests/bench/queue_bench.cc shows the effect).
//
// Results, as incoming_message.h promises: a queue ID once the file and its directory entry are
// durable; `discarded` for DISCARD (nothing queued); kPermFail/kTempFail with an enhanced
// status code first (cleanup_message.h); kIo/kTempFail when the queue could not be written.
// Nothing is ever left half-written (queue_store.h).
//
// Lifetime and threads: Accept() may be called from any thread or coroutine, concurrently; the
// acceptor must outlive every Accept() in flight (its destructor waits for running commits).
// UpdateSettings() swaps the cleanup configuration atomically (SIGHUP); messages already in
// cleanup finish with the old one.
#pragma once

// Standard headers before asio's (see core/smtp_stream.h).
// clang-format off
#include <cstddef>
#include <memory>
#include <mutex>
#include <asio/awaitable.hpp>
#include <asio/thread_pool.hpp>
// clang-format on

#include "core/config.h"
#include "core/error.h"
#include "mta/cleanup_message.h"
#include "mta/cleanup_settings.h"
#include "mta/incoming_message.h"
#include "mta/queue_store.h"

namespace moat::mta {

class CleanupAcceptor : public MessageAcceptor {
 public:
  CleanupAcceptor(std::shared_ptr<QueueStore> store,
                  std::shared_ptr<const CleanupSettings> settings, size_t threads = 16);
  ~CleanupAcceptor() override;
  CleanupAcceptor(const CleanupAcceptor&) = delete;
  CleanupAcceptor& operator=(const CleanupAcceptor&) = delete;

  // The acceptor moat-mta runs: the queue at queue_directory (created when missing), cleanup
  // settings from `config`, queue_writer_threads threads. Recovery is the caller's (run
  // store()->Recover() before the queue manager starts).
  static core::Result<std::unique_ptr<CleanupAcceptor>> FromConfig(const core::Config& config);

  asio::awaitable<core::Result<AcceptResult>> Accept(IncomingMessage message) override;

  // The same on the calling thread (tests, tools): cleanup and commit, blocking.
  core::Result<AcceptResult> AcceptNow(const IncomingMessage& message);

  void UpdateSettings(std::shared_ptr<const CleanupSettings> settings);
  QueueStore& store() { return *store_; }
  const std::shared_ptr<QueueStore>& shared_store() const { return store_; }

 private:
  std::shared_ptr<const CleanupSettings> Settings() const;

  std::shared_ptr<QueueStore> store_;
  mutable std::mutex settings_mutex_;
  std::shared_ptr<const CleanupSettings> settings_;
  asio::thread_pool pool_;
};

}  // namespace moat::mta
