// message_finisher.cc - quarantine, header edits, DKIM signing, reinjection, replies.
#include "filterd/message_finisher.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "filterd/decision_trace.h"
#include "filterd/dkim_auth_results.h"
#include "filterd/filterd_metrics.h"
#include "filterd/header_editor.h"
#include "quarantine/message_headers.h"

// GCC 12 false positive on asio's coroutine frame allocator (see core/smtp_session.cc).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::filterd {
namespace {

using Kind = RecipientOutcome::Kind;

bool SameEdits(const std::vector<HeaderEdit>& a, const std::vector<HeaderEdit>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].kind != b[i].kind || a[i].name != b[i].name || a[i].value != b[i].value) {
      return false;
    }
  }
  return true;
}

quarantine::EntryMetadata QuarantineMetadata(const MessageContext& context,
                                             const Decision& decision) {
  quarantine::EntryMetadata m;
  auto content_class = quarantine::ParseContentClass(ContentClassName(decision.content_class));
  m.content_class = content_class.value_or(quarantine::ContentClass::kClean);
  m.subclass = decision.subclass;
  m.reason = decision.reason;
  m.trace_json = DecisionTraceJson(context, decision);
  m.envelope_sender = context.envelope.mail.sender;
  for (const auto& rcpt : context.envelope.recipients) m.recipients.push_back(rcpt.recipient);
  // From, Subject and Message-ID: the store reads them from the message when left empty.
  m.client_address = context.client.address;
  m.policy_bank = context.policy_bank;
  bool scored = context.spam_score != 0;
  for (const Finding& f : context.findings) scored = scored || f.score != 0;
  if (scored) m.score = context.spam_score;
  return m;
}

core::SmtpReply DeliveredReply(const MessageContext& context, std::size_t index,
                               const core::SmtpReply& mta, const std::string& peer) {
  const std::string& rcpt = context.envelope.recipients[index].recipient;
  std::string text = fmt::format("<{}> ", rcpt);
  int code = mta.code();
  std::string enhanced = mta.WithDefaultEnhanced().enhanced();
  if (mta.positive()) {
    code = 250;
    text += fmt::format("Ok, id={}, from MTA({}): {}", context.id, peer, mta.ToString());
  } else {
    if (code == 421) code = 451;  // a per-recipient 421 would close our LMTP session
    text += fmt::format("id={}, from MTA({}): {}", context.id, peer, mta.ToString());
  }
  return core::SmtpReply(code, enhanced, text);
}

// Signs `copy` for the originating bank; nullopt-like empty string = nothing added. Errors that
// must tempfail come back as an error.
struct SignOutcome {
  std::string header;  // the DKIM-Signature fields to put on top
  std::vector<std::string> labels;
  std::optional<core::Error> tempfail;
};

asio::awaitable<SignOutcome> Sign(const FilterdSnapshot& snapshot, MessageContext& context,
                                  const std::string& copy, const FinisherServices& services) {
  SignOutcome outcome;
  std::string author = AuthorAddress(copy);
  std::vector<DkimSigningKey> keys = snapshot.dkim_keys->KeysFor(author);
  if (keys.empty()) {
    std::string note = author.empty() ? "DKIM: not signed, no From address"
                                      : fmt::format("DKIM: not signed, no key for {}", author);
    spdlog::info("{}: {}", context.id, note);
    context.trace.push_back(std::move(note));
    co_return outcome;
  }
  DkimSignOptions options = snapshot.settings.dkim_options;
  options.line_ending = std::string(quarantine::LineEnding(copy));
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  core::Result<std::string> signature = core::Fail(core::ErrorCode::kTempFail, "not run");
  WorkerPool::RunResult run = co_await services.cpu_pool->Run(
      [&signature, &copy, &keys, now, &options](WorkerResources&) {
        signature = SignDkimAll(copy, keys, now, options);
      });
  if (run != WorkerPool::RunResult::kDone) {
    outcome.tempfail = core::Error(core::ErrorCode::kTempFail, "signing pool busy");
    co_return outcome;
  }
  if (!signature) {
    if (signature.error().code() == core::ErrorCode::kInvalid) {
      std::string note = fmt::format("DKIM: not signed: {}", signature.error().message());
      spdlog::warn("{}: {}", context.id, note);
      context.trace.push_back(std::move(note));
      co_return outcome;
    }
    outcome.tempfail = signature.error();
    co_return outcome;
  }
  outcome.header = std::move(*signature);
  for (const DkimSigningKey& key : keys) {
    outcome.labels.push_back(fmt::format("d={} s={}", key.domain, key.selector));
  }
  context.trace.push_back(fmt::format("DKIM: signed for {} ({} signature(s))", author, keys.size()));
  co_return outcome;
}

}  // namespace

std::string QueuedAs(const core::SmtpReply& reply) {
  const std::string& text = reply.text();
  std::size_t at = text.find("queued as ");
  if (at == std::string::npos) return "";
  at += 10;
  std::size_t end = at;
  while (end < text.size() && text[end] != ' ' && text[end] != '\n' && text[end] != ',' &&
         text[end] != ';' && text[end] != ')') {
    ++end;
  }
  return text.substr(at, end - at);
}

FinishResult AllRecipients(const MessageContext& context, RecipientOutcome::Kind kind,
                           const core::SmtpReply& reply) {
  FinishResult result;
  result.recipients.assign(context.envelope.recipients.size(), RecipientOutcome{kind, reply, ""});
  return result;
}

