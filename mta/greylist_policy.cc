// greylist_policy.cc - see greylist_policy.h.
#include "mta/greylist_policy.h"

#include <cctype>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/ip_network.h"
#include "mta/cleanup_received.h"

namespace moat::mta {
namespace {

constexpr int64_t kHourMs = 3600 * 1000;

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::chrono::milliseconds Ms(std::chrono::seconds s) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(s);
}

int64_t CeilSeconds(int64_t ms) { return ms <= 0 ? 0 : (ms + 999) / 1000; }

// "prvs=1234abcdef=user" (BATV, RFC draft), "msprvs1=..=user", "btv1==..==user": the user.
std::string_view StripBatv(std::string_view local) {
  for (std::string_view tag : {"prvs=", "msprvs1=", "btv1=="}) {
    if (local.size() > tag.size() && Lower(local.substr(0, tag.size())) == tag) {
      std::string_view rest = local.substr(tag.size());
      size_t end = rest.find('=');
      if (end != std::string_view::npos && end + 1 < rest.size()) {
        rest = rest.substr(end + 1);
        while (!rest.empty() && rest.front() == '=') rest.remove_prefix(1);
        if (!rest.empty()) return rest;
      }
    }
  }
  return local;
}

}  // namespace

GreylistOptions GreylistOptions::FromConfig(const core::Config& config) {
  GreylistOptions o;
  o.delay = Ms(config.GetTime("greylist_delay"));
  o.retry_window = Ms(config.GetTime("greylist_retry_window"));
  o.max_age = Ms(config.GetTime("greylist_max_age"));
  o.auto_allow_clients = static_cast<int>(config.GetInt("greylist_auto_allow_clients"));
  o.ipv4_prefix = static_cast<int>(config.GetInt("greylist_ipv4_prefix"));
  o.ipv6_prefix = static_cast<int>(config.GetInt("greylist_ipv6_prefix"));
  o.normalize_sender = config.GetBool("greylist_normalize_sender");
  o.text = config.GetString("greylist_text");
  o.header = config.GetBool("greylist_header");
  o.hostname = config.GetString("myhostname");
  o.database = config.GetPath("greylist_database");
  return o;
}

int64_t GreylistNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string_view GreylistOutcomeName(GreylistOutcome outcome) {
  switch (outcome) {
    case GreylistOutcome::kGreylisted: return "greylisted";
    case GreylistOutcome::kTooEarly: return "too early";
    case GreylistOutcome::kPassed: return "passed";
    case GreylistOutcome::kKnown: return "known";
    case GreylistOutcome::kAutoAllowed: return "auto-allowed";
    case GreylistOutcome::kNotApplicable: return "not applicable";
  }
  return "not applicable";
}

std::string GreylistClientNetwork(std::string_view address, int ipv4_prefix, int ipv6_prefix) {
  auto ip = core::IpAddress::Parse(address);
  if (!ip) return "";
  return core::IpNetwork(*ip, ip->is_v4() ? ipv4_prefix : ipv6_prefix).ToString();
}

std::string NormalizeGreylistSender(std::string_view sender, bool normalize) {
  std::string address = Lower(sender);
  if (!normalize) return address;
  size_t at = address.rfind('@');
  if (at == std::string::npos) return address;
  std::string_view local = std::string_view(address).substr(0, at);
  std::string_view domain = std::string_view(address).substr(at + 1);
  local = StripBatv(local);
  if (size_t plus = local.find('+'); plus != std::string_view::npos && plus > 0) {
    local = local.substr(0, plus);
  }
  // Numbers standing alone between separators (VERP counters, bounce IDs) become "#", so a
  // list's every mail does not make a new triplet (postgrey: s/\b\d+\b/#/g).
  std::string out;
  size_t i = 0;
  while (i < local.size()) {
    if (std::isdigit(static_cast<unsigned char>(local[i]))) {
      size_t end = i;
      while (end < local.size() && std::isdigit(static_cast<unsigned char>(local[end]))) ++end;
      bool left = i == 0 || !std::isalnum(static_cast<unsigned char>(local[i - 1]));
      bool right = end == local.size() || !std::isalnum(static_cast<unsigned char>(local[end]));
      if (left && right) {
        out += '#';
      } else {
        out.append(local.substr(i, end - i));
      }
      i = end;
      continue;
    }
    out += local[i++];
  }
  return out + "@" + std::string(domain);
}

