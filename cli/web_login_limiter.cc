// web_login_limiter.cc - failure counts with exponential lock-outs.
#include "cli/web_login_limiter.h"

#include <algorithm>
#include <vector>

namespace moat::cli {
namespace {

std::string AddressKey(std::string_view address) { return "addr:" + std::string(address); }
std::string UserKey(std::string_view user) { return "user:" + std::string(user.substr(0, 64)); }

}  // namespace

LoginLimiter::LoginLimiter(LoginLimiterOptions options, std::function<WebClock::time_point()> clock)
    : options_(options), clock_(std::move(clock)) {}

std::optional<std::chrono::seconds> LoginLimiter::WaitLocked(const std::string& key,
                                                             WebClock::time_point now) {
  auto it = records_.find(key);
  if (it == records_.end() || it->second.locked_until <= now) return std::nullopt;
  auto wait = std::chrono::ceil<std::chrono::seconds>(it->second.locked_until - now);
  return std::max(wait, std::chrono::seconds(1));
}

std::optional<std::chrono::seconds> LoginLimiter::Check(std::string_view address,
                                                        std::string_view user) {
  WebClock::time_point now = clock_();
  std::lock_guard lock(mutex_);
  auto by_address = WaitLocked(AddressKey(address), now);
  auto by_user = WaitLocked(UserKey(user), now);
  if (!by_address) return by_user;
  if (!by_user) return by_address;
  return std::max(*by_address, *by_user);
}

void LoginLimiter::FailLocked(const std::string& key, WebClock::time_point now) {
  Record& r = records_[key];
  if (r.failures > 0 && now - r.last_failure >= options_.forget_after) r = Record{};
  ++r.failures;
  r.last_failure = now;
  int over = r.failures - options_.free_failures;
  if (over > 0) {
    auto delay = options_.first_delay;
    for (int i = 1; i < over && delay < options_.max_delay; ++i) delay *= 2;
    r.locked_until = now + std::min(delay, options_.max_delay);
  }
}

void LoginLimiter::PruneLocked(WebClock::time_point now) {
  std::erase_if(records_, [&](const auto& item) {
    return now - item.second.last_failure >= options_.forget_after &&
           item.second.locked_until <= now;
  });
  if (records_.size() <= options_.max_keys) return;
  std::vector<std::pair<WebClock::time_point, std::string>> by_age;
  by_age.reserve(records_.size());
  for (const auto& [key, r] : records_) by_age.emplace_back(r.last_failure, key);
  size_t excess = records_.size() - options_.max_keys;
  std::nth_element(by_age.begin(), by_age.begin() + static_cast<std::ptrdiff_t>(excess),
                   by_age.end());
  for (size_t i = 0; i < excess; ++i) records_.erase(by_age[i].second);
}

void LoginLimiter::RecordFailure(std::string_view address, std::string_view user) {
  WebClock::time_point now = clock_();
  std::lock_guard lock(mutex_);
  FailLocked(AddressKey(address), now);
  FailLocked(UserKey(user), now);
  if (records_.size() > options_.max_keys) PruneLocked(now);
}

void LoginLimiter::RecordSuccess(std::string_view address, std::string_view user) {
  std::lock_guard lock(mutex_);
  records_.erase(AddressKey(address));
  records_.erase(UserKey(user));
}

size_t LoginLimiter::tracked() {
  std::lock_guard lock(mutex_);
  return records_.size();
}

}  // namespace moat::cli
