// log_summary.h - a pflogsumm-style report of a day's traffic from moat-mta's and moat-filterd's
// log lines (`moat log summary`, cli/log_command.cc).
//
// Feed every line of both daemons' logs, in any order and interleaving (AddLine), then ask for
// the report (Report) or the numbers (totals). What the report counts:
//   received     messages moat-mta queued from a client (its "(queue incoming)" lines), except
//                copies the content filter reinjected and the bounces moat-mta wrote itself
//   delivered    recipients delivered to their next hop (status=sent), except the hand-over to
//                the content filter; bytes delivered = message size x recipients
//   deferred     messages with at least one status=deferred line (and the number of those lines)
//   bounced      recipients that bounced or expired
//   rejected     refusals before queueing (NOQUEUE: reject, cleanup rejects), grouped by reason
//   quarantined  moat-filterd's summary lines with a quarantine ID, by content class
// plus moat-filterd's verdicts by class, DKIM signatures added, per-hour traffic, per-domain
// deliveries and deferrals, top senders, recipients and their domains, and the deferral,
// bounce and reject reasons.
//
// Correlation: moat-filterd's line names the MTA's queue ID it scanned (Queue-ID:) and the IDs
// of the reinjected copies (queued_as:); moat-mta's delivery line to the filter quotes the
// filter's reply ("id=MAIL_ID ... queued as QID2"). Either side is enough to tell a reinjected
// copy from a new message, so the counts are right with moat-mta's log alone; moat-filterd's
// log adds the verdicts.
//
// Not thread-safe; memory grows with the number of distinct messages (as pflogsumm's does).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cli/log_parser.h"

namespace moat::cli {

struct LogSummaryOptions {
  std::size_t top = 10;  // entries in each "top" list
};

struct LogTotals {
  std::size_t lines = 0;
  std::size_t events = 0;  // lines that were a known event
  std::size_t received = 0;
  long long bytes_received = 0;
  std::size_t delivered = 0;
  long long bytes_delivered = 0;
  std::size_t deferred = 0;   // messages
  std::size_t deferrals = 0;  // status=deferred lines
  std::size_t bounced = 0;
  std::size_t rejected = 0;
  std::size_t filtered = 0;  // moat-filterd summary lines
  std::size_t quarantined = 0;
  std::size_t dkim_signed = 0;  // messages signed
  std::map<std::string, std::size_t> quarantined_by_class;
  std::map<std::string, std::size_t> filtered_by_class;
  std::map<std::string, std::size_t> rejected_by_reason;
};

class LogSummary {
 public:
  explicit LogSummary(LogSummaryOptions options = {}) : options_(options) {}

  void AddLine(std::string_view line);

  LogTotals totals() const;
  std::string Report() const;

 private:
  struct Message {
    std::string sender;
    long long size = 0;
    std::optional<LogTime> time;
  };
  // A delivery line, kept small: a day's log holds millions. For status=sent only what the
  // correlation needs is kept of the reply; other statuses keep it (shortened) as the reason.
  struct Delivery {
    MtaDelivery event;            // reply emptied when sent
    std::string reply_queued_as;  // sent: "queued as QID" of the reply
    std::string reply_mail_id;    // sent: "id=MAIL_ID" of the reply (moat-filterd's)
    bool reply_quarantined = false;
    std::optional<LogTime> time;
  };
  struct Reject {
    MtaReject event;
    std::optional<LogTime> time;
  };
  struct Filtered {
    FilterSummary event;
    std::optional<LogTime> time;
  };
  struct Resolved;  // the correlation, computed on demand (log_summary.cc)

  Resolved Resolve() const;
  void Note(const std::optional<LogTime>& time);

  LogSummaryOptions options_;
  std::size_t lines_ = 0;
  std::size_t events_ = 0;
  std::optional<LogTime> first_;
  std::optional<LogTime> last_;
  std::map<std::string, Message> queued_;  // "(queue incoming)" lines by queue ID
  std::vector<Delivery> deliveries_;
  std::vector<Reject> rejects_;
  std::set<std::string> rejected_queue_ids_;  // cleanup rejects are counted once per message
  std::vector<std::optional<LogTime>> expired_;
  std::set<std::string> bounce_queue_ids_;
  std::vector<Filtered> filtered_;
};

}  // namespace moat::cli
