// web_api.cc - list, show, release, delete and bulk actions of the review API.
#include "cli/web_api.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <cmath>
#include <set>

#include "cli/quarantine_options.h"
#include "cli/web_message_view.h"
#include "quarantine/entry_json.h"

namespace moat::cli {
namespace {

namespace q = moat::quarantine;
using core::ErrorCode;

int StatusOf(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalid:
      return 400;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kPermFail:
      return 409;
    case ErrorCode::kCorrupt:
      return 500;
    case ErrorCode::kTempFail:
    case ErrorCode::kIo:
      return 503;
  }
  return 500;
}

// Splits "a,b" values and repeated keys into one list.
std::vector<std::string> Values(const QueryParams& params, const std::string& key) {
  std::vector<std::string> out;
  auto [begin, end] = params.equal_range(key);
  for (auto it = begin; it != end; ++it) {
    std::string_view value = it->second;
    while (!value.empty()) {
      size_t comma = value.find(',');
      std::string_view item = value.substr(0, comma);
      if (!item.empty()) out.emplace_back(item);
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  return out;
}

// The last value of `key`, or "" when absent.
std::string Last(const QueryParams& params, const std::string& key) {
  auto [begin, end] = params.equal_range(key);
  return begin == end ? std::string() : std::prev(end)->second;
}

template <typename T>
core::Result<T> Number(const QueryParams& params, const std::string& key, T fallback) {
  std::string text = Last(params, key);
  if (text.empty()) return fallback;
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return core::Fail(ErrorCode::kInvalid, "parameter {}: not a number", key);
  }
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(value)) return core::Fail(ErrorCode::kInvalid, "{}: not finite", key);
  }
  return value;
}

// A recipient address the operator typed: it goes into an SMTP command.
bool PlausibleAddress(std::string_view address) {
  if (address.empty() || address.size() > 320) return false;
  size_t at = address.rfind('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == address.size()) return false;
  for (char c : address) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == ',' || c == '"') return false;
  }
  return true;
}

nlohmann::json ListEntry(const q::QuarantineEntry& entry) {
  nlohmann::json item = q::EntryToJson(entry);
  item.erase("history");
  return item;
}

bool MayRelease(const WebActor& actor, const q::QuarantineEntry& entry) {
  return actor.role == WebRole::kAdmin || entry.metadata.content_class != q::ContentClass::kVirus;
}

}  // namespace

ApiReply ErrorReply(int status, std::string message) {
  return {status, {{"error", q::ToValidUtf8(message)}}};
}

ApiReply ErrorReply(const core::Error& error) {
  return ErrorReply(StatusOf(error.code()), error.message());
}

