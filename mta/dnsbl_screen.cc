// dnsbl_screen.cc - see dnsbl_screen.h.
#include "mta/dnsbl_screen.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace moat::mta {
namespace {

std::string Unmapped(const asio::ip::address& client) {
  if (client.is_v6() && client.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, client.to_v6()).to_string();
  }
  return client.to_string();
}

PolicyVerdict Refusal(ScreenAction action, const std::string& client, const std::string& what) {
  PolicyVerdict verdict;
  std::string text = fmt::format("Service unavailable; client [{}] blocked using {}", client, what);
  if (action == ScreenAction::kDrop) {
    verdict.action = PolicyAction::kDrop;
    verdict.reply = core::SmtpReply(521, "5.7.1", text);
  } else {
    verdict.action = PolicyAction::kReject;
    verdict.reply = core::SmtpReply(550, "5.7.1", text);
  }
  return verdict;
}

}  // namespace

core::Result<ScreenAction> ParseScreenAction(std::string_view text) {
  if (text == "ignore") return ScreenAction::kIgnore;
  if (text == "enforce") return ScreenAction::kEnforce;
  if (text == "drop") return ScreenAction::kDrop;
  return core::Fail(core::ErrorCode::kInvalid, "unknown postscreen action '{}'", text);
}

core::Result<DnsblScreenOptions> DnsblScreenOptions::FromConfig(
    const core::Config& config, std::shared_ptr<const core::NetworkList> mynetworks) {
  DnsblScreenOptions options;
  auto sites = ParseDnsblSites(config.GetList("postscreen_dnsbl_sites"));
  if (!sites) return core::Fail(sites.error().WithContext("postscreen_dnsbl_sites"));
  options.sites = std::move(*sites);
  options.threshold = static_cast<int>(config.GetInt("postscreen_dnsbl_threshold"));
  options.allowlist_threshold =
      static_cast<int>(config.GetInt("postscreen_dnsbl_allowlist_threshold"));
  auto action = ParseScreenAction(config.GetString("postscreen_dnsbl_action"));
  if (!action) return core::Fail(action.error());
  options.action = *action;
  auto denylist = ParseScreenAction(config.GetString("postscreen_denylist_action"));
  if (!denylist) return core::Fail(denylist.error());
  options.denylist_action = *denylist;
  options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      config.GetTime("postscreen_dnsbl_timeout"));
  core::TableOpenOptions tables;
  tables.base_directory = config.absolute_directory();
  auto access = DnsblAccessList::Parse(config.GetString("postscreen_access_list"),
                                       std::move(mynetworks), tables);
  if (!access) return core::Fail(access.error());
  options.access_list = std::move(*access);
  auto reply_map = core::TableList::Open(config.GetString("postscreen_dnsbl_reply_map"), tables);
  if (!reply_map) return core::Fail(reply_map.error().WithContext("postscreen_dnsbl_reply_map"));
  options.reply_map = std::make_shared<const core::TableList>(std::move(*reply_map));
  return options;
}

asio::awaitable<DnsblScore> DnsblScreen::Score(asio::ip::address client) {
  DnsblScore score;
  // One query per distinct domain, however many entries (filters) name it.
  std::map<std::string, size_t> index;
  std::vector<std::string> names;
  for (const DnsblSite& site : options_.sites) {
    if (index.emplace(site.domain, names.size()).second) {
      names.push_back(DnsblQueryName(client, site.domain));
    }
  }
  if (names.empty()) co_return score;
  std::vector<DnsblAnswer> answers = co_await client_.LookupAll(names, options_.timeout);
  for (const auto& answer : answers) {
    if (answer.status == DnsblAnswer::Status::kError) ++score.errors;
    score.ignored += answer.ignored;
  }
  for (const DnsblSite& site : options_.sites) {
    const DnsblAnswer& answer = answers[index[site.domain]];
    if (answer.status != DnsblAnswer::Status::kListed) continue;
    DnsblListing listing;
    for (const auto& address : answer.addresses) {
      if (site.filter.Matches(address)) listing.answers.push_back(address);
    }
    if (listing.answers.empty()) continue;
    listing.site = site.text;
    listing.domain = site.domain;
    listing.weight = site.weight;
    score.score += site.weight;  // once per entry, however many answers matched
    score.listings.push_back(std::move(listing));
  }
  co_return score;
}

asio::awaitable<ScreenResult> DnsblScreen::Screen(asio::ip::address client) {
  ScreenResult result;
  const std::string address = Unmapped(client);
  auto access = options_.access_list.Check(address);
  if (access.decision == AccessDecision::kPermit) {
    result.allowlisted = true;
    result.verdict.action = PolicyAction::kPermit;
    result.verdict.log = fmt::format("ALLOWLISTED [{}] by {}", address, access.entry);
    co_return result;
  }
  if (access.decision == AccessDecision::kReject) {
    result.denylisted = true;
    if (options_.denylist_action == ScreenAction::kIgnore) {
      result.verdict.log = fmt::format("DENYLISTED [{}] by {} (ignored)", address, access.entry);
    } else {
      result.verdict = Refusal(options_.denylist_action, address, "postscreen_access_list");
      result.verdict.log = fmt::format("DENYLISTED [{}] by {}", address, access.entry);
      co_return result;
    }
  }

  result.score = co_await Score(client);
  const DnsblScore& score = result.score;
  if (options_.allowlist_threshold < 0 && score.score <= options_.allowlist_threshold) {
    result.allowlisted = true;
    result.verdict.action = PolicyAction::kPermit;
    result.verdict.log = fmt::format("DNSBL allowlisted [{}] (score {})", address, score.score);
    co_return result;
  }
  if (score.score < options_.threshold || score.listings.empty()) {
    if (result.verdict.log.empty() && score.errors > 0) {
      result.verdict.log = fmt::format("DNSBL [{}] score {} ({} lists did not answer)", address,
                                       score.score, score.errors);
    }
    co_return result;
  }
  result.listed = true;
  // The list with the highest weight names the rejection, as postscreen does.
  const DnsblListing* top = &score.listings.front();
  for (const auto& listing : score.listings) {
    if (listing.weight > top->weight) top = &listing;
  }
  std::string shown = top->domain;
  bool hidden = false;
  if (options_.reply_map && !options_.reply_map->empty()) {
    auto mapped = options_.reply_map->Lookup(top->domain);
    if (mapped && mapped->has_value()) {
      shown = **mapped;
      hidden = true;
    }
  }
  std::string log = fmt::format("DNSBL rank {} for [{}] (threshold {}; listed by {})", score.score,
                                address, options_.threshold, top->site);
  if (options_.action == ScreenAction::kIgnore) {
    result.verdict.log = log + " (ignored)";
    co_return result;
  }
  // A list hidden by the reply map may name itself in its TXT text: show no reason then.
  std::string reason;
  if (!hidden) {
    auto text = co_await client_.Reason(DnsblQueryName(client, top->domain), options_.timeout);
    reason = std::move(text);
  }
  std::string what = reason.empty() ? shown : shown + "; " + reason;
  result.verdict = Refusal(options_.action, address, what);
  result.verdict.log = std::move(log);
  co_return result;
}

}  // namespace moat::mta
