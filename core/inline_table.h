// inline_table.h - tables written in the configuration itself: static: and inline:.
//
//   static:value                   every key maps to `value`; static:{ text with spaces } strips
//                                  the braces and surrounding blanks (Postfix 3.2+)
//   inline:{ k1=v1, k2=v2 }        a small in-memory table; entries are separated by commas or
//                                  whitespace; { k = value with spaces, or commas } is one entry
//                                  with blanks around `=` removed. Keys fold to lower case, the
//                                  first duplicate wins (Postfix: dict_inline.c, dict_static.c).
//
// Errors (kInvalid) quote the spec: inline:{a}: missing '=' after attribute name "a"; need
// "inline:{name=value...}". An empty inline table is an error.
//
// Thread safety: immutable; static is IsPattern() false (it answers partial keys, as Postfix's
// static map does).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/lookup_table.h"

namespace moat::core {

class StaticTable final : public LookupTable {
 public:
  StaticTable(std::string spec, std::string value)
      : spec_(std::move(spec)), value_(std::move(value)) {}

  Result<std::optional<std::string>> Lookup(std::string_view) const override {
    return std::optional<std::string>(value_);
  }
  Result<bool> LookupInto(std::string_view, std::string& value) const override {
    value.assign(value_);
    return true;
  }
  const std::string& spec() const override { return spec_; }

 private:
  std::string spec_;
  std::string value_;
};

// Splits `text` on commas and whitespace, keeping {...} groups (which may nest) inside one
// token, as Postfix's mystrtokq() does for lists and inline tables. Unbalanced braces: kInvalid.
Result<std::vector<std::string_view>> SplitOutsideBraces(std::string_view text);

// `name` is what follows "static:" / "inline:"; `spec` is the whole "type:name" for messages.
Result<std::shared_ptr<const LookupTable>> OpenStaticTable(std::string spec, std::string_view name);
Result<std::shared_ptr<const LookupTable>> OpenInlineTable(std::string spec, std::string_view name);

}  // namespace moat::core
