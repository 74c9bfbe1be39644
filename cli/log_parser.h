// log_parser.h - reads one log line of moat-mta or moat-filterd into a typed event, for
// `moat log summary` (log_summary.h).
//
// Line formats understood (the daemons' own stderr format, and what syslog and journald make of
// it), each "PREFIX program[pid]: MESSAGE":
//   2026-11-21T13:59:22.577 moat-mta[27274]: info: MESSAGE          (log_target = stderr)
//   Nov 21 13:59:22 mx moat-mta[27274]: MESSAGE                       (syslog, journalctl)
//   2026-11-21T13:59:22.577123+00:00 mx moat-mta[27274]: MESSAGE      (rsyslog, short-iso)
// A line without "program[pid]: " is taken as a bare MESSAGE without a time (journalctl -o cat).
// The daemon is recognised by what the message says, not by the program name, so a changed
// syslog_name does not matter.
//
// Messages understood (everything else is ParsedLine::event == std::monostate):
//   moat-mta, as Postfix writes them:
//     QID: from=<s>, size=N, nrcpt=N (queue incoming)          -> MtaReceived
//     [service: ]QID: client=name[addr], ...                      -> MtaClient
//     QID: to=<r>, [orig_to=<o>, ]relay=R, delay=D, ..., dsn=X.Y.Z, status=S (reply)
//                                                                 -> MtaDelivery
//     NOQUEUE: reject: CMD from name[addr]: 550 5.1.1 <r>: text; from=<s> to=<r> proto=...
//     QID: reject: text                                           -> MtaReject
//     QID: from=<s>, status=expired, returned to sender           -> MtaExpired
//     QID: sender non-delivery notification: BOUNCE_QID           -> MtaBounceCreated
//   moat-filterd's per-message summary (filterd/summary_log.cc):
//     ID Passed|Blocked|Refused|Deferred[ (why)] CLASS[ (reason)] {Tag[,Quarantined]}, bank
//     [peer]:port [client] <sender> -> <r1>,<r2>, Queue-ID: Q, Message-ID: M, mail_id: ID,
//     Hits: N, size: N, queued_as: Q2, quarantine: QID, dkim_signed: d=.. s=.., N ms
//                                                                 -> FilterSummary
//
// Pure functions; the returned events own their strings. Never throws; a line it cannot read
// is simply not an event.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace moat::cli {

struct LogTime {
  int year = 0;  // 0: the format has no year (classic syslog)
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
};

struct MtaReceived {
  std::string queue_id;
  std::string sender;
  long long size = 0;
};

struct MtaClient {
  std::string queue_id;
  std::string service;  // "moat-mta/submission" or empty
  std::string client;   // "name[addr]"
};

struct MtaDelivery {
  std::string queue_id;
  std::string recipient;
  std::string relay;   // "host[addr]:port", "none"
  std::string status;  // sent, deferred, bounced, expired, ...
  std::string dsn;
  std::string reply;  // the text in parentheses after status=
};

struct MtaReject {
  std::string queue_id;  // "NOQUEUE" for smtpd rejects
  std::string command;   // RCPT, MAIL, DATA, CONNECT, ... or "cleanup"
  std::string client;
  std::string reason;  // the reply without addresses: "550 5.1.1 Recipient address rejected: ..."
  std::string sender;
  std::string recipient;
};

struct MtaExpired {
  std::string queue_id;
  std::string sender;
};

struct MtaBounceCreated {
  std::string queue_id;         // the message that failed
  std::string bounce_queue_id;  // the notification to its sender
};

struct FilterSummary {
  std::string mail_id;
  std::string verb;           // Passed, Blocked, Refused, Deferred
  std::string content_class;  // CLEAN, SPAM, VIRUS, BANNED, ...
  std::string tag;            // RelayedInbound, DiscardedOutbound,Quarantined, ...
  std::string bank;           // inbound, originating
  std::string sender;
  std::vector<std::string> recipients;
  std::string upstream_queue_id;       // the MTA's queue ID of the message (Queue-ID:)
  std::vector<std::string> queued_as;  // the MTA's queue IDs of the reinjected copies
  std::string quarantine_id;
  int dkim_signatures = 0;
  long long size = 0;
};

using LogEvent = std::variant<std::monostate, MtaReceived, MtaClient, MtaDelivery, MtaReject,
                              MtaExpired, MtaBounceCreated, FilterSummary>;

struct ParsedLine {
  std::optional<LogTime> time;
  LogEvent event;
};

ParsedLine ParseLogLine(std::string_view line);

// The queue ID in "... queued as QID)" of a reply, or empty.
std::string QueuedAsInReply(std::string_view reply);

}  // namespace moat::cli
