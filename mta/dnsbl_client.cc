// dnsbl_client.cc - see dnsbl_client.h.
#include "mta/dnsbl_client.h"

// clang-format off
#include <memory>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
// clang-format on

#include "mta/dnsbl_site.h"

// See spf_dns.cc: GCC 12 mistakes destroying an awaited Result in a coroutine frame for freeing
// the frame itself.
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"

namespace moat::mta {
namespace {

// Shared by the parallel queries of one LookupAll(): each stores its answer and the last one
// wakes the waiting coroutine by cancelling the timer.
struct Gather {
  explicit Gather(const asio::any_io_executor& executor, size_t count)
      : done(executor), answers(count), remaining(count) {
    done.expires_at(asio::steady_timer::time_point::max());
  }
  asio::steady_timer done;
  std::vector<DnsblAnswer> answers;
  size_t remaining;
};

DnsblAnswer ToAnswer(const core::Result<core::DnsAnswer<core::AddressRecord>>& result) {
  DnsblAnswer answer;
  if (!result) {
    answer.status = DnsblAnswer::Status::kError;
    answer.error = result.error().message();
    return answer;
  }
  answer.ttl = result->MinTtl();
  for (const auto& record : result->records) {
    if (!record.address.is_v4() || !IsDnsblAnswer(record.address.to_v4())) {
      ++answer.ignored;
      continue;
    }
    if (answer.addresses.size() < DnsblClient::kMaxAddresses) {
      answer.addresses.push_back(record.address.to_v4());
    }
  }
  answer.status = answer.addresses.empty() ? DnsblAnswer::Status::kNotListed
                                           : DnsblAnswer::Status::kListed;
  return answer;
}

asio::awaitable<void> LookupOne(std::shared_ptr<Gather> gather, size_t index,
                                core::DnsResolver* resolver, DnsblCache* cache, std::string name,
                                std::chrono::milliseconds timeout) {
  auto result = co_await resolver->LookupA(name, timeout);
  DnsblAnswer answer = ToAnswer(result);
  cache->Store(name, answer);
  gather->answers[index] = std::move(answer);
  if (--gather->remaining == 0) gather->done.cancel();
}

}  // namespace

std::string SanitizeDnsblText(std::string_view text, size_t limit) {
  std::string out;
  bool space = false;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u == ' ' || u == '\t' || u == '\r' || u == '\n') {
      space = !out.empty();
      continue;
    }
    if (u < 0x21 || u > 0x7e) continue;
    if (space) out += ' ';
    space = false;
    out += c;
    if (out.size() >= limit) break;
  }
  return out.substr(0, limit);
}

asio::awaitable<std::vector<DnsblAnswer>> DnsblClient::LookupAll(
    std::vector<std::string> names, std::chrono::milliseconds timeout) {
  auto gather = std::make_shared<Gather>(resolver_.executor(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    if (auto cached = cache_.Find(names[i])) {
      gather->answers[i] = std::move(*cached);
      --gather->remaining;
      continue;
    }
    asio::co_spawn(resolver_.executor(),
                   LookupOne(gather, i, &resolver_, &cache_, names[i], timeout), asio::detached);
  }
  if (gather->remaining > 0) {
    std::error_code ec;
    co_await gather->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  std::vector<DnsblAnswer> answers = std::move(gather->answers);
  co_return answers;
}

asio::awaitable<std::string> DnsblClient::Reason(std::string name,
                                                 std::chrono::milliseconds timeout) {
  if (auto cached = cache_.FindReason(name)) co_return *cached;
  auto result = co_await resolver_.LookupTxt(name, timeout);
  if (!result) co_return std::string();  // not cached: the next rejection asks again
  std::string text;
  if (!result->records.empty()) {
    // Join at most a few kilobytes: a hostile list may answer with a huge record set.
    std::string joined;
    for (const auto& s : result->records.front().strings) {
      if (joined.size() > 4 * kMaxReasonBytes) break;
      joined += s;
    }
    text = SanitizeDnsblText(joined);
  }
  cache_.StoreReason(name, text, result->MinTtl());
  co_return text;
}

}  // namespace moat::mta
