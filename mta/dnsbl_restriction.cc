// dnsbl_restriction.cc - see dnsbl_restriction.h.
#include "mta/dnsbl_restriction.h"

#include <cctype>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/config_expand.h"
#include "mta/dnsbl_site.h"

namespace moat::mta {
namespace {

// A macro value is data, never a template: "$" doubles so that expansion yields it unchanged.
std::string Escape(std::string_view value) {
  std::string out;
  for (char c : value) {
    out += c;
    if (c == '$') out += '$';
  }
  return out;
}

std::string DomainOf(std::string_view address) {
  size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : std::string(address.substr(at + 1));
}

std::string_view ClassName(RhsblTarget target) {
  switch (target) {
    case RhsblTarget::kClient: return "Client host";
    case RhsblTarget::kReverseClient: return "Unverified Client host";
    case RhsblTarget::kHelo: return "Helo command";
    case RhsblTarget::kSender: return "Sender address";
    case RhsblTarget::kRecipient: return "Recipient address";
  }
  return "Client host";
}

asio::awaitable<PolicyVerdict> Lookup(DnsblClient& client, const RblOptions& options,
                                      const DnsblSite& site, std::string query_name,
                                      const RblRequest& request, std::string_view rbl_class,
                                      std::string what) {
  PolicyVerdict verdict;
  std::vector<std::string> names = {query_name};
  std::vector<DnsblAnswer> answers = co_await client.LookupAll(names, options.timeout);
  const DnsblAnswer& answer = answers.front();
  if (answer.status == DnsblAnswer::Status::kError) {
    verdict.log = fmt::format("{} lookup error for {}: {} (not rejected)", site.domain, what,
                              answer.error);
    co_return verdict;
  }
  bool matched = false;
  for (const auto& address : answer.addresses) matched |= site.filter.Matches(address);
  if (!matched) co_return verdict;
  std::string reason = co_await client.Reason(query_name, options.timeout);
  verdict.action = PolicyAction::kReject;
  verdict.reply = RblReply(options, request, site.domain, rbl_class, what, reason);
  verdict.log = fmt::format("{} [{}] listed by {}", rbl_class, what, site.text);
  co_return verdict;
}

}  // namespace

core::Result<RblOptions> RblOptions::FromConfig(const core::Config& config) {
  RblOptions options;
  options.reject_code = static_cast<int>(config.GetInt("maps_rbl_reject_code"));
  options.default_reply = config.GetString("default_rbl_reply");
  options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      config.GetTime("rbl_lookup_timeout"));
  core::TableOpenOptions tables;
  tables.base_directory = config.absolute_directory();
  auto maps = core::TableList::Open(config.GetString("rbl_reply_maps"), tables);
  if (!maps) return core::Fail(maps.error().WithContext("rbl_reply_maps"));
  options.reply_maps = std::make_shared<const core::TableList>(std::move(*maps));
  return options;
}

core::SmtpReply RblReply(const RblOptions& options, const RblRequest& request,
                         std::string_view domain, std::string_view rbl_class,
                         std::string_view what, std::string_view reason) {
  std::string templ = options.default_reply;
  if (options.reply_maps && !options.reply_maps->empty()) {
    auto mapped = options.reply_maps->Lookup(domain);
    if (mapped && mapped->has_value()) templ = **mapped;
  }
  std::map<std::string, std::string, std::less<>> macros = {
      {"rbl_code", std::to_string(options.reject_code)},
      {"rbl_class", std::string(rbl_class)},
      {"rbl_what", std::string(what)},
      {"rbl_domain", std::string(domain)},
      {"rbl_reason", std::string(reason)},
      {"rbl_txt", std::string(reason)},
      {"client_address", request.client_address},
      {"client_name", request.client_name},
      {"reverse_client_name", request.reverse_client_name},
      {"client", fmt::format("{}[{}]", request.client_name, request.client_address)},
      {"helo_name", request.helo},
      {"sender", request.sender},
      {"sender_domain", DomainOf(request.sender)},
      {"recipient", request.recipient},
      {"recipient_domain", DomainOf(request.recipient)},
  };
  core::Expander expander([&](std::string_view name) -> std::optional<std::string> {
    auto it = macros.find(name);
    if (it == macros.end()) return std::nullopt;
    return Escape(it->second);
  });
  auto expanded = expander.Expand(templ, "default_rbl_reply");
  std::string line = expanded ? *expanded
                              : fmt::format("{} Service unavailable; {} [{}] blocked using {}",
                                            options.reject_code, rbl_class, what, domain);
  auto reply = core::SmtpReply::FromString(line);
  if (!reply || reply->code() < 400) {
    spdlog::warn("rbl reply for {} does not start with a 4xx/5xx code: '{}'", domain, line);
    reply = core::SmtpReply(options.reject_code, "",
                            fmt::format("Service unavailable; {} [{}] blocked using {}",
                                        rbl_class, what, domain));
  }
  if (reply->enhanced().empty()) {
    reply = core::SmtpReply(reply->code(), reply->transient() ? "4.7.1" : "5.7.1", reply->text());
  }
  return *reply;
}

asio::awaitable<PolicyVerdict> CheckRblClient(DnsblClient& client, const RblOptions& options,
                                              std::string argument, RblRequest request) {
  PolicyVerdict verdict;
  auto site = ParseDnsblSite(argument, false);
  std::error_code ec;
  auto address = asio::ip::make_address(request.client_address, ec);
  if (!site || ec) {
    verdict.log = site ? "reject_rbl_client: no client IP address"
                       : "reject_rbl_client: " + site.error().message();
    co_return verdict;
  }
  std::string what = request.client_address;
  auto result = co_await Lookup(client, options, *site, DnsblQueryName(address, site->domain),
                                request, "Client host", what);
  co_return result;
}

asio::awaitable<PolicyVerdict> CheckRhsbl(DnsblClient& client, const RblOptions& options,
                                          RhsblTarget target, std::string argument,
                                          RblRequest request) {
  PolicyVerdict verdict;
  auto site = ParseDnsblSite(argument, false);
  if (!site) {
    verdict.log = "reject_rhsbl: " + site.error().message();
    co_return verdict;
  }
  std::string name;
  switch (target) {
    case RhsblTarget::kClient: name = request.client_name; break;
    case RhsblTarget::kReverseClient: name = request.reverse_client_name; break;
    case RhsblTarget::kHelo: name = request.helo; break;
    case RhsblTarget::kSender: name = DomainOf(request.sender); break;
    case RhsblTarget::kRecipient: name = DomainOf(request.recipient); break;
  }
  while (!name.empty() && name.back() == '.') name.pop_back();
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Nothing to look up: the null sender, an unknown client name, an address literal.
  bool looks_like_domain = !name.empty() && name != "unknown" && name.front() != '[' &&
                           name.find('.') != std::string::npos && name.size() < 200;
  for (char c : name) {
    looks_like_domain &= std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
                         c == '_';
  }
  if (!looks_like_domain) co_return verdict;
  auto result = co_await Lookup(client, options, *site, name + "." + site->domain, request,
                                ClassName(target), name);
  co_return result;
}

}  // namespace moat::mta
