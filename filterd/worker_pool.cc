// worker_pool.cc - fixed threads over one bounded FIFO.
#include "filterd/worker_pool.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <exception>

namespace moat::filterd {

WorkerPool::WorkerPool(std::string name, unsigned threads, std::size_t queue_limit)
    : name_(std::move(name)), queue_limit_(std::max<std::size_t>(queue_limit, 1)) {
  threads = std::max(threads, 1u);
  threads_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this, i] { Loop(i); });
}

WorkerPool::~WorkerPool() { Stop(); }

bool WorkerPool::TrySubmit(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= queue_limit_) {
      ++refused_;
      return false;
    }
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void WorkerPool::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

std::size_t WorkerPool::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

std::uint64_t WorkerPool::refused() const {
  std::lock_guard lock(mutex_);
  return refused_;
}

void WorkerPool::Loop(unsigned index) {
  std::string thread_name = fmt::format("{}-{}", name_, index).substr(0, 15);
  pthread_setname_np(pthread_self(), thread_name.c_str());
  WorkerResources resources;
  while (true) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      job(resources);
    } catch (const std::exception& e) {
      // Run() catches for its callers; this is for bare TrySubmit() jobs. Keep the thread.
      spdlog::critical("{} worker {}: job threw: {}", name_, index, e.what());
    }
  }
}

}  // namespace moat::filterd
