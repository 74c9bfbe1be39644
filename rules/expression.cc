// expression.cc - tokenizer, precedence-climbing parser and evaluator for meta/if expressions.
#include "rules/expression.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <unordered_map>

namespace moat::rules {

using core::ErrorCode;
using core::Fail;
using core::Result;

enum class Op {
  kOr,
  kAnd,
  kXor,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAdd,
  kSub,
  kMul,
  kDiv,
};

struct Expression::Node {
  enum class Kind { kNumber, kName, kCall, kNot, kNegate, kBinary, kTernary };
  Kind kind = Kind::kNumber;
  double number = 0;
  size_t name = 0;
  std::string function;
  std::string argument;
  Op op = Op::kOr;
  std::unique_ptr<Node> a, b, c;
};

// A postfix program over a stack of doubles, with jumps for && || and ?:.
struct Expression::Program {
  enum class Code : uint8_t {
    kConst,
    kName,
    kNot,
    kNegate,
    kBinary,
    kJumpIfFalseKeep,
    kJumpIfTrueKeep,
    kJumpIfFalsePop,
    kJump,
    kPop
  };
  struct Instr {
    Code code;
    Op op = Op::kOr;
    uint32_t arg = 0;  // name index or jump target
    double value = 0;
  };
  std::vector<Instr> code;
  size_t max_stack = 0;
};

namespace {

using Node = Expression::Node;
using Program = Expression::Program;

// Compiles a tree without calls; returns false if it has a call.
bool CompileNode(const Node& n, Program& p, size_t depth) {
  using C = Program::Code;
  p.max_stack = std::max(p.max_stack, depth + 1);
  switch (n.kind) {
    case Node::Kind::kNumber:
      p.code.push_back({C::kConst, Op::kOr, 0, n.number});
      return true;
    case Node::Kind::kName:
      p.code.push_back({C::kName, Op::kOr, static_cast<uint32_t>(n.name), 0});
      return true;
    case Node::Kind::kCall:
      return false;
    case Node::Kind::kNot:
    case Node::Kind::kNegate:
      if (!CompileNode(*n.a, p, depth)) return false;
      p.code.push_back({n.kind == Node::Kind::kNot ? C::kNot : C::kNegate, Op::kOr, 0, 0});
      return true;
    case Node::Kind::kTernary: {
      if (!CompileNode(*n.a, p, depth)) return false;
      size_t to_else = p.code.size();
      p.code.push_back({C::kJumpIfFalsePop, Op::kOr, 0, 0});
      if (!CompileNode(*n.b, p, depth)) return false;
      size_t to_end = p.code.size();
      p.code.push_back({C::kJump, Op::kOr, 0, 0});
      p.code[to_else].arg = static_cast<uint32_t>(p.code.size());
      if (!CompileNode(*n.c, p, depth)) return false;
      p.code[to_end].arg = static_cast<uint32_t>(p.code.size());
      return true;
    }
    case Node::Kind::kBinary:
      break;
  }
  if (n.op == Op::kAnd || n.op == Op::kOr) {
    if (!CompileNode(*n.a, p, depth)) return false;
    size_t jump = p.code.size();
    p.code.push_back({n.op == Op::kAnd ? C::kJumpIfFalseKeep : C::kJumpIfTrueKeep, Op::kOr, 0, 0});
    p.code.push_back({C::kPop, Op::kOr, 0, 0});
    if (!CompileNode(*n.b, p, depth)) return false;
    p.code[jump].arg = static_cast<uint32_t>(p.code.size());
    return true;
  }
  if (!CompileNode(*n.a, p, depth)) return false;
  if (!CompileNode(*n.b, p, depth + 1)) return false;
  p.code.push_back({C::kBinary, n.op, 0, 0});
  return true;
}

struct Token {
  enum class Kind { kNumber, kName, kOp, kLParen, kRParen, kEnd };
  Kind kind = Kind::kEnd;
  std::string text;
};

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

Result<std::vector<Token>> Tokenize(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      size_t j = i;
      while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.')) ++j;
      out.push_back({Token::Kind::kNumber, std::string(s.substr(i, j - i))});
      i = j;
      continue;
    }
    if (IsNameStart(c)) {
      size_t j = i;
      // Class names like Mail::SpamAssassin::Plugin::Foo are one token, as in SpamAssassin.
      while (j < s.size() && (IsNameChar(s[j]) || s[j] == ':')) ++j;
      out.push_back({Token::Kind::kName, std::string(s.substr(i, j - i))});
      i = j;
      continue;
    }
    if (c == '(') {
      out.push_back({Token::Kind::kLParen, "("});
      ++i;
      continue;
    }
    if (c == ')') {
      out.push_back({Token::Kind::kRParen, ")"});
      ++i;
      continue;
    }
    static constexpr std::string_view kTwo[] = {"||", "&&", ">=", "<=", "==", "!="};
    bool matched = false;
    for (std::string_view two : kTwo) {
      if (s.substr(i, 2) == two) {
        out.push_back({Token::Kind::kOp, std::string(two)});
        i += 2;
        matched = true;
        break;
      }
    }
    if (matched) continue;
    if (std::string_view("!^<>+-*/?:").find(c) != std::string_view::npos) {
      out.push_back({Token::Kind::kOp, std::string(1, c)});
      ++i;
      continue;
    }
    return Fail(ErrorCode::kInvalid, "unexpected character '{}' in expression", c);
  }
  out.push_back({Token::Kind::kEnd, ""});
  return out;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, bool allow_calls)
      : tokens_(std::move(tokens)), allow_calls_(allow_calls) {}

  Result<std::unique_ptr<Node>> ParseAll() {
    auto node = ParseTernary();
    if (!node) return node;
    if (Peek().kind != Token::Kind::kEnd) {
      return Fail(ErrorCode::kInvalid, "unexpected '{}' in expression", Peek().text);
    }
    return node;
  }

  std::vector<std::string> TakeNames() { return std::move(names_); }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  bool PeekOp(std::string_view op) const {
    return Peek().kind == Token::Kind::kOp && Peek().text == op;
  }

  Result<std::unique_ptr<Node>> ParseTernary() {
    auto cond = ParseBinary(0);
    if (!cond) return cond;
    if (!PeekOp("?")) return cond;
    ++pos_;
    auto then_branch = ParseTernary();
    if (!then_branch) return then_branch;
    if (!PeekOp(":")) return Fail(ErrorCode::kInvalid, "missing ':' after '?' in expression");
    ++pos_;
    auto else_branch = ParseTernary();
    if (!else_branch) return else_branch;
    auto node = std::make_unique<Node>();
    node->kind = Node::Kind::kTernary;
    node->a = std::move(*cond);
    node->b = std::move(*then_branch);
    node->c = std::move(*else_branch);
    return node;
  }

  // Perl precedence, lowest first: || ; && ; ^ ; == != ; < > <= >= ; + - ; * /
  static int Precedence(std::string_view op, Op* out) {
    static const std::unordered_map<std::string_view, std::pair<int, Op>> kOps = {
        {"||", {1, Op::kOr}}, {"&&", {2, Op::kAnd}}, {"^", {3, Op::kXor}}, {"==", {4, Op::kEq}},
        {"!=", {4, Op::kNe}}, {"<", {5, Op::kLt}},   {"<=", {5, Op::kLe}}, {">", {5, Op::kGt}},
        {">=", {5, Op::kGe}}, {"+", {6, Op::kAdd}},  {"-", {6, Op::kSub}}, {"*", {7, Op::kMul}},
        {"/", {7, Op::kDiv}},
    };
    auto it = kOps.find(op);
    if (it == kOps.end()) return -1;
    *out = it->second.second;
    return it->second.first;
  }

  Result<std::unique_ptr<Node>> ParseBinary(int min_precedence) {
    auto left = ParseUnary();
    if (!left) return left;
    while (Peek().kind == Token::Kind::kOp) {
      Op op;
      int precedence = Precedence(Peek().text, &op);
      if (precedence < 0 || precedence <= min_precedence) break;
      ++pos_;
      auto right = ParseBinary(precedence);
      if (!right) return right;
      auto node = std::make_unique<Node>();
      node->kind = Node::Kind::kBinary;
      node->op = op;
      node->a = std::move(*left);
      node->b = std::move(*right);
      left = std::move(node);
    }
    return left;
  }

  Result<std::unique_ptr<Node>> ParseUnary() {
    if (++depth_ > 200) return Fail(ErrorCode::kInvalid, "expression nested too deeply");
    struct DepthGuard {
      int& d;
      ~DepthGuard() { --d; }
    } guard{depth_};
    if (PeekOp("!") || PeekOp("-") || PeekOp("+")) {
      std::string op = Peek().text;
      ++pos_;
      auto operand = ParseUnary();
      if (!operand) return operand;
      if (op == "+") return operand;
      auto node = std::make_unique<Node>();
      node->kind = op == "!" ? Node::Kind::kNot : Node::Kind::kNegate;
      node->a = std::move(*operand);
      return node;
    }
    return ParsePrimary();
  }

  Result<std::unique_ptr<Node>> ParsePrimary() {
    const Token& t = Peek();
    switch (t.kind) {
      case Token::Kind::kNumber: {
        char* end = nullptr;
        double v = std::strtod(t.text.c_str(), &end);
        if (end == nullptr || *end != '\0') {
          return Fail(ErrorCode::kInvalid, "bad number '{}' in expression", t.text);
        }
        ++pos_;
        auto node = std::make_unique<Node>();
        node->number = v;
        return node;
      }
      case Token::Kind::kName: {
        std::string name = t.text;
        ++pos_;
        auto node = std::make_unique<Node>();
        if (Peek().kind == Token::Kind::kLParen && allow_calls_) {
          ++pos_;
          std::string argument;
          while (Peek().kind != Token::Kind::kRParen) {
            if (Peek().kind == Token::Kind::kEnd) {
              return Fail(ErrorCode::kInvalid, "missing ')' after {}(", name);
            }
            argument += Peek().text;
            ++pos_;
          }
          ++pos_;
          node->kind = Node::Kind::kCall;
          node->function = name;
          node->argument = argument;
          return node;
        }
        node->kind = Node::Kind::kName;
        auto it = name_index_.find(name);
        if (it == name_index_.end()) {
          it = name_index_.emplace(name, names_.size()).first;
          names_.push_back(name);
        }
        node->name = it->second;
        return node;
      }
      case Token::Kind::kLParen: {
        ++pos_;
        // "()" is SpamAssassin's placeholder meta that never hits by itself.
        if (Peek().kind == Token::Kind::kRParen) {
          ++pos_;
          return std::make_unique<Node>();
        }
        auto inner = ParseTernary();
        if (!inner) return inner;
        if (Peek().kind != Token::Kind::kRParen) {
          return Fail(ErrorCode::kInvalid, "missing ')' in expression");
        }
        ++pos_;
        return inner;
      }
      case Token::Kind::kEnd:
        return Fail(ErrorCode::kInvalid, "expression ends where an operand is expected");
      default:
        return Fail(ErrorCode::kInvalid, "unexpected '{}' where an operand is expected", t.text);
    }
  }

  std::vector<Token> tokens_;
  bool allow_calls_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::vector<std::string> names_;
  std::unordered_map<std::string, size_t> name_index_;
};