core::Result<q::QuarantineQuery> QueryFromParams(const QueryParams& params, q::TimePoint now) {
  static const std::set<std::string, std::less<>> kKnown = {
      "class", "since", "until", "sender",    "rcpt",      "subject", "from",
      "state", "sort",  "order", "min_score", "max_score", "offset",  "limit"};
  for (const auto& [key, value] : params) {
    if (!kKnown.contains(key)) {
      return core::Fail(ErrorCode::kInvalid, "unknown parameter '{}'", q::ToValidUtf8(key));
    }
  }
  q::QuarantineQuery query;
  for (const std::string& name : Values(params, "class")) {
    auto c = q::ParseContentClass(name);
    if (!c) return core::Fail(ErrorCode::kInvalid, "class: unknown '{}'", q::ToValidUtf8(name));
    query.classes.push_back(*c);
  }
  for (const char* key : {"since", "until"}) {
    std::string text = Last(params, key);
    if (text.empty()) continue;
    auto time = ParseTime(text, now);
    if (!time) return core::Fail(ErrorCode::kInvalid, "{}: not a time", key);
    (std::string_view(key) == "since" ? query.since : query.until) = *time;
  }
  query.sender = Last(params, "sender");
  query.recipient = Last(params, "rcpt");
  query.subject = Last(params, "subject");
  query.from = Last(params, "from");
  for (const char* key : {"min_score", "max_score"}) {
    if (Last(params, key).empty()) continue;
    auto score = Number<double>(params, key, 0);
    if (!score) return core::Fail(score.error());
    (std::string_view(key) == "min_score" ? query.min_score : query.max_score) = *score;
  }
  std::string state = Last(params, "state");
  if (state == "all") {
    query.states = {};
  } else if (!state.empty() && state != "visible") {
    auto parsed = q::ParseEntryState(state);
    if (!parsed)
      return core::Fail(ErrorCode::kInvalid, "state: visible, held, released, deleted or all");
    query.states = {*parsed};
  }
  std::string sort = Last(params, "sort");
  if (sort == "score") {
    query.sort = q::SortField::kScore;
  } else if (!sort.empty() && sort != "time") {
    return core::Fail(ErrorCode::kInvalid, "sort: time or score");
  }
  std::string order = Last(params, "order");
  if (order == "asc") {
    query.descending = false;
  } else if (!order.empty() && order != "desc") {
    return core::Fail(ErrorCode::kInvalid, "order: asc or desc");
  }
  auto offset = Number<size_t>(params, "offset", 0);
  if (!offset) return core::Fail(offset.error());
  auto limit = Number<size_t>(params, "limit", 50);
  if (!limit) return core::Fail(limit.error());
  if (*limit == 0 || *limit > q::kMaxQueryLimit) {
    return core::Fail(ErrorCode::kInvalid, "limit: 1..{}", q::kMaxQueryLimit);
  }
  if (*offset > 100'000'000) return core::Fail(ErrorCode::kInvalid, "offset: too large");
  query.offset = *offset;
  query.limit = *limit;
  return query;
}

ApiReply QuarantineApi::List(const QueryParams& params) {
  auto query = QueryFromParams(params, clock_());
  if (!query) return ErrorReply(query.error());
  auto page = store_.List(*query);
  if (!page) return ErrorReply(page.error());
  nlohmann::json entries = nlohmann::json::array();
  for (const q::QuarantineEntry& entry : page->entries) entries.push_back(ListEntry(entry));
  return {200,
          {{"total", page->total},
           {"offset", query->offset},
           {"limit", query->limit},
           {"entries", std::move(entries)}}};
}

ApiReply QuarantineApi::Show(const WebActor& actor, std::string_view id) {
  auto entry = store_.GetEntry(id);
  if (!entry) return ErrorReply(entry.error());
  nlohmann::json body = q::EntryToJson(*entry);
  body["can_release"] = MayRelease(actor, *entry) && entry->state != q::EntryState::kDeleted;
  if (entry->state == q::EntryState::kDeleted) {
    body["view_error"] = "the message was deleted";
    return {200, std::move(body)};
  }
  auto message = store_.ReadMessage(id);
  if (!message) {
    // ReadMessage marked the entry damaged: show it as it is now.
    if (auto marked = store_.GetEntry(id)) body["damage"] = q::ToValidUtf8(marked->damage);
    body["view_error"] = q::ToValidUtf8(message.error().message());
    body["can_release"] = false;
    return {200, std::move(body)};
  }
  auto view = BuildMessageView(*message);
  if (!view) {
    body["view_error"] = q::ToValidUtf8(view.error().message());
  } else {
    body["view"] = std::move(*view);
  }
  return {200, std::move(body)};
}

core::Result<std::string> QuarantineApi::Raw(std::string_view id) { return store_.ReadMessage(id); }

core::Result<QuarantineApi::ReleaseOptions> QuarantineApi::ParseReleaseOptions(
    const nlohmann::json& request) {
  ReleaseOptions options;
  if (request.is_null()) return options;
  if (!request.is_object()) return core::Fail(ErrorCode::kInvalid, "expected a JSON object");
  if (auto to = request.find("to"); to != request.end() && !to->is_null()) {
    std::vector<nlohmann::json> items =
        to->is_array() ? to->get<std::vector<nlohmann::json>>() : std::vector<nlohmann::json>{*to};
    if (items.size() > 100) return core::Fail(ErrorCode::kInvalid, "to: at most 100 addresses");
    for (const nlohmann::json& item : items) {
      if (!item.is_string()) return core::Fail(ErrorCode::kInvalid, "to: addresses are strings");
      std::string address = item.get<std::string>();
      if (address.empty()) continue;
      if (!PlausibleAddress(address)) {
        return core::Fail(ErrorCode::kInvalid, "to: not a mail address: '{}'",
                          q::ToValidUtf8(address));
      }
      options.to.push_back(std::move(address));
    }
  }
  if (auto force = request.find("force"); force != request.end() && !force->is_null()) {
    if (!force->is_boolean()) return core::Fail(ErrorCode::kInvalid, "force: true or false");
    options.force = force->get<bool>();
  }
  return options;
}

