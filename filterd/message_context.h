// message_context.h - everything moat-filterd knows about one message while it is being filtered.
//
// The LMTP session builds a MessageContext when DATA completes, the pipeline's stages read it and
// add to its report, the policy decides from the report, and the finishing steps (quarantine,
// header edits, DKIM signing, reinjection) act on it — in that order (see stage.h).
//
// Ownership: the session owns the context for the whole transaction; a stage running on a worker
// thread has exclusive access while it runs (stages run one after another, never concurrently on
// the same message). Artefacts one stage leaves for a later one (the decomposed content tree, the
// DKIM results) live in `artefacts` as shared pointers so `moat scan` and the daemon share code.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/smtp_envelope.h"
#include "filterd/verdict.h"

namespace moat::filterd {

// Where a message came from and how it reached us.
struct ClientInfo {
  std::string address;  // original client per XFORWARD ADDR, else the LMTP peer's address
  std::string name;     // XFORWARD NAME, or "unknown"
  std::string helo;     // XFORWARD HELO, else the LMTP client's LHLO
  std::string protocol;         // XFORWARD PROTO (SMTP/ESMTP), empty when unknown
  std::string upstream_queue_id;  // XFORWARD IDENT: the MTA's queue ID, for log correlation
  core::XforwardAttributes xforward;  // everything XFORWARD said, to pass on at reinjection
};

// The hop that brought the message to moat-filterd (the MTA's LMTP client), for the Received
// header and the log. Empty/zero when the message did not come over LMTP (`moat scan`).
struct ReceptionInfo {
  std::string peer_address;    // the LMTP client's address (the MTA)
  std::uint16_t peer_port = 0;
  std::string peer_helo;       // its LHLO argument
  std::uint16_t local_port = 0;  // the listener's port
  std::string protocol = "LMTP";
  std::chrono::system_clock::time_point time;  // when the end of DATA arrived
};

// A change to the message's header that the finishing steps apply (stages only plan edits).
// Edits apply in list order; consecutive kPrepend edits end up on top in the order they are
// listed (content_header_edits.h has the reference implementation, ApplyHeaderEdits()).
struct HeaderEdit {
  enum class Kind { kPrepend, kAppend, kRemoveAll };
  Kind kind = Kind::kPrepend;
  // Field name. For kRemoveAll matched case-insensitively, and a name ending in '*' matches
  // every field that starts with the rest ("X-Spam-*").
  std::string name;
  std::string value;  // unfolded value for kPrepend/kAppend (the editor folds long values)
  // kRemoveAll only: when not empty, only fields whose value names this authserv-id (the first
  // token of an Authentication-Results value, RFC 8601) are removed, case-insensitively.
  std::string authserv_id;
};

// How long each stage took, for the decision trace and the per-stage latency metrics.
struct StageTiming {
  std::string stage;
  std::chrono::microseconds elapsed{0};
};

// Opaque per-message results that later stages (and `moat scan`) read: key = producing stage.
struct ArtefactBase {
  virtual ~ArtefactBase() = default;
};

struct MessageContext {
  std::string id;           // filterd's own ID for this message (logs, quarantine, trace)
  std::string policy_bank;  // "inbound" or "originating"
  ClientInfo client;
  ReceptionInfo reception;
  core::SmtpEnvelope envelope;
  std::string message;  // the raw message as received, CRLF line ends, never edited in place

  std::vector<Finding> findings;
  std::vector<HeaderEdit> header_edits;
  std::vector<StageTiming> timings;
  // Notes for the decision trace that are not findings ("bank originating: XFORWARD ADDR in
  // mynetworks", "no DKIM key for example.org").
  std::vector<std::string> trace;
  double spam_score = 0;  // total of the rule scores, set by the spam stage

  std::map<std::string, std::shared_ptr<ArtefactBase>> artefacts;

  template <typename T>
  T* Artefact(const std::string& key) const {
    auto it = artefacts.find(key);
    return it == artefacts.end() ? nullptr : dynamic_cast<T*>(it->second.get());
  }
};

}  // namespace moat::filterd
