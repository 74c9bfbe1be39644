// spf_test_zone.h - an in-memory DNS zone behind mta::SpfDns, for SPF tests that need answers a
// real server cannot give on demand (timeouts on one record type, the openspf.org test suite's
// zone data), plus RunAwaitable() to drive a coroutine to completion in a test.
//
// Zone semantics follow the openspf.org test-suite driver (python3-spf's testspf.py): names are
// case-insensitive; a name that is not in the zone is NXDOMAIN (kTempFail for names starting
// with "error."); "TIMEOUT" as a whole entry makes every later-listed type of that name time out,
// "TIMEOUT" as the value of a type makes that type time out; SPF (type 99) records are served as
// TXT when the name has no TXT records of its own; a CNAME is followed. Malformed names (empty
// or over-long labels) are kPermFail, as core::DnsResolver answers them.
#pragma once

#include <asio.hpp>
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mta/spf_dns.h"

namespace moat::mta::testing {

template <typename T>
T RunAwaitable(asio::io_context& io, asio::awaitable<T> task) {
  std::optional<T> out;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    if (e) std::rethrow_exception(e);
    out.emplace(std::move(value));
  });
  io.restart();
  while (!out.has_value() && io.run_one() > 0) {
  }
  EXPECT_TRUE(out.has_value());
  return std::move(*out);
}

struct ZoneRecord {
  std::string type;                  // "A", "AAAA", "MX", "PTR", "TXT", "SPF", "CNAME", "TIMEOUT"
  std::vector<std::string> strings;  // TXT/SPF strings; A/AAAA/PTR/CNAME: one value
  int preference = 0;                // MX
};

class ZoneSpfDns : public SpfDns {
 public:
  void Add(const std::string& name, ZoneRecord record) { zone_[Lower(name)].push_back(record); }
  void AddTxt(const std::string& name, std::vector<std::string> strings) {
    Add(name, {"TXT", std::move(strings), 0});
  }
  void AddA(const std::string& name, const std::string& address) {
    Add(name, {"A", {address}, 0});
  }
  int queries() const { return queries_; }

  asio::awaitable<core::Result<core::DnsAnswer<core::TxtRecord>>> Txt(std::string name) override {
    auto found = Find(name, "TXT");
    if (!found) co_return std::unexpected(found.error());
    core::DnsAnswer<core::TxtRecord> answer;
    answer.outcome = found->outcome;
    for (const ZoneRecord* r : found->records) answer.records.push_back({r->strings, 300});
    if (answer.outcome == core::DnsOutcome::kFound && answer.records.empty()) {
      answer.outcome = core::DnsOutcome::kNoData;
    }
    co_return answer;
  }
  asio::awaitable<core::Result<core::DnsAnswer<core::AddressRecord>>> A(
      std::string name) override {
    auto answer = Addresses(name, "A");
    co_return answer;
  }
  asio::awaitable<core::Result<core::DnsAnswer<core::AddressRecord>>> Aaaa(
      std::string name) override {
    auto answer = Addresses(name, "AAAA");
    co_return answer;
  }
  asio::awaitable<core::Result<core::DnsAnswer<core::MxRecord>>> Mx(std::string name) override {
    auto found = Find(name, "MX");
    if (!found) co_return std::unexpected(found.error());
    core::DnsAnswer<core::MxRecord> answer;
    answer.outcome = found->outcome;
    for (const ZoneRecord* r : found->records) {
      std::string exchange = r->strings.front();
      if (!exchange.empty() && exchange.back() == '.') exchange.pop_back();
      answer.records.push_back({static_cast<uint16_t>(r->preference), exchange, 300});
    }
    std::stable_sort(answer.records.begin(), answer.records.end(),
                     [](const auto& a, const auto& b) { return a.preference < b.preference; });
    co_return answer;
  }
  asio::awaitable<core::Result<core::DnsAnswer<core::PtrRecord>>> Ptr(
      asio::ip::address address) override {
    auto found = Find(core::ReverseLookupName(address), "PTR");
    if (!found) co_return std::unexpected(found.error());
    core::DnsAnswer<core::PtrRecord> answer;
    answer.outcome = found->outcome;
    for (const ZoneRecord* r : found->records) answer.records.push_back({r->strings.front(), 300});
    co_return answer;
  }

