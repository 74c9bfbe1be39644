// bounce_sender.cc - composing and queueing notices.
#include "mta/bounce_sender.h"

#include <spdlog/spdlog.h>

#include "mta/bounce_message.h"

namespace moat::mta {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string_view EventName(NoticeEvent event) {
  switch (event) {
    case NoticeEvent::kFailure:
      return "non-delivery";
    case NoticeEvent::kDelay:
      return "delay";
    case NoticeEvent::kResource:
      return "resource";
    case NoticeEvent::kSoftware:
      return "software";
  }
  return "?";
}

ReportKind KindOf(NoticeEvent event) {
  switch (event) {
    case NoticeEvent::kFailure:
      return ReportKind::kFailure;
    case NoticeEvent::kDelay:
      return ReportKind::kDelay;
    case NoticeEvent::kResource:
    case NoticeEvent::kSoftware:
      return ReportKind::kProblem;
  }
  return ReportKind::kFailure;
}

}  // namespace

BounceSender::BounceSender(std::shared_ptr<QueueStore> store, BounceSettings settings)
    : store_(std::move(store)), settings_(std::move(settings)) {}

core::Result<std::size_t> BounceSender::Send(NoticeEvent event, const QueueFile& file,
                                             std::span<const RecipientLogEntry> entries,
                                             SteadyClock::time_point steady_now) {
  const QueuedMessage& queued = file.message();
  NoticePlan plan = PlanNotices(settings_.policy, event, queued.envelope, entries);
  if (!plan.discarded.empty()) {
    spdlog::info("{}: {} ({} recipients)", queued.id, plan.discarded, entries.size());
  }
  if (plan.notices.empty()) return std::size_t{0};
  if (event == NoticeEvent::kResource || event == NoticeEvent::kSoftware) {
    auto& last = event == NoticeEvent::kResource ? last_resource_ : last_software_;
    if (last && steady_now < *last + kProblemNoticeInterval) {
      spdlog::info(
          "{}: postmaster {} notification suppressed (one per {} minutes)", queued.id,
          EventName(event),
          std::chrono::duration_cast<std::chrono::minutes>(kProblemNoticeInterval).count());
      return std::size_t{0};
    }
    last = steady_now;
  }

  auto content = file.ReadContent();
  if (!content) return std::unexpected(content.error());
  QueuedMessage original = queued;
  original.content = std::move(*content);

  std::size_t sent = 0;
  for (const PlannedNotice& notice : plan.notices) {
    std::string id;
    auto committed = Commit(event, original, notice, &id);
    if (!committed) {
      if (notice.critical) return std::unexpected(committed.error());
      spdlog::warn("{}: postmaster notice failed while reporting to <{}>: {}", queued.id,
                   queued.envelope.sender, committed.error().message());
      continue;
    }
    ++sent;
    spdlog::info("{}: {} {} notification: {}", queued.id,
                 notice.postmaster ? "postmaster" : "sender", EventName(event), id);
  }
  return sent;
}

core::Status BounceSender::Commit(NoticeEvent event, const QueuedMessage& original,
                                  const PlannedNotice& notice, std::string* id) {
  BounceOptions options;
  options.myhostname = settings_.myhostname;
  options.queue_id = original.id;
  options.bounce_id = store_->NewId();
  options.now = store_->Now();
  options.bounce_size_limit = settings_.bounce_size_limit;
  options.kind = KindOf(event);
  options.to = notice.recipient;
  options.postmaster_copy = notice.postmaster;
  options.headers_only = notice.headers_only;
  options.problem = std::string(EventName(event));
  auto arrival = std::chrono::system_clock::time_point(
      std::chrono::microseconds(original.envelope.arrival_us));
  bool null_sender = original.envelope.sender.empty();
  options.delayed_for = std::chrono::duration_cast<std::chrono::seconds>(options.now - arrival);
  options.lifetime = QueueLifetime(settings_.timing, null_sender);
  options.retry_until = RetryUntil(settings_.timing, arrival, null_sender);
  std::string text = ComposeBounce(original, notice.entries, options);

  QueueEnvelope envelope;
  envelope.arrival_us =
      std::chrono::duration_cast<std::chrono::microseconds>(options.now.time_since_epoch()).count();
  envelope.sender = notice.sender;
  envelope.attributes.service = "bounce";
  envelope.attributes.client_name = "localhost";
  envelope.attributes.client_address = "127.0.0.1";
  envelope.attributes.protocol = "local";
  envelope.attributes.rewrite_context = "local";
  QueueRecipient recipient;
  recipient.address = notice.recipient;
  recipient.original = notice.recipient;
  envelope.recipients.push_back(recipient);
  if (auto committed = store_->Commit(options.bounce_id, envelope, text); !committed) {
    return committed;
  }
  *id = options.bounce_id;
  return {};
}

}  // namespace moat::mta
