// dnsbl_access_list.cc - see dnsbl_access_list.h.
#include "mta/dnsbl_access_list.h"

#include <cctype>

#include "core/config_value.h"
#include <spdlog/spdlog.h>

namespace moat::mta {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

core::Result<DnsblAccessList> DnsblAccessList::Parse(
    std::string_view value, std::shared_ptr<const core::NetworkList> mynetworks,
    const core::TableOpenOptions& options) {
  DnsblAccessList list;
  list.mynetworks_ = std::move(mynetworks);
  auto items = core::SplitTableList(value);
  if (!items) return core::Fail(items.error());
  for (const std::string& item : *items) {
    if (Lower(item) == "permit_mynetworks") {
      list.entries_.push_back({item, nullptr});
      continue;
    }
    if (item.find(':') == std::string::npos) {
      return core::Fail(core::ErrorCode::kInvalid,
                        "postscreen_access_list: unknown entry '{}' (expected permit_mynetworks "
                        "or type:table)",
                        item);
    }
    auto table = core::OpenTable(item, options);
    if (!table) return core::Fail(table.error().WithContext("postscreen_access_list"));
    list.entries_.push_back({item, std::move(*table)});
  }
  return list;
}

DnsblAccessList::Match DnsblAccessList::Check(std::string_view client_address) const {
  Match match;
  for (const Entry& entry : entries_) {
    if (entry.table == nullptr) {
      if (mynetworks_ == nullptr) continue;
      auto in = mynetworks_->Contains(client_address);
      if (!in) {
        match.error = in.error().message();
        continue;
      }
      if (*in) {
        match.decision = AccessDecision::kPermit;
        match.entry = entry.text;
        return match;
      }
      continue;
    }
    auto found = entry.table->Lookup(client_address);
    if (!found) {
      match.error = found.error().message();
      spdlog::warn("postscreen_access_list {}: {} (ignored)", entry.text,
                           found.error().message());
      continue;
    }
    if (!found->has_value()) continue;
    std::string action = Lower(**found);
    size_t space = action.find_first_of(" \t");
    if (space != std::string::npos) action.resize(space);
    if (action == "permit" || action == "ok") {
      match.decision = AccessDecision::kPermit;
    } else if (action == "reject") {
      match.decision = AccessDecision::kReject;
    } else if (action == "dunno") {
      continue;
    } else {
      spdlog::warn("postscreen_access_list {}: unknown action '{}' for {} (ignored)",
                           entry.text, **found, client_address);
      continue;
    }
    match.entry = entry.text;
    return match;
  }
  return match;
}

}  // namespace moat::mta