struct Evaluator {
  const Expression::NameValue* name_value = nullptr;
  const double* name_values = nullptr;
  const Expression::CallValue* call_value = nullptr;

  Result<double> Eval(const Node& n) const {
    switch (n.kind) {
      case Node::Kind::kNumber:
        return n.number;
      case Node::Kind::kName:
        return name_values != nullptr ? name_values[n.name] : (*name_value)(n.name);
      case Node::Kind::kCall:
        if (call_value == nullptr || !*call_value) {
          return Fail(ErrorCode::kInvalid, "function {}() not allowed here", n.function);
        }
        return (*call_value)(n.function, n.argument);
      case Node::Kind::kNot: {
        auto v = Eval(*n.a);
        if (!v) return v;
        return *v != 0 ? 0.0 : 1.0;
      }
      case Node::Kind::kNegate: {
        auto v = Eval(*n.a);
        if (!v) return v;
        return -*v;
      }
      case Node::Kind::kTernary: {
        auto cond = Eval(*n.a);
        if (!cond) return cond;
        return *cond != 0 ? Eval(*n.b) : Eval(*n.c);
      }
      case Node::Kind::kBinary:
        break;
    }
    auto left = Eval(*n.a);
    if (!left) return left;
    // Perl's && and || return the operand that decided, and skip the other one.
    if (n.op == Op::kAnd) return *left == 0 ? left : Eval(*n.b);
    if (n.op == Op::kOr) return *left != 0 ? left : Eval(*n.b);
    auto right = Eval(*n.b);
    if (!right) return right;
    double l = *left, r = *right;
    switch (n.op) {
      case Op::kXor:
        return static_cast<double>(static_cast<uint64_t>(static_cast<int64_t>(l)) ^
                                   static_cast<uint64_t>(static_cast<int64_t>(r)));
      case Op::kEq:
        return l == r ? 1.0 : 0.0;
      case Op::kNe:
        return l != r ? 1.0 : 0.0;
      case Op::kLt:
        return l < r ? 1.0 : 0.0;
      case Op::kLe:
        return l <= r ? 1.0 : 0.0;
      case Op::kGt:
        return l > r ? 1.0 : 0.0;
      case Op::kGe:
        return l >= r ? 1.0 : 0.0;
      case Op::kAdd:
        return l + r;
      case Op::kSub:
        return l - r;
      case Op::kMul:
        return l * r;
      case Op::kDiv:
        if (r == 0) return Fail(ErrorCode::kInvalid, "division by zero");
        return l / r;
      default:
        return 0.0;
    }
  }
};

}  // namespace