ApiReply QuarantineApi::ReleaseOne(const WebActor& actor, std::string_view id,
                                   const ReleaseOptions& options) {
  auto entry = store_.GetEntry(id);
  if (!entry) return ErrorReply(entry.error());
  if (!MayRelease(actor, *entry)) {
    spdlog::warn("moat web: {} (reviewer) may not release VIRUS mail {}", actor.name, id);
    return ErrorReply(403, "a reviewer cannot release VIRUS mail; ask an admin");
  }
  q::ReleaseRequest request{options.to, "web:" + actor.name, options.force};
  auto released = store_.Release(id, request, sender_);
  if (!released) return ErrorReply(released.error());
  nlohmann::json rejected = nlohmann::json::array();
  for (const q::RejectedRecipient& r : released->outcome.rejected) {
    rejected.push_back({{"address", q::ToValidUtf8(r.address)},
                        {"reply", q::ToValidUtf8(r.reply)},
                        {"temporary", r.temporary}});
  }
  return {200,
          {{"id", std::string(id)},
           {"state", "released"},
           {"accepted", released->outcome.accepted},
           {"rejected", std::move(rejected)}}};
}

ApiReply QuarantineApi::Release(const WebActor& actor, std::string_view id,
                                const nlohmann::json& request) {
  auto options = ParseReleaseOptions(request);
  if (!options) return ErrorReply(options.error());
  return ReleaseOne(actor, id, *options);
}

ApiReply QuarantineApi::Delete(const WebActor& actor, std::string_view id) {
  if (auto deleted = store_.Delete(id, "web:" + actor.name); !deleted) {
    return ErrorReply(deleted.error());
  }
  spdlog::info("moat web: {} deleted {}", actor.name, id);
  return {200, {{"id", std::string(id)}, {"state", "deleted"}}};
}

ApiReply QuarantineApi::Bulk(const WebActor& actor, const nlohmann::json& request) {
  if (!request.is_object()) return ErrorReply(400, "expected a JSON object");
  auto action = request.find("action");
  if (action == request.end() || !action->is_string() ||
      (*action != "release" && *action != "delete")) {
    return ErrorReply(400, "action: release or delete");
  }
  auto ids = request.find("ids");
  if (ids == request.end() || !ids->is_array() || ids->empty()) {
    return ErrorReply(400, "ids: a non-empty array of quarantine IDs");
  }
  if (ids->size() > kMaxBulkIds) {
    return ErrorReply(400, fmt::format("ids: at most {} at once", kMaxBulkIds));
  }
  for (const nlohmann::json& id : *ids) {
    if (!id.is_string()) return ErrorReply(400, "ids: strings");
  }
  bool release = *action == "release";
  ReleaseOptions options;
  if (release) {
    auto parsed = ParseReleaseOptions(request);
    if (!parsed) return ErrorReply(parsed.error());
    options = std::move(*parsed);
  }
  nlohmann::json results = nlohmann::json::array();
  size_t ok = 0;
  for (const nlohmann::json& item : *ids) {
    std::string id = item.get<std::string>();
    ApiReply one = release ? ReleaseOne(actor, id, options) : Delete(actor, id);
    nlohmann::json result = {{"id", q::ToValidUtf8(id)}, {"status", one.status}};
    if (one.status == 200) {
      ++ok;
      if (release) result["accepted"] = one.body["accepted"];
    } else {
      result["error"] = one.body["error"];
    }
    results.push_back(std::move(result));
  }
  return {200,
          {{"action", *action},
           {"ok", ok},
           {"failed", ids->size() - ok},
           {"results", std::move(results)}}};
}

}  // namespace moat::cli
