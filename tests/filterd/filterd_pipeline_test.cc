// filterd_pipeline_test.cc - the stage runner and the bounded worker pool: order, batching,
// failure modes, overload.
#include "filterd/message_pipeline.h"

#include <gtest/gtest.h>

#include <future>
#include <set>
#include <sstream>
#include <thread>

#include "filterd/worker_pool.h"
#include "tests/filterd/filterd_test_helpers.h"

namespace moat::filterd {
namespace {

using core::testing::IoThread;
using Status = PipelineResult::Status;

std::string ThisThread() {
  std::ostringstream out;
  out << std::this_thread::get_id();
  return out.str();
}

// Notes "<name>@<thread>" in the trace.
class RecordingStage : public Stage {
 public:
  explicit RecordingStage(std::string name, bool async = false)
      : name_(std::move(name)), async_(async) {}
  std::string_view name() const override { return name_; }
  bool is_async() const override { return async_; }
  core::Status Run(MessageContext& context, WorkerResources& resources) const override {
    int& runs = resources.Slot<int>("runs", [] { return std::make_shared<int>(0); });
    ++runs;
    context.trace.push_back(name_ + "@" + ThisThread());
    return {};
  }
  asio::awaitable<core::Status> RunAsync(MessageContext& context) const override {
    context.trace.push_back(name_ + "@" + ThisThread());
    co_return core::Status{};
  }

