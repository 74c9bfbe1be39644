// expression_test.cc - meta/if expressions with Perl's precedence and values.
#include "rules/expression.h"

#include <gtest/gtest.h>

#include <map>

namespace moat::rules {
namespace {

double Eval(const std::string& text, const std::map<std::string, double>& values = {}) {
  auto e = ParseExpression(text);
  EXPECT_TRUE(e) << text << ": " << (e ? "" : e.error().message());
  if (!e) return -1;
  std::vector<double> inputs;
  for (const std::string& n : e->names()) {
    auto it = values.find(n);
    inputs.push_back(it == values.end() ? 0 : it->second);
  }
  auto v = e->Evaluate(inputs.data());
  EXPECT_TRUE(v) << text;
  return v ? *v : -1;
}

TEST(ExpressionTest, BooleanAndArithmeticWithPrecedence) {
  std::map<std::string, double> v = {{"A", 1}, {"B", 0}, {"C", 3}};
  EXPECT_EQ(Eval("A && B", v), 0);
  EXPECT_EQ(Eval("A || B", v), 1);
  EXPECT_EQ(Eval("!B && A", v), 1);
  EXPECT_EQ(Eval("A + C > 3", v), 1);
  EXPECT_EQ(Eval("A + B + C >= 5", v), 0);
  EXPECT_EQ(Eval("(A || B) && !(C < 2)", v), 1);
  EXPECT_EQ(Eval("C * 2 - 1", v), 5);
  EXPECT_EQ(Eval("1 + 2 * 3", v), 7);
  EXPECT_EQ(Eval("C == 3 ? 10 : 20", v), 10);
  EXPECT_EQ(Eval("A ^ C", v), 2);
  EXPECT_EQ(Eval("-C + 4", v), 1);
  EXPECT_EQ(Eval("()"), 0);
}

TEST(ExpressionTest, AndOrYieldTheDecidingValue) {
  // Perl: "2 && 3" is 3, "0 || 5" is 5 - meta rules that add hit counts rely on it.
  std::map<std::string, double> v = {{"A", 2}, {"B", 3}, {"Z", 0}};
  EXPECT_EQ(Eval("A && B", v), 3);
  EXPECT_EQ(Eval("Z || B", v), 3);
  EXPECT_EQ(Eval("A || B", v), 2);
}

TEST(ExpressionTest, NamesInOrderOfFirstUse) {
  auto e = ParseExpression("__B && (A || __B) && !C");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->names(), (std::vector<std::string>{"__B", "A", "C"}));
}

TEST(ExpressionTest, SyntaxErrorsAreInvalid) {
  for (const char* bad : {"A &&", "(A || B", "A B", "A $ B", "&& A", "A ? B", "f(x)"}) {
    auto e = ParseExpression(bad);
    EXPECT_FALSE(e) << bad;
  }
}

TEST(ExpressionTest, DivisionByZeroIsAnError) {
  auto e = ParseExpression("A / B");
  ASSERT_TRUE(e);
  double zeros[2] = {0, 0};
  EXPECT_FALSE(e->Evaluate(zeros));
}

TEST(ExpressionTest, CallsForIfLines) {
  auto e = ParseExpression("plugin(Mail::SpamAssassin::Plugin::Foo) && version >= 3.004", true);
  ASSERT_TRUE(e);
  auto v = e->Evaluate([](size_t) { return 4.0; },
                       [](const std::string& fn, const std::string& arg) -> core::Result<double> {
                         EXPECT_EQ(fn, "plugin");
                         EXPECT_EQ(arg, "Mail::SpamAssassin::Plugin::Foo");
                         return 1.0;
                       });
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 1);
  EXPECT_TRUE(IsRuleName("__FOO_1"));
  EXPECT_FALSE(IsRuleName("1FOO"));
  EXPECT_FALSE(IsRuleName("FOO-BAR"));
}

}  // namespace
}  // namespace moat::rules
