// config_expand_test.cc - core::Expander: the $name forms of postconf(5), laziness, loops.
#include "core/config_expand.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace moat::core {
namespace {

class ExpandTest : public ::testing::Test {
 protected:
  Expander MakeExpander() {
    Expander e([this](std::string_view name) -> std::optional<std::string> {
      ++lookups_[std::string(name)];
      auto it = params_.find(std::string(name));
      if (it == params_.end()) return std::nullopt;
      return it->second;
    });
    e.set_on_undefined([this](std::string_view name) { undefined_.emplace_back(name); });
    return e;
  }
  std::string Expand(std::string_view text) {
    Expander e = MakeExpander();
    auto r = e.Expand(text);
    EXPECT_TRUE(r) << text << ": " << r.error().message();
    return r ? *r : std::string("<error>");
  }
  std::string ExpandError(std::string_view text) {
    Expander e = MakeExpander();
    auto r = e.Expand(text);
    EXPECT_FALSE(r) << text << " expanded to " << *r;
    return r ? std::string() : r.error().message();
  }

  std::map<std::string, std::string> params_;
  std::map<std::string, int> lookups_;
  std::vector<std::string> undefined_;
};

TEST_F(ExpandTest, PlainReferencesInAllThreeSpellings) {
  params_ = {{"a", "AA"}, {"myhostname", "mx.example.com"}};
  EXPECT_EQ(Expand("$a ${a} $(a)"), "AA AA AA");
  EXPECT_EQ(Expand("$myhostname ESMTP"), "mx.example.com ESMTP");
  EXPECT_EQ(Expand("$a.b"), "AA.b");  // '.' ends a name
  EXPECT_EQ(Expand("${a}_b"), "AA_b");
  EXPECT_EQ(Expand("cost $$5"), "cost $5");
  EXPECT_EQ(Expand("no references"), "no references");
}

TEST_F(ExpandTest, NestedReferencesExpandRecursively) {
  params_ = {{"myhostname", "mx.$mydomain"},
             {"mydomain", "example.com"},
             {"myorigin", "$myhostname"},
             {"smtpd_banner", "$myorigin ESMTP $mail_name"},
             {"mail_name", "Moat"}};
  EXPECT_EQ(Expand("$smtpd_banner"), "mx.example.com ESMTP Moat");
}

TEST_F(ExpandTest, UndefinedIsEmptyAndReported) {
  EXPECT_EQ(Expand("[$nope]"), "[]");
  ASSERT_EQ(undefined_.size(), 1u);
  EXPECT_EQ(undefined_[0], "nope");
  undefined_.clear();
  EXPECT_EQ(Expand("[$a_b]"), "[]");  // '_' is part of a name, so this is $a_b, not $a
  EXPECT_EQ(undefined_, std::vector<std::string>{"a_b"});
}

TEST_F(ExpandTest, ConditionalForms) {
  params_ = {{"set", "yes"}, {"empty", ""}, {"a", "AA"}};
  EXPECT_EQ(Expand("[${set?value}]"), "[value]");
  EXPECT_EQ(Expand("[${empty?value}]"), "[]");
  EXPECT_EQ(Expand("[${nope?value}]"), "[]");
  EXPECT_EQ(Expand("[${set:value}]"), "[]");
  EXPECT_EQ(Expand("[${empty:value}]"), "[value]");
  EXPECT_EQ(Expand("[${nope:value}]"), "[value]");
  EXPECT_EQ(Expand("[${set?{x y}:{z}}]"), "[x y]");
  EXPECT_EQ(Expand("[${empty?{x y}:{z}}]"), "[z]");
  EXPECT_EQ(Expand("[${empty?{x y}:z}]"), "[z]");
  EXPECT_EQ(Expand("[${empty:{ab}}]"), "[ab]");
  EXPECT_EQ(Expand("[${set?{$a}:{no}}]"), "[AA]");
  // The unbraced value is taken as written, including a leading "; ".
  EXPECT_EQ(Expand("x${set?; $a}"), "x; AA");
  // Conditional tests do not count as undefined references.
  EXPECT_TRUE(undefined_.empty());
}

TEST_F(ExpandTest, ConditionalBranchesAreLazy) {
  params_ = {{"empty", ""}, {"loop", "$loop"}};
  // The loop is never entered because its branch is not selected.
  EXPECT_EQ(Expand("${empty?$loop}"), "");
  EXPECT_EQ(Expand("${empty?{$loop}:{fine}}"), "fine");
  EXPECT_EQ(lookups_.count("loop"), 0u);
}

TEST_F(ExpandTest, PostfixDefaultsExpand) {
  params_ = {{"stress", ""},
             {"compatibility_level", "3.6"},
             {"smtp_tls_security_level", "dane"},
             {"smtpd_per_record_deadline", ""}};
  EXPECT_EQ(Expand("${stress?{10}:{300}}s"), "300s");
  params_["stress"] = "yes";
  EXPECT_EQ(Expand("${stress?{10}:{300}}s"), "10s");
  EXPECT_EQ(Expand("${{$compatibility_level} <level {2} ? {subnet} : {host}}"), "host");
  EXPECT_EQ(Expand("${{$compatibility_level} <level {3.6} ? {md5} : {sha256}}"), "sha256");
  params_["compatibility_level"] = "0";
  EXPECT_EQ(Expand("${{$compatibility_level} <level {2} ? {subnet} : {host}}"), "subnet");
  EXPECT_EQ(Expand("${{$smtp_tls_security_level} == {dane} ? {dane} : {may}}"), "dane");
  EXPECT_EQ(Expand("${smtpd_per_record_deadline?{x}:{${stress?{yes}:{no}}}}"), "yes");
}

TEST_F(ExpandTest, RelationalOperators) {
  EXPECT_EQ(Expand("${{10} > {9} ? {y} : {n}}"), "y");  // numeric: 10 > 9
  EXPECT_EQ(Expand("${{abc} < {abd} ? {y} : {n}}"), "y");
  EXPECT_EQ(Expand("${{a} != {a} ? {y} : {n}}"), "n");
  EXPECT_EQ(Expand("${{a} != {b} ? {y}}"), "y");
  EXPECT_EQ(Expand("${{3.10} >=level {3.9} ? {y} : {n}}"), "y");
  EXPECT_NE(ExpandError("${{a} =~ {b} ? {y}}").find("malformed expression"), std::string::npos);
}

TEST_F(ExpandTest, LoopsAreErrorsNamingTheChain) {
  params_ = {{"a", "$b"}, {"b", "x ${c}"}, {"c", "$(a)"}, {"self", "$self"}};
  EXPECT_EQ(ExpandError("$a"), "parameter loop: a -> b -> c -> a");
  EXPECT_EQ(ExpandError("$self"), "parameter loop: self -> self");
  Expander e = MakeExpander();
  EXPECT_FALSE(e.ExpandParameter("b"));
  EXPECT_EQ(e.last_loop(), (std::vector<std::string>{"b", "c", "a"}));
}

TEST_F(ExpandTest, LoopInsideAConditionalIsStillALoop) {
  params_ = {{"a", "${a?{x}}"}};
  EXPECT_NE(ExpandError("$a").find("parameter loop: a -> a"), std::string::npos);
}

TEST_F(ExpandTest, MalformedReferences) {
  EXPECT_NE(ExpandError("${a").find("truncated"), std::string::npos);
  EXPECT_NE(ExpandError("trailing $").find("stray '$'"), std::string::npos);
  EXPECT_NE(ExpandError("a $ b").find("stray '$'"), std::string::npos);
  EXPECT_NE(ExpandError("${}").find("empty parameter name"), std::string::npos);
  EXPECT_NE(ExpandError("${a-b}").find("syntax error"), std::string::npos);
  EXPECT_NE(ExpandError("${a?{x}junk}").find("syntax error"), std::string::npos);
}

TEST_F(ExpandTest, ExponentialGrowthIsBounded) {
  params_["a0"] = std::string(64, 'x');
  for (int i = 1; i <= 40; ++i) {
    params_["a" + std::to_string(i)] = fmt::format("$a{}$a{}", i - 1, i - 1);
  }
  EXPECT_NE(ExpandError("$a40").find("longer than"), std::string::npos);
  // Each parameter was looked up once: results are cached, so the time stays linear.
  for (const auto& [name, count] : lookups_) EXPECT_EQ(count, 1) << name;
}

TEST_F(ExpandTest, DeepNestingIsAnErrorNotACrash) {
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "${x?";
  text += "y";
  for (int i = 0; i < 5000; ++i) text += "}";
  params_["x"] = "1";
  EXPECT_NE(ExpandError(text).find("nested"), std::string::npos);
  for (int i = 0; i < 200; ++i) params_["n" + std::to_string(i)] = fmt::format("$n{}", i + 1);
  EXPECT_NE(ExpandError("$n0").find("nested more than"), std::string::npos);
}

TEST(ReferencedNamesTest, FindsEveryForm) {
  auto names = ReferencedNames("$a ${b} $(c) ${d?$e} ${{$f} == {x} ? {$g}} $$h ${i:j}");
  EXPECT_EQ(names, (std::set<std::string>{"a", "b", "c", "d", "e", "f", "g", "i"}));
}

}  // namespace
}  // namespace moat::core
