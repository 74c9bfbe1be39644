// incoming_message.h - the hand-off from smtpd to cleanup and the queue (Postfix: smtpd ->
// cleanup -> incoming/).
//
// smtpd accepts a transaction (its restrictions passed, DATA received) and hands an
// IncomingMessage to a MessageAcceptor. The acceptor (cleanup + queue store) rewrites the
// envelope and headers as main.cf says (canonical, virtual aliases, masquerading, header and body
// checks, missing headers), then writes the queue file and fsyncs it and its directory. Only then
// does Accept() return the queue ID, and only then does smtpd answer 250 — the promise behind
// every 250 is a durable queue file.
//
// Errors from Accept(): kTempFail/kIo -> smtpd answers 451 4.3.0 (the sender retries);
// kPermFail -> 550/554 with the error message (e.g. header_checks REJECT); the message is then not
// queued. A discard decided by cleanup (header_checks DISCARD) is a success with
// `discarded = true` — smtpd answers 250 and nothing is queued.
//
// Thread safety: an acceptor is shared by every smtpd session of the process; Accept() may be
// called concurrently.
#pragma once

// clang-format off
#include <optional>
#include <string>
#include <vector>
#include <asio/awaitable.hpp>
// clang-format on

#include "core/error.h"
#include "core/smtp_envelope.h"
#include "core/smtp_handler.h"

namespace moat::mta {

// What smtpd decided along the way that cleanup and the queue manager must honour.
struct SmtpdActions {
  std::vector<std::string> prepend_headers;  // access(5) PREPEND results, full "Name: value" lines
  std::optional<std::string> filter;         // FILTER transport:destination (access or service)
  bool hold = false;                         // HOLD: into the hold queue
  std::string hold_reason;
  bool discard = false;                      // DISCARD: accept and drop
  std::string discard_reason;
};

struct IncomingMessage {
  std::string service;  // master.cf service name that received it ("smtp", "127.0.0.1:10025")
  core::SmtpSessionInfo session;  // client, HELO, TLS, SASL user, XFORWARD of the session
  core::SmtpEnvelope envelope;
  std::string content;  // the message as received, CRLF line ends, dot-unstuffed
  SmtpdActions actions;
  // The service's -o content_filter (or main.cf's), already resolved; empty: none.
  std::string content_filter;
  // receive_override_options of the service (no_header_body_checks, no_address_mappings, ...).
  std::vector<std::string> receive_override_options;
};

struct AcceptResult {
  std::string queue_id;    // empty when discarded
  bool discarded = false;
};

class MessageAcceptor {
 public:
  virtual ~MessageAcceptor() = default;
  virtual asio::awaitable<core::Result<AcceptResult>> Accept(IncomingMessage message) = 0;
};

}  // namespace moat::mta