 private:
  std::string name_;
  bool async_;
};

class ThrowingStage : public Stage {
 public:
  std::string_view name() const override { return "throwing"; }
  core::Status Run(MessageContext&, WorkerResources&) const override {
    throw std::runtime_error("boom");
  }
};

class NoRunStage : public Stage {
 public:
  std::string_view name() const override { return "norun"; }
};

asio::awaitable<std::string> CurrentThread() { co_return ThisThread(); }

std::string ThreadOf(const std::string& note) { return note.substr(note.find('@') + 1); }

TEST(MessagePipelineTest, StagesRunInOrderAndConsecutiveCpuStagesShareOneJob) {
  IoThread io;
  WorkerPool pool("test", 2, 4);
  StageList stages = {std::make_shared<RecordingStage>("a"), std::make_shared<RecordingStage>("b"),
                      std::make_shared<RecordingStage>("io", true),
                      std::make_shared<RecordingStage>("c")};
  MessageContext context;
  PipelineResult result = io.Run(RunPipeline(stages, context, pool));
  EXPECT_EQ(result.status, Status::kDone);
  ASSERT_EQ(context.trace.size(), 4u);
  EXPECT_TRUE(context.trace[0].starts_with("a@"));
  EXPECT_TRUE(context.trace[1].starts_with("b@"));
  EXPECT_TRUE(context.trace[2].starts_with("io@"));
  EXPECT_TRUE(context.trace[3].starts_with("c@"));
  EXPECT_EQ(ThreadOf(context.trace[0]), ThreadOf(context.trace[1]));  // one job
  // The I/O stage runs on the io thread, the CPU stages never do.
  std::string io_thread = io.Run(CurrentThread());
  EXPECT_EQ(ThreadOf(context.trace[2]), io_thread);
  EXPECT_NE(ThreadOf(context.trace[0]), io_thread);
  ASSERT_EQ(context.timings.size(), 4u);
  EXPECT_EQ(context.timings[2].stage, "io");
}

TEST(MessagePipelineTest, RecordUncheckedFailureAddsAFindingAndGoesOn) {
  IoThread io;
  WorkerPool pool("test", 1, 4);
  StageList stages = {
      std::make_shared<testing::FailingStage>(FailureMode::kRecordUnchecked),
      std::make_shared<RecordingStage>("after")};
  MessageContext context;
  PipelineResult result = io.Run(RunPipeline(stages, context, pool));
  EXPECT_EQ(result.status, Status::kDone);
  ASSERT_EQ(context.findings.size(), 1u);
  EXPECT_EQ(context.findings[0].stage, "failing");
  EXPECT_EQ(context.findings[0].content_class, ContentClass::kUnchecked);
  EXPECT_EQ(context.findings[0].subclass, "scanner-failure");
  EXPECT_NE(context.findings[0].detail.find("engine exploded"), std::string::npos);
  EXPECT_TRUE(context.trace.back().starts_with("after@"));
}

TEST(MessagePipelineTest, TempFailStopsThePipelineAndIsNeverClean) {
  IoThread io;
  WorkerPool pool("test", 1, 4);
  StageList stages = {std::make_shared<testing::FailingStage>(FailureMode::kTempFail),
                      std::make_shared<RecordingStage>("after")};
  MessageContext context;
  PipelineResult result = io.Run(RunPipeline(stages, context, pool));
  EXPECT_EQ(result.status, Status::kFailed);
  EXPECT_EQ(result.stage, "failing");
  ASSERT_TRUE(result.error.has_value());
  EXPECT_TRUE(context.trace.empty());
}

TEST(MessagePipelineTest, ThrowingStageAndStageWithoutRunFail) {
  IoThread io;
  WorkerPool pool("test", 1, 4);
  for (auto stage : {std::shared_ptr<const Stage>(std::make_shared<ThrowingStage>()),
                     std::shared_ptr<const Stage>(std::make_shared<NoRunStage>())}) {
    MessageContext context;
    PipelineResult result = io.Run(RunPipeline({stage}, context, pool));
    EXPECT_EQ(result.status, Status::kFailed) << stage->name();
    EXPECT_EQ(result.stage, stage->name());
  }
}

TEST(MessagePipelineTest, FullPoolIsOverloadNotABacklog) {
  IoThread io(2);
  WorkerPool pool("test", 1, 1);
  auto blocking = std::make_shared<testing::BlockingStage>();
  StageList stages = {blocking};
  MessageContext running, queued, refused;
  auto first = asio::co_spawn(io.io(), RunPipeline(stages, running, pool), asio::use_future);
  ASSERT_TRUE(moat::testing::WaitUntil([&] { return blocking->running() == 1; }));
  auto second = asio::co_spawn(io.io(), RunPipeline(stages, queued, pool), asio::use_future);
  ASSERT_TRUE(moat::testing::WaitUntil([&] { return pool.queued() == 1; }));
  PipelineResult third = io.Run(RunPipeline(stages, refused, pool));
  EXPECT_EQ(third.status, Status::kOverload);
  EXPECT_EQ(pool.refused(), 1u);
  blocking->Release();
  EXPECT_EQ(first.get().status, Status::kDone);
  EXPECT_EQ(second.get().status, Status::kDone);
}

TEST(WorkerPoolTest, StopFinishesQueuedJobsAndRefusesNewOnes) {
  std::atomic<int> done{0};
  WorkerPool pool("test", 2, 100);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(pool.TrySubmit([&done](WorkerResources&) { done.fetch_add(1); }));
  }
  pool.Stop();
  EXPECT_EQ(done.load(), 50);
  EXPECT_FALSE(pool.TrySubmit([](WorkerResources&) {}));
}

TEST(WorkerPoolTest, EachThreadHasItsOwnResources) {
  WorkerPool pool("test", 3, 1000);
  std::mutex mutex;
  std::set<int*> slots;
  std::atomic<int> done{0};
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(pool.TrySubmit([&](WorkerResources& r) {
      int& slot = r.Slot<int>("x", [] { return std::make_shared<int>(0); });
      ++slot;
      std::lock_guard lock(mutex);
      slots.insert(&slot);
      done.fetch_add(1);
    }));
  }
  pool.Stop();
  EXPECT_EQ(done.load(), 300);
  EXPECT_LE(slots.size(), 3u);
}

}  // namespace
}  // namespace moat::filterd