 private:
  struct Found {
    core::DnsOutcome outcome = core::DnsOutcome::kNoData;
    std::vector<const ZoneRecord*> records;
  };

  static std::string Lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!text.empty() && text.back() == '.') text.pop_back();
    return text;
  }

  core::Result<core::DnsAnswer<core::AddressRecord>> Addresses(const std::string& name,
                                                               const std::string& type) {
    auto found = Find(name, type);
    if (!found) return std::unexpected(found.error());
    core::DnsAnswer<core::AddressRecord> answer;
    answer.outcome = found->outcome;
    for (const ZoneRecord* r : found->records) {
      std::error_code ec;
      auto address = asio::ip::make_address(r->strings.front(), ec);
      if (!ec) answer.records.push_back({address, 300});
    }
    if (answer.outcome == core::DnsOutcome::kFound && answer.records.empty()) {
      answer.outcome = core::DnsOutcome::kNoData;
    }
    return answer;
  }

  core::Result<Found> Find(const std::string& raw_name, const std::string& type, int depth = 0) {
    ++queries_;
    std::string name = Lower(raw_name);
    size_t label = 0;
    for (char c : name) {
      if (c == '.') {
        if (label == 0) return core::Fail(core::ErrorCode::kPermFail, "malformed name");
        label = 0;
      } else if (++label > 63) {
        return core::Fail(core::ErrorCode::kPermFail, "label over 63 octets");
      }
    }
    if (name.empty() || label == 0) return core::Fail(core::ErrorCode::kPermFail, "empty name");
    auto it = zone_.find(name);
    if (it == zone_.end()) {
      if (name.starts_with("error.")) return core::Fail(core::ErrorCode::kTempFail, "timeout");
      return Found{core::DnsOutcome::kNxDomain, {}};
    }
    // The entries in the driver's order: SPF records are copied to TXT at the end when the
    // name has no TXT entry of its own.
    std::vector<const ZoneRecord*> entries;
    bool has_txt = false;
    for (const ZoneRecord& r : it->second) {
      has_txt |= r.type == "TXT";
      // "TYPE: NONE" only says "no generated TXT records here"; it is not an entry.
      if (r.strings.size() == 1 && r.strings.front() == "NONE") continue;
      entries.push_back(&r);
    }
    std::vector<ZoneRecord>& generated = generated_[name];
    if (!has_txt && generated.empty()) {
      for (const ZoneRecord& r : it->second) {
        if (r.type == "SPF") generated.push_back({"TXT", r.strings, 0});
      }
    }
    for (const ZoneRecord& r : generated) entries.push_back(&r);
    Found found;
    bool seen_type = false;
    const ZoneRecord* cname = nullptr;
    for (const ZoneRecord* r : entries) {
      if (r->type == "TIMEOUT") {
        if (!seen_type) return core::Fail(core::ErrorCode::kTempFail, "timeout");
        break;
      }
      if (r->type == "CNAME") cname = r;
      if (r->type != type) continue;
      seen_type = true;
      if (!r->strings.empty() && r->strings.front() == "TIMEOUT") {
        return core::Fail(core::ErrorCode::kTempFail, "timeout");
      }
      found.records.push_back(r);
    }
    if (found.records.empty() && cname != nullptr && depth < 8) {
      return Find(cname->strings.front(), type, depth + 1);
    }
    found.outcome = found.records.empty() ? core::DnsOutcome::kNoData : core::DnsOutcome::kFound;
    return found;
  }

  std::map<std::string, std::vector<ZoneRecord>> zone_;
  std::map<std::string, std::vector<ZoneRecord>> generated_;
  int queries_ = 0;
};

}  // namespace moat::mta::testing
