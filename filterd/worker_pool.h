// worker_pool.h - the bounded pool of threads moat-filterd runs CPU work (and blocking disk
// work) on, so a slow scan or an fsync never stalls the LMTP sessions.
//
// A fixed number of threads take jobs from one FIFO queue of bounded length. A job that does not
// fit is refused at once (TrySubmit() returns false; Run() completes with kRefused): the caller
// answers 451 4.3.2 instead of building an unbounded backlog (DESIGN.md "Concurrency"). Each
// thread owns one WorkerResources (stage.h), handed to every job it runs.
//
// Run() is the coroutine side: it queues `job` and suspends the calling coroutine until a worker
// finished it, then resumes it on the coroutine's own executor (its strand). While it is
// suspended the caller's objects referenced by the job stay alive, because the coroutine frame
// does; the job must not touch anything the coroutine might destroy in the meantime (nothing
// can: a suspended coroutine does nothing).
//
// Stop() (also the destructor) finishes the jobs already queued, then joins the threads; jobs
// submitted after Stop() are refused.
//
// Thread safety: all methods may be called from any thread.
#pragma once

// clang-format off
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
// clang-format on

#include "filterd/stage.h"

namespace moat::filterd {

class WorkerPool {
 public:
  using Job = std::move_only_function<void(WorkerResources&)>;

  // `name` labels the threads in logs ("scan", "disk").
  WorkerPool(std::string name, unsigned threads, std::size_t queue_limit);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `job`; false (job dropped, never run) when the queue is full or the pool stopped.
  bool TrySubmit(Job job);

  // kThrew: the job threw (a bug; the caller treats it as a temporary failure).
  enum class RunResult { kDone, kRefused, kThrew };
  // Runs `job` on a worker and resumes the caller when it is done; kRefused when it did not fit.
  template <typename F>
  asio::awaitable<RunResult> Run(F job);

  void Stop();

  unsigned threads() const { return static_cast<unsigned>(threads_.size()); }
  std::size_t queue_limit() const { return queue_limit_; }
  std::size_t queued() const;
  std::uint64_t refused() const;

 private:
  void Loop(unsigned index);

  std::string name_;
  std::size_t queue_limit_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::uint64_t refused_ = 0;
  std::vector<std::thread> threads_;
};

template <typename F>
asio::awaitable<WorkerPool::RunResult> WorkerPool::Run(F job) {
  auto initiate = [this, &job](auto handler) mutable {
    auto executor = asio::get_associated_executor(handler);
    // The handler goes into the job; if the pool refuses, TrySubmit hands it back through
    // `refused_handler` so the caller still resumes (never inline: post to its executor).
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    bool queued = TrySubmit([shared, executor, fn = std::move(job)](WorkerResources& r) mutable {
      RunResult result = RunResult::kDone;
      try {
        fn(r);
      } catch (...) {
        result = RunResult::kThrew;
      }
      asio::post(executor, [shared, result]() mutable { (*shared)(result); });
    });
    if (!queued) asio::post(executor, [shared]() mutable { (*shared)(RunResult::kRefused); });
  };
  RunResult result =
      co_await asio::async_initiate<decltype(asio::use_awaitable), void(RunResult)>(
          std::move(initiate), asio::use_awaitable);
  co_return result;
}

}  // namespace moat::filterd
