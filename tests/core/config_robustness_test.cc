// config_robustness_test.cc - hostile configuration text never crashes, hangs or grows without
// bound: random text made of the characters the parsers care about goes through main.cf and
// master.cf parsing, a full Config build (expansion, type checks) and every getter. A fixed seed
// keeps failures reproducible; run under ASan/UBSan in ./test's second pass.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "core/config.h"
#include "core/config_expand.h"
#include "core/master_cf.h"

namespace moat::core {
namespace {

std::string RandomText(std::mt19937& rng, size_t length) {
  static constexpr std::string_view kPieces[] = {
      "$",  "$$", "${", "$(", "}",  ")",   "{",  "?",   ":",    "=",  ",",  " ",   "\t",
      "\n", "\n ", "#", "a", "b",  "a_b", "-o", "==",  "<level", "!", "[", "]", "/",
      "\r", "inet", "unix", "smtpd", "x", "1", "10s", "yes", std::string_view("\0", 1)};
  std::uniform_int_distribution<size_t> pick(0, std::size(kPieces) - 1);
  std::string text;
  while (text.size() < length) text += kPieces[pick(rng)];
  return text;
}

ParameterRegistry Registry() {
  ParameterRegistry r("moat-test");
  r.Add(spec::String("a", "$b", "a"));
  r.Add(spec::String("b", "${a?{x}:{y}}", "b"));
  r.Add(spec::Time("t", "10s", 's', "t"));
  r.Add(spec::Integer("n", "1", "n"));
  r.Add(spec::Networks("mynetworks", "127.0.0.0/8", "networks"));
  r.Add(spec::Tables("maps", "", "maps"));
  r.Add(spec::Names("classes", "", "classes"));
  return r;
}

TEST(ConfigRobustnessTest, RandomMainCfTextIsHandled) {
  std::mt19937 rng(20240601);
  ParameterRegistry registry = Registry();
  for (int round = 0; round < 2000; ++round) {
    std::string text = RandomText(rng, 10 + round % 300);
    ConfigFileContents contents = ParseConfigText(text, "main.cf");
    ConfigDiagnostics diagnostics = contents.diagnostics;
    auto config = Config::Build(registry, "/etc/moat", contents.entries, {}, {}, diagnostics);
    for (const ConfigDiagnostic& d : diagnostics) EXPECT_FALSE(d.ToString().empty());
    for (const char* name : {"a", "b", "t", "n", "mynetworks", "maps"}) {
      try {
        config->GetString(name);
        config->GetList(name);
      } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find(':'), std::string::npos);
      }
    }
    for (const Setting* s : config->ExplicitSettings()) {
      try {
        config->GetString(s->name);
      } catch (const ConfigError&) {
      }
    }
  }
}

TEST(ConfigRobustnessTest, RandomExpansionTextIsHandled) {
  std::mt19937 rng(7);
  for (int round = 0; round < 5000; ++round) {
    std::string text = RandomText(rng, 5 + round % 120);
    Expander expander([&](std::string_view name) -> std::optional<std::string> {
      if (name == "a") return "$b";
      if (name == "b") return "x${a?y}";
      if (name == "x") return text;  // self-referential through $x
      return std::nullopt;
    });
    auto result = expander.Expand(text);
    if (result) {
      EXPECT_LE(result->size(), kMaxExpandedBytes);
    }
    auto x = expander.ExpandParameter("x");
    (void)x;
  }
}

TEST(ConfigRobustnessTest, RandomMasterCfTextIsHandled) {
  std::mt19937 rng(99);
  for (int round = 0; round < 2000; ++round) {
    std::string text = RandomText(rng, 10 + round % 400);
    MasterCf master = ParseMasterCf(text, "master.cf");
    for (const MasterService& s : master.services) {
      EXPECT_FALSE(s.command.empty());
      for (const ConfigEntry& o : s.overrides) EXPECT_FALSE(o.name.empty());
    }
  }
}

TEST(ConfigRobustnessTest, HugeInputsStayBounded) {
  // A 4 MB single line and a 200,000-line continuation: parsed, with no quadratic blow-up in the
  // number of lines.
  std::string long_line = "x = " + std::string(4 << 20, 'a') + "\n";
  EXPECT_EQ(ParseConfigText(long_line, "main.cf").entries.at(0).value.size(), 4u << 20);
  std::string continued = "list = a";
  for (int i = 0; i < 200000; ++i) continued += ",\n  b";
  ConfigFileContents c = ParseConfigText(continued, "main.cf");
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(SplitList(c.entries[0].value).size(), 200001u);
}

}  // namespace
}  // namespace moat::core