asio::awaitable<FinishResult> FinishMessage(const FilterdSnapshot& snapshot,
                                            MessageContext& context, const Decision& decision,
                                            const FinisherServices& services) {
  const std::size_t count = context.envelope.recipients.size();
  const std::string class_name(ContentClassName(decision.content_class));

  // 1. Quarantine, before any reply.
  FinishResult result;
  if (decision.quarantine) {
    if (!services.store) {
      spdlog::error("{}: policy holds the message but no quarantine is configured "
                    "(quarantine_directory); deferring",
                    context.id);
      co_return AllRecipients(context, Kind::kTempFailed,
                              core::SmtpReply(451, "4.3.0",
                                              fmt::format("id={}: quarantine unavailable, try "
                                                          "again later",
                                                          context.id)));
    }
    quarantine::EntryMetadata metadata = QuarantineMetadata(context, decision);
    core::Result<std::string> stored = core::Fail(core::ErrorCode::kTempFail, "not run");
    WorkerPool::RunResult run = co_await services.disk_pool->Run(
        [&stored, &services, &context, &metadata](WorkerResources&) {
          stored = services.store->Store(context.message, std::move(metadata));
        });
    if (run != WorkerPool::RunResult::kDone || !stored) {
      std::string why = run == WorkerPool::RunResult::kRefused ? std::string("disk queue full")
                        : stored ? std::string("worker failed")
                                 : stored.error().ToString();
      spdlog::error("{}: quarantine store failed: {}; deferring", context.id, why);
      co_return AllRecipients(
          context, Kind::kTempFailed,
          core::SmtpReply(451, "4.3.0",
                          fmt::format("id={}: cannot quarantine, try again later", context.id)));
    }
    result.quarantine_id = *stored;
    context.trace.push_back(fmt::format("quarantined as {}", result.quarantine_id));
  }

  result.recipients.assign(count, RecipientOutcome{});
  // 2-4. PASS recipients, grouped by their header edits.
  std::vector<bool> done(count, false);
  for (std::size_t i = 0; i < count; ++i) {
    const RecipientDecision& rd = decision.recipients[i];
    if (rd.destiny == Destiny::kPass) continue;
    done[i] = true;
    RecipientOutcome& out = result.recipients[i];
    if (rd.destiny == Destiny::kDiscard) {
      out.kind = Kind::kDiscarded;
      out.reply = core::SmtpReply(
          250, "2.7.0",
          fmt::format("<{}> Ok, discarded, id={} - {}{}", context.envelope.recipients[i].recipient,
                      context.id, class_name,
                      result.quarantine_id.empty() ? ""
                                                   : ", quarantined as " + result.quarantine_id));
    } else {
      out.kind = Kind::kRejected;
      out.reply = rd.reply.empty() || rd.reply.positive()
                      ? core::SmtpReply(554, "5.7.0",
                                        fmt::format("Reject, id={} - {}", context.id, class_name))
                      : rd.reply;
      if (out.reply.closes_connection()) {
        out.reply = core::SmtpReply(451, out.reply.enhanced(), out.reply.text());
      }
    }
  }

  const bool sign = snapshot.dkim_keys && context.policy_bank == "originating";
  const std::string peer = services.reinjector->peer_name();
  for (std::size_t first = 0; first < count; ++first) {
    if (done[first]) continue;
    std::vector<std::size_t> group;
    for (std::size_t j = first; j < count; ++j) {
      if (!done[j] &&
          SameEdits(decision.recipients[j].header_edits, decision.recipients[first].header_edits)) {
        group.push_back(j);
        done[j] = true;
      }
    }
    std::string copy = ApplyHeaderEdits(context.message, context.header_edits,
                                        decision.recipients[first].header_edits);
    if (sign) {
      SignOutcome signed_copy = co_await Sign(snapshot, context, copy, services);
      if (signed_copy.tempfail) {
        spdlog::error("{}: DKIM signing failed: {}", context.id, signed_copy.tempfail->ToString());
        for (std::size_t j : group) {
          result.recipients[j] = RecipientOutcome{
              Kind::kTempFailed,
              core::SmtpReply(451, "4.3.0",
                              fmt::format("id={}: DKIM signing failed, try again later",
                                          context.id)),
              ""};
        }
        continue;
      }
      if (!signed_copy.header.empty()) {
        copy.insert(0, signed_copy.header);
        for (std::string& label : signed_copy.labels) {
          result.dkim_signatures.push_back(std::move(label));
        }
      }
    }
    core::SmtpTransaction tx;
    tx.mail = context.envelope.mail;
    tx.mail.size.reset();  // SIZE= of what we send, not of what we received
    for (std::size_t j : group) tx.recipients.push_back(context.envelope.recipients[j]);
    tx.xforward = context.client.xforward;
    tx.message = copy;
    core::SmtpDeliveryResult sent = co_await services.reinjector->Send(tx);
    if (services.metrics) services.metrics->RecordReinjection(sent);
    for (std::size_t k = 0; k < group.size(); ++k) {
      std::size_t j = group[k];
      const core::SmtpReply& mta = k < sent.replies.size()
                                       ? sent.replies[k]
                                       : core::SmtpReply(451, "4.3.0", "no reply from MTA");
      RecipientOutcome& out = result.recipients[j];
      out.reply = DeliveredReply(context, j, mta, peer);
      if (mta.positive()) {
        out.kind = Kind::kDelivered;
        out.queued_as = QueuedAs(mta);
      } else {
        out.kind = mta.permanent() ? Kind::kRefusedByMta : Kind::kTempFailed;
      }
    }
  }
  co_return result;
}

}  // namespace moat::filterd