Result<Expression> ParseExpression(std::string_view text, bool allow_calls) {
  auto tokens = Tokenize(text);
  if (!tokens) return Fail(tokens.error());
  Parser parser(std::move(*tokens), allow_calls);
  auto root = parser.ParseAll();
  if (!root) return Fail(root.error());
  std::shared_ptr<const Node> tree(std::move(*root));
  auto program = std::make_shared<Program>();
  std::shared_ptr<const Program> compiled;
  if (CompileNode(*tree, *program, 0)) compiled = std::move(program);
  return Expression(std::move(tree), std::move(compiled), parser.TakeNames(), std::string(text));
}

Result<double> Expression::Evaluate(const NameValue& name_value,
                                    const CallValue& call_value) const {
  Evaluator e;
  e.name_value = &name_value;
  e.call_value = &call_value;
  return e.Eval(*root_);
}

Result<double> Expression::Evaluate(const double* name_values) const {
  if (!program_) {
    Evaluator e;
    e.name_values = name_values;
    return e.Eval(*root_);
  }
  using C = Program::Code;
  double inline_stack[32];
  std::vector<double> heap_stack;
  double* stack = inline_stack;
  if (program_->max_stack > 32) {
    heap_stack.resize(program_->max_stack);
    stack = heap_stack.data();
  }
  size_t sp = 0;
  const auto& code = program_->code;
  for (size_t pc = 0; pc < code.size();) {
    const Program::Instr& in = code[pc];
    switch (in.code) {
      case C::kConst:
        stack[sp++] = in.value;
        ++pc;
        break;
      case C::kName:
        stack[sp++] = name_values[in.arg];
        ++pc;
        break;
      case C::kNot:
        stack[sp - 1] = stack[sp - 1] != 0 ? 0.0 : 1.0;
        ++pc;
        break;
      case C::kNegate:
        stack[sp - 1] = -stack[sp - 1];
        ++pc;
        break;
      case C::kPop:
        --sp;
        ++pc;
        break;
      case C::kJump:
        pc = in.arg;
        break;
      case C::kJumpIfFalseKeep:
        pc = stack[sp - 1] == 0 ? in.arg : pc + 1;
        break;
      case C::kJumpIfTrueKeep:
        pc = stack[sp - 1] != 0 ? in.arg : pc + 1;
        break;
      case C::kJumpIfFalsePop:
        pc = stack[--sp] == 0 ? in.arg : pc + 1;
        break;
      case C::kBinary: {
        double r = stack[--sp];
        double l = stack[sp - 1];
        double v = 0;
        switch (in.op) {
          case Op::kXor:
            v = static_cast<double>(static_cast<uint64_t>(static_cast<int64_t>(l)) ^
                                    static_cast<uint64_t>(static_cast<int64_t>(r)));
            break;
          case Op::kEq:
            v = l == r;
            break;
          case Op::kNe:
            v = l != r;
            break;
          case Op::kLt:
            v = l < r;
            break;
          case Op::kLe:
            v = l <= r;
            break;
          case Op::kGt:
            v = l > r;
            break;
          case Op::kGe:
            v = l >= r;
            break;
          case Op::kAdd:
            v = l + r;
            break;
          case Op::kSub:
            v = l - r;
            break;
          case Op::kMul:
            v = l * r;
            break;
          case Op::kDiv:
            if (r == 0) return Fail(ErrorCode::kInvalid, "division by zero");
            v = l / r;
            break;
          default:
            break;
        }
        stack[sp - 1] = v;
        ++pc;
        break;
      }
    }
  }
  return sp > 0 ? stack[sp - 1] : 0.0;
}

bool IsRuleName(std::string_view name) {
  if (name.empty() || name.size() > 128 || !IsNameStart(name[0])) return false;
  for (char c : name) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

}  // namespace moat::rules
