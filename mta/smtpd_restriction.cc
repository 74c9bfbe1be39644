// smtpd_restriction.cc - the restriction registry and the list compiler.
#include "mta/smtpd_restriction.h"

#include <fmt/format.h>

#include "core/config_value.h"
#include "mta/smtpd_builtin_restrictions.h"

namespace moat::mta {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

constexpr int kMaxClassDepth = 100;

}  // namespace

std::string_view ReplyClassName(RestrictionStage stage) {
  switch (stage) {
    case RestrictionStage::kClient:
      return "Client host";
    case RestrictionStage::kHelo:
      return "Helo command";
    case RestrictionStage::kSender:
      return "Sender address";
    case RestrictionStage::kRecipient:
      return "Recipient address";
    case RestrictionStage::kData:
      return "Data command";
    case RestrictionStage::kEndOfData:
      return "End-of-data";
  }
  return "Request";
}

asio::awaitable<Verdict> Restriction::EvaluateAsync(RestrictionContext& context) const {
  co_return Evaluate(context);
}

void RestrictionRegistry::Add(std::string name, RestrictionArgument argument,
                              RestrictionFactory factory) {
  name = Lower(name);
  Entry entry{name, argument, std::move(factory)};
  entries_.insert_or_assign(std::move(name), std::move(entry));
}

void RestrictionRegistry::AddAlias(std::string alias, std::string_view existing) {
  const Entry* target = Find(existing);
  if (target == nullptr) return;
  Entry copy = *target;
  copy.name = Lower(alias);
  entries_.insert_or_assign(copy.name, std::move(copy));
}

const RestrictionRegistry::Entry* RestrictionRegistry::Find(std::string_view name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) it = entries_.find(Lower(name));
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<std::string> RestrictionRegistry::Names() const {
  std::vector<std::string> names;
  names.reserve(entries_.size());
  for (const auto& [name, entry] : entries_) names.push_back(name);
  return names;
}

const RestrictionRegistry& DefaultRestrictionRegistry() {
  static const RestrictionRegistry registry = [] {
    RestrictionRegistry r = BuiltinRestrictions();
    AddPolicyRestrictions(r);
    return r;
  }();
  return registry;
}

RestrictionCompiler::RestrictionCompiler(const RestrictionRegistry& registry,
                                         const RestrictionBuildContext& build,
                                         const RestrictionClasses& classes)
    : registry_(registry), build_(build), classes_(classes) {}

core::Status RestrictionCompiler::CompileClasses(const RestrictionRegistry& registry,
                                                 const RestrictionBuildContext& build,
                                                 const std::vector<std::string>& class_names,
                                                 RestrictionClasses& classes) {
  // Create every class first so that classes may refer to each other in any order.
  for (const std::string& name : class_names) {
    if (registry.Find(name) != nullptr) {
      return core::Fail(core::ErrorCode::kInvalid,
                        "restriction class \"{}\" has the name of a restriction", name);
    }
    classes.emplace(name, std::make_unique<RestrictionList>());
  }
  RestrictionCompiler compiler(registry, build, classes);
  for (const std::string& name : class_names) {
    std::optional<std::string> value = build.config.Find(name);
    if (!value || core::SplitList(*value).empty()) {
      return core::Fail(core::ErrorCode::kInvalid, "restriction class \"{}\" needs a definition",
                        name);
    }
    if (auto status = compiler.CompileInto(*value, *classes.at(name)); !status) {
      return core::Fail(status.error().code(), "restriction class {}: {}", name,
                        status.error().message());
    }
  }
  return {};
}

core::Result<RestrictionList> RestrictionCompiler::Compile(std::string_view text) {
  RestrictionList list;
  if (auto status = CompileInto(text, list); !status) return std::unexpected(status.error());
  return list;
}

core::Status RestrictionCompiler::CompileInto(std::string_view text, RestrictionList& list) {
  list.text_.assign(text);
  std::vector<std::string> words = core::SplitList(text);
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    RestrictionList::Item item;
    item.name = word;
    if (auto it = classes_.find(word); it != classes_.end()) {
      item.kind = RestrictionList::Item::Kind::kClass;
      item.restriction_class = it->second.get();
      list.items_.push_back(std::move(item));
      continue;
    }
    if (Lower(word) == "warn_if_reject") {
      item.kind = RestrictionList::Item::Kind::kWarnIfReject;
      list.items_.push_back(std::move(item));
      continue;
    }
    if (core::LooksLikeTableSpec(word)) {
      // A bare table: an access(5) lookup of whatever the list's stage judges.
      auto restriction = MakeBareTableRestriction(build_, word);
      if (!restriction) return std::unexpected(restriction.error());
      item.restriction = std::move(*restriction);
      item.waits = item.restriction->waits();
      list.items_.push_back(std::move(item));
      continue;
    }
    const RestrictionRegistry::Entry* entry = registry_.Find(word);
    if (entry == nullptr) {
      return core::Fail(core::ErrorCode::kInvalid,
                        "restriction \"{}\" is unknown or not implemented by moat-mta", word);
    }
    std::string_view argument;
    if (entry->argument != RestrictionArgument::kNone) {
      if (i + 1 >= words.size()) {
        return core::Fail(core::ErrorCode::kInvalid, "restriction \"{}\" needs an argument",
                          word);
      }
      argument = words[++i];
      item.name = fmt::format("{} {}", word, argument);
    }
    auto restriction = entry->factory(build_, argument);
    if (!restriction) {
      return core::Fail(restriction.error().code(), "{}: {}", item.name,
                        restriction.error().message());
    }
    item.restriction = std::move(*restriction);
    item.waits = item.restriction->waits();
    list.items_.push_back(std::move(item));
  }
  return {};
}

bool RestrictionCompiler::Contains(const RestrictionList& list,
                                   const std::vector<std::string_view>& names) {
  // Iterative walk with a depth bound: classes may (wrongly) refer to themselves.
  struct Frame {
    const RestrictionList* list;
    int depth;
  };
  std::vector<Frame> stack{{&list, 0}};
  while (!stack.empty()) {
    Frame frame = stack.back();
    stack.pop_back();
    const auto& items = frame.list->items();
    for (std::size_t i = 0; i < items.size(); ++i) {
      const auto& item = items[i];
      if (item.kind == RestrictionList::Item::Kind::kWarnIfReject) {
        ++i;  // the next restriction only warns
        continue;
      }
      if (item.kind == RestrictionList::Item::Kind::kClass) {
        if (frame.depth < kMaxClassDepth) stack.push_back({item.restriction_class, frame.depth + 1});
        continue;
      }
      std::string word = Lower(item.name.substr(0, item.name.find(' ')));
      for (std::string_view name : names) {
        if (word == name) return true;
      }
    }
  }
  return false;
}

}  // namespace moat::mta
