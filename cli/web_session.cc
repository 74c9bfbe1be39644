// web_session.cc - the in-memory session table.
#include "cli/web_session.h"

#include <openssl/sha.h>

#include <algorithm>

namespace moat::cli {
namespace {

std::string TokenKey(std::string_view token) {
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(),
         reinterpret_cast<unsigned char*>(digest.data()));
  return digest;
}

}  // namespace

SessionStore::SessionStore(SessionOptions options, std::function<WebClock::time_point()> clock)
    : options_(options), clock_(std::move(clock)) {}

void SessionStore::ExpireLocked(WebClock::time_point now) {
  std::erase_if(sessions_, [&](const auto& item) {
    const WebSession& s = item.second;
    return now - s.last_seen >= options_.idle_timeout ||
           now - s.created >= options_.absolute_timeout;
  });
}

std::string SessionStore::Create(const std::string& user, WebRole role) {
  std::string token = RandomToken();
  WebSession session{user, role, RandomToken(), clock_(), clock_()};
  std::lock_guard lock(mutex_);
  ExpireLocked(session.created);
  while (sessions_.size() >= options_.max_sessions && !sessions_.empty()) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
      return a.second.last_seen < b.second.last_seen;
    });
    sessions_.erase(oldest);
  }
  sessions_.emplace(TokenKey(token), std::move(session));
  return token;
}

std::optional<WebSession> SessionStore::Touch(std::string_view token) {
  if (token.empty() || token.size() > 128) return std::nullopt;
  WebClock::time_point now = clock_();
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(TokenKey(token));
  if (it == sessions_.end()) return std::nullopt;
  WebSession& s = it->second;
  if (now - s.last_seen >= options_.idle_timeout || now - s.created >= options_.absolute_timeout) {
    sessions_.erase(it);
    return std::nullopt;
  }
  s.last_seen = now;
  return s;
}

void SessionStore::Remove(std::string_view token) {
  std::lock_guard lock(mutex_);
  sessions_.erase(TokenKey(token));
}

void SessionStore::RemoveUser(std::string_view user) {
  std::lock_guard lock(mutex_);
  std::erase_if(sessions_, [&](const auto& item) { return item.second.user == user; });
}

size_t SessionStore::size() {
  std::lock_guard lock(mutex_);
  ExpireLocked(clock_());
  return sessions_.size();
}

}  // namespace moat::cli