core::Result<GreylistDecision> GreylistPolicy::Check(const GreylistRequest& request) {
  GreylistDecision d;
  d.client = GreylistClientNetwork(request.client_address, options_.ipv4_prefix,
                                   options_.ipv6_prefix);
  if (d.client.empty()) return d;
  d.sender = NormalizeGreylistSender(request.sender, options_.normalize_sender);
  d.recipient = Lower(request.recipient);
  std::lock_guard lock(mutex_);
  const int64_t now = clock_();
  ExpireIfDue(now);

  if (options_.auto_allow_clients > 0) {
    auto client = store_->FindClient(d.client);
    if (!client) return core::Fail(client.error());
    if (*client && (*client)->retries >= options_.auto_allow_clients) {
      // last_seen keeps the network from expiring; an hour's precision is enough for that.
      if (now - (*client)->last_seen >= kHourMs) {
        GreylistClient seen = **client;
        seen.last_seen = now;
        if (auto put = store_->PutClient(seen); !put) return core::Fail(put.error());
      }
      d.outcome = GreylistOutcome::kAutoAllowed;
      return d;
    }
  }

  auto found = store_->FindTriplet(d.client, d.sender, d.recipient);
  if (!found) return core::Fail(found.error());
  const int64_t delay = options_.delay.count();
  GreylistTriplet t;
  if (!*found) {
    t = {d.client, d.sender, d.recipient, now, now, 0, 1};
    d.outcome = GreylistOutcome::kGreylisted;
  } else {
    t = **found;
    ++t.attempts;
    if (t.passed != 0) {
      d.outcome = GreylistOutcome::kKnown;
    } else if (now - t.first_seen > delay + options_.retry_window.count()) {
      t.first_seen = now;  // retried too late: the delay starts again
      d.outcome = GreylistOutcome::kGreylisted;
    } else if (now - t.first_seen < delay) {
      d.outcome = GreylistOutcome::kTooEarly;
    } else {
      t.passed = now;
      d.outcome = GreylistOutcome::kPassed;
      d.delayed_seconds = (now - t.first_seen) / 1000;
    }
    t.last_seen = now;
  }
  if (d.defers()) d.wait_seconds = CeilSeconds(t.first_seen + delay - now);
  if (auto put = store_->PutTriplet(t); !put) return core::Fail(put.error());
  if (d.outcome == GreylistOutcome::kPassed && options_.auto_allow_clients > 0) {
    if (auto counted = CountRetry(d.client, now); !counted) return core::Fail(counted.error());
  }
  return d;
}

core::Status GreylistPolicy::CountRetry(const std::string& client, int64_t now) {
  auto found = store_->FindClient(client);
  if (!found) return core::Fail(found.error());
  GreylistClient c = found->value_or(GreylistClient{client, 0, 0, now});
  if (c.retries == 0 || now - c.last_counted >= kHourMs) {
    ++c.retries;
    c.last_counted = now;
  }
  c.last_seen = now;
  return store_->PutClient(c);
}

void GreylistPolicy::ExpireIfDue(int64_t now) {
  if (now < next_expiry_) return;
  next_expiry_ = now + kHourMs;
  auto removed = store_->Expire(now - options_.max_age.count());
  if (!removed) {
    spdlog::warn("greylist {}: expiring old entries: {}", store_->path(),
                 removed.error().message());
  } else if (*removed > 0) {
    spdlog::info("greylist {}: {} entries unused for greylist_max_age removed", store_->path(),
                 *removed);
  }
}

std::string GreylistPolicy::DeferText(const GreylistDecision& decision) const {
  std::string_view domain = decision.recipient;
  if (size_t at = domain.rfind('@'); at != std::string_view::npos) domain.remove_prefix(at + 1);
  std::string out;
  const std::string& text = options_.text;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 1 < text.size()) {
      char next = text[i + 1];
      if (next == 's') {
        out += std::to_string(decision.wait_seconds);
        ++i;
        continue;
      }
      if (next == 'r') {
        out.append(domain);
        ++i;
        continue;
      }
      if (next == '%') {
        out += '%';
        ++i;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::string GreylistPolicy::Header(const GreylistDecision& decision) const {
  return fmt::format("X-Greylist: delayed {} seconds by moat-mta at {}; {}",
                     decision.delayed_seconds, options_.hostname,
                     MailDate(std::chrono::system_clock::now()));
}

}  // namespace moat::mta
