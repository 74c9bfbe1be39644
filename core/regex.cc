// regex.cc - PCRE2 behind core::Regex. The only file that includes pcre2.h.
#include "core/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <new>

namespace moat::core {
namespace {

// JIT stack: PCRE2's default 32 KiB is too small for some SpamAssassin patterns; grow to 1 MiB.
constexpr size_t kJitStackStart = 32 * 1024;
constexpr size_t kJitStackMax = 1024 * 1024;
// Enough ovector pairs for every pattern we compile (captures beyond this are still matched).
constexpr uint32_t kOvectorPairs = 64;

std::string Pcre2Message(int code) {
  PCRE2_UCHAR buffer[256];
  int n = pcre2_get_error_message(code, buffer, sizeof buffer);
  if (n < 0) return fmt::format("PCRE2 error {}", code);
  return std::string(reinterpret_cast<const char*>(buffer), static_cast<size_t>(n));
}

}  // namespace

struct Regex::Code {
  pcre2_code* code = nullptr;
  std::string pattern;
  RegexOptions options;
  uint32_t capture_count = 0;
  bool jit = false;
  ~Code() { pcre2_code_free(code); }
};

struct MatchScratch::Impl {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  ~Impl() {
    pcre2_match_data_free(data);
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(jit_stack);
  }
};

MatchScratch::MatchScratch() : impl_(std::make_unique<Impl>()) {
  impl_->data = pcre2_match_data_create(kOvectorPairs, nullptr);
  impl_->context = pcre2_match_context_create(nullptr);
  impl_->jit_stack = pcre2_jit_stack_create(kJitStackStart, kJitStackMax, nullptr);
  if (impl_->data == nullptr || impl_->context == nullptr) throw std::bad_alloc();
  if (impl_->jit_stack != nullptr) pcre2_jit_stack_assign(impl_->context, nullptr, impl_->jit_stack);
}

MatchScratch::~MatchScratch() = default;

Result<RegexOptions> RegexOptionsFromFlags(std::string_view flags, RegexOptions base) {
  for (char c : flags) {
    switch (c) {
      case 'i':
        base.caseless = true;
        break;
      case 'm':
        base.multiline = true;
        break;
      case 's':
        base.dotall = true;
        break;
      case 'x':
        base.extended = true;
        break;
      default:
        return Fail(ErrorCode::kInvalid, "unknown regular expression flag '{}'", c);
    }
  }
  return base;
}

std::string_view RegexMatch::Text(std::string_view subject, size_t i) const {
  if (i >= groups_.size() || !groups_[i].set) return {};
  const RegexGroup& g = groups_[i];
  if (g.end > subject.size() || g.begin > g.end) return {};
  return subject.substr(g.begin, g.end - g.begin);
}

Result<Regex> Regex::Compile(std::string_view pattern, const RegexOptions& options) {
  uint32_t flags = 0;
  if (options.caseless) flags |= PCRE2_CASELESS;
  if (options.multiline) flags |= PCRE2_MULTILINE;
  if (options.dotall) flags |= PCRE2_DOTALL;
  if (options.extended) flags |= PCRE2_EXTENDED;
  if (options.ungreedy) flags |= PCRE2_UNGREEDY;
  if (options.anchored) flags |= PCRE2_ANCHORED;
  if (options.dollar_endonly) flags |= PCRE2_DOLLAR_ENDONLY;
  if (options.utf) flags |= PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;

  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   flags, &error_code, &error_offset, nullptr);
  if (code == nullptr) {
    return Fail(ErrorCode::kInvalid, "invalid regular expression at offset {}: {}", error_offset,
                Pcre2Message(error_code));
  }
  auto compiled = std::make_shared<Code>();
  compiled->code = code;
  compiled->pattern = std::string(pattern);
  compiled->options = options;
  pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &compiled->capture_count);
  // JIT may be unavailable (e.g. SELinux denies executable memory); the interpreter still works.
  compiled->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  return Regex(std::move(compiled));
}

Result<std::optional<RegexMatch>> Regex::Search(std::string_view subject, size_t start,
                                                MatchScratch& scratch) const {
  if (start > subject.size()) return std::optional<RegexMatch>();
  MatchScratch::Impl& s = scratch.impl();
  pcre2_set_match_limit(s.context, code_->options.match_limit);
  pcre2_set_depth_limit(s.context, code_->options.depth_limit);
  int rc = pcre2_match(code_->code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(),
                       start, 0, s.data, s.context);
  if (rc == PCRE2_ERROR_NOMATCH) return std::optional<RegexMatch>();
  if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
      rc == PCRE2_ERROR_JIT_STACKLIMIT || rc == PCRE2_ERROR_HEAPLIMIT) {
    return Fail(ErrorCode::kTempFail, "match limit exceeded for /{}/: {}", code_->pattern,
                Pcre2Message(rc));
  }
  if (rc < 0) {
    return Fail(ErrorCode::kInvalid, "matching /{}/ failed: {}", code_->pattern, Pcre2Message(rc));
  }
  // rc == 0 means the ovector was too small; the pairs we have are still valid.
  uint32_t pairs = rc == 0 ? pcre2_get_ovector_count(s.data) : static_cast<uint32_t>(rc);
  uint32_t wanted = std::min<uint32_t>(code_->capture_count + 1, pcre2_get_ovector_count(s.data));
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(s.data);
  std::vector<RegexGroup> groups(wanted);
  for (uint32_t i = 0; i < wanted && i < pairs; ++i) {
    if (ovector[2 * i] == PCRE2_UNSET) continue;
    groups[i] = RegexGroup{ovector[2 * i], ovector[2 * i + 1], true};
  }
  return std::optional<RegexMatch>(RegexMatch(std::move(groups)));
}

Result<bool> Regex::Matches(std::string_view subject, MatchScratch& scratch) const {
  MatchScratch::Impl& s = scratch.impl();
  pcre2_set_match_limit(s.context, code_->options.match_limit);
  pcre2_set_depth_limit(s.context, code_->options.depth_limit);
  int rc = pcre2_match(code_->code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(),
                       0, 0, s.data, s.context);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc >= 0) return true;
  if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
      rc == PCRE2_ERROR_JIT_STACKLIMIT || rc == PCRE2_ERROR_HEAPLIMIT) {
    return Fail(ErrorCode::kTempFail, "match limit exceeded for /{}/: {}", code_->pattern,
                Pcre2Message(rc));
  }
  return Fail(ErrorCode::kInvalid, "matching /{}/ failed: {}", code_->pattern, Pcre2Message(rc));
}

namespace {
MatchScratch& ThreadScratch() {
  thread_local MatchScratch scratch;
  return scratch;
}
}  // namespace

Result<bool> Regex::Matches(std::string_view subject) const {
  return Matches(subject, ThreadScratch());
}

Result<std::optional<RegexMatch>> Regex::Search(std::string_view subject, size_t start) const {
  return Search(subject, start, ThreadScratch());
}

const std::string& Regex::pattern() const { return code_->pattern; }
uint32_t Regex::capture_count() const { return code_->capture_count; }
bool Regex::jit_compiled() const { return code_->jit; }

}  // namespace moat::core
