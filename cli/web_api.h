// web_api.h - the JSON API of the browser review (`moat web`), without HTTP: each call takes
// the parsed request and answers a status and a JSON body. web_server.cc puts it under /api/
// after checking the session and the CSRF token; tests and the benchmark call it directly.
//
//   GET  /api/quarantine                 List(params)      the list page's query
//   GET  /api/quarantine/ID              Show(actor, id)   entry + history + trace + message view
//   GET  /api/quarantine/ID/raw          Raw(id)           the message as received
//   POST /api/quarantine/ID/release      Release(actor, id, {"to": [..]?, "force": bool?})
//   POST /api/quarantine/ID/delete       Delete(actor, id)   (also DELETE /api/quarantine/ID)
//   POST /api/quarantine/bulk            Bulk(actor, {"action": "release"|"delete", "ids": [..],
//                                                     "to"?, "force"?})
//
// List parameters (query string; every filter optional, combined with AND):
//   class=VIRUS,SPAM (repeatable)  since=, until= (ParseTime: "24h", "2026-11-20",
//   "2026-11-20T08:00"; until is exclusive)  sender=, rcpt=, subject=, from= (substrings,
//   case-insensitive)  min_score=, max_score=  state=visible|held|released|deleted|all
//   sort=time|score  order=desc|asc  offset=  limit= (1..1000, default 50).
//   An unknown parameter or a bad value is 400, so a typo never silently widens a search.
// Answer: {"total", "offset", "limit", "entries": [entry without history]}; entries are
// quarantine/entry_json.h's EntryToJson.
//
// Show adds to the entry: "can_release" (the actor's role allows it), and "view" (see
// web_message_view.h) or "view_error" when the stored copy is gone or damaged.
//
// Access: a reviewer cannot release VIRUS mail (403); everything else is open to both roles.
// Every release and deletion is recorded in the index by the store, as "web:<user>" with the
// time (and the recipients of a release).
//
// Errors are {"error": "text"} with a status: 400 bad request (kInvalid), 403 role, 404 unknown
// ID (kNotFound), 409 refused by state or by the return listener's 5xx (kPermFail), 500 damaged
// copy (kCorrupt), 503 temporary (kTempFail, kIo: busy index, return listener down).
//
// Thread safety: one QuarantineApi serves all server threads (the store and the sender are
// thread-safe; the API keeps no state of its own).
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "cli/web_auth.h"
#include "core/error.h"
#include "quarantine/quarantine_store.h"
#include "quarantine/release_message.h"

namespace moat::cli {

using QueryParams = std::multimap<std::string, std::string>;

struct ApiReply {
  int status = 200;
  nlohmann::json body;
};

struct WebActor {
  std::string name;
  WebRole role = WebRole::kReviewer;
};

inline constexpr size_t kMaxBulkIds = 1000;

ApiReply ErrorReply(int status, std::string message);
ApiReply ErrorReply(const core::Error& error);

// The list query of `params` (see above); kInvalid names the bad parameter.
core::Result<quarantine::QuarantineQuery> QueryFromParams(const QueryParams& params,
                                                          quarantine::TimePoint now);

class QuarantineApi {
 public:
  QuarantineApi(quarantine::QuarantineStore& store, quarantine::MessageSender& sender,
                std::function<quarantine::TimePoint()> clock = quarantine::Clock::now)
      : store_(store), sender_(sender), clock_(std::move(clock)) {}

  ApiReply List(const QueryParams& params);
  ApiReply Show(const WebActor& actor, std::string_view id);
  core::Result<std::string> Raw(std::string_view id);
  ApiReply Release(const WebActor& actor, std::string_view id, const nlohmann::json& request);
  ApiReply Delete(const WebActor& actor, std::string_view id);
  ApiReply Bulk(const WebActor& actor, const nlohmann::json& request);

  quarantine::QuarantineStore& store() { return store_; }

 private:
  struct ReleaseOptions {
    std::vector<std::string> to;
    bool force = false;
  };
  static core::Result<ReleaseOptions> ParseReleaseOptions(const nlohmann::json& request);
  ApiReply ReleaseOne(const WebActor& actor, std::string_view id, const ReleaseOptions& options);

  quarantine::QuarantineStore& store_;
  quarantine::MessageSender& sender_;
  std::function<quarantine::TimePoint()> clock_;
};

}  // namespace moat::cli
