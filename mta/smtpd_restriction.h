// smtpd_restriction.h - smtpd restrictions: the interface every restriction implements, the
// registry that maps restriction names to implementations, and compiled restriction lists.
//
// A restriction (permit_mynetworks, reject_unauth_destination, check_sender_access hash:x, ...)
// looks at the request through a RestrictionContext and answers DUNNO (no opinion), PERMIT (ends
// this list) or REJECT (the context holds the reply), as in Postfix's smtpd_check.c. Side effects
// (defer_if_permit, FILTER, HOLD, PREPEND, DISCARD) go through the context as well.
//
// Extension point: new restriction names plug in by adding an entry to a RestrictionRegistry
// (name, the argument it takes, a factory). BuiltinRestrictions() returns the registry with
// everything smtpd implements; later modules (DNSBLs, greylisting, SPF) add their names to it in
// DefaultRestrictionRegistry() - one line each - and nothing else changes: lists compile against
// the registry, `moat check-config` asks the registry which names are implemented.
//
// Restrictions are built once per configuration snapshot (factories open their tables then) and
// shared by every session: Evaluate() is const and must be thread-safe. Most restrictions
// answer at once (Evaluate(), no coroutine frame); one that must wait (DNS, a timer) returns
// true from waits() and implements EvaluateAsync().
//
// A RestrictionList is a compiled smtpd_*_restrictions value: restriction objects, references to
// restriction classes (smtpd_restriction_classes), and warn_if_reject markers. Compiling checks
// every name and argument; an unknown or unimplemented name is an error (kInvalid), so a list
// never silently skips a restriction.
#pragma once

// clang-format off
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>
#include <asio/awaitable.hpp>
// clang-format on

#include "core/config.h"
#include "core/error.h"
#include "mta/table_set.h"

namespace moat::mta {

class RestrictionContext;
struct SmtpdServiceSettings;

// Where in the SMTP dialogue a list is evaluated (Postfix's "reply class").
enum class RestrictionStage { kClient, kHelo, kSender, kRecipient, kData, kEndOfData };
// "Client host", "Helo command", "Sender address", "Recipient address", "Data command",
// "End-of-data": the words in "<x>: Recipient address rejected: ..." replies.
std::string_view ReplyClassName(RestrictionStage stage);

enum class Verdict { kDunno, kPermit, kReject };

class Restriction {
 public:
  virtual ~Restriction() = default;
  // The synchronous answer; restrictions that wait() are only asked through EvaluateAsync().
  virtual Verdict Evaluate(RestrictionContext& context) const = 0;
  virtual bool waits() const { return false; }
  virtual asio::awaitable<Verdict> EvaluateAsync(RestrictionContext& context) const;
};

// What a factory may read while building a restriction.
struct RestrictionBuildContext {
  const core::Config& config;              // the service's configuration (main.cf + -o)
  TableSet& tables;                        // open tables through here (shared per snapshot)
  const SmtpdServiceSettings& settings;    // parsed service settings (reply codes, maps, ...)
};

enum class RestrictionArgument { kNone, kTable, kDomain, kNumber };

using RestrictionFactory = std::function<core::Result<std::shared_ptr<const Restriction>>(
    const RestrictionBuildContext& build, std::string_view argument)>;

class RestrictionRegistry {
 public:
  struct Entry {
    std::string name;
    RestrictionArgument argument = RestrictionArgument::kNone;
    RestrictionFactory factory;
  };

  // Adds or replaces `name` (lower case, as Postfix matches names case-insensitively).
  void Add(std::string name, RestrictionArgument argument, RestrictionFactory factory);
  // An alias that shares another entry's implementation (reject_invalid_hostname ->
  // reject_invalid_helo_hostname).
  void AddAlias(std::string alias, std::string_view existing);
  const Entry* Find(std::string_view name) const;  // case-insensitive
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, Entry, std::less<>> entries_;
};

// Everything smtpd implements itself (smtpd_builtin_restrictions.cc).
RestrictionRegistry BuiltinRestrictions();
// The registry moat-mta uses: the built-ins plus the restrictions of later modules. Built once,
// immutable, thread-safe.
const RestrictionRegistry& DefaultRestrictionRegistry();

class RestrictionList {
 public:
  struct Item {
    enum class Kind { kRestriction, kClass, kWarnIfReject };
    Kind kind = Kind::kRestriction;
    std::string name;                                // as written, for logs
    std::shared_ptr<const Restriction> restriction;  // kRestriction
    const RestrictionList* restriction_class = nullptr;  // kClass (owned by the service)
    bool waits = false;
  };

  const std::vector<Item>& items() const { return items_; }
  bool empty() const { return items_.empty(); }
  const std::string& text() const { return text_; }

 private:
  friend class RestrictionCompiler;
  std::vector<Item> items_;
  std::string text_;
};

using RestrictionClasses = std::map<std::string, std::unique_ptr<RestrictionList>, std::less<>>;

// Compiles the lists of one service. Classes are compiled first (they may refer to each other);
// lists refer to them by pointer into `classes`, which must outlive the lists.
class RestrictionCompiler {
 public:
  RestrictionCompiler(const RestrictionRegistry& registry, const RestrictionBuildContext& build,
                      const RestrictionClasses& classes);

  // Compiles every class named in `class_names` (their values are parameters of the config)
  // into `classes`.
  static core::Status CompileClasses(const RestrictionRegistry& registry,
                                     const RestrictionBuildContext& build,
                                     const std::vector<std::string>& class_names,
                                     RestrictionClasses& classes);
  core::Result<RestrictionList> Compile(std::string_view text);

  // True when `list` (through classes, too) contains one of `names` outside a warn_if_reject.
  static bool Contains(const RestrictionList& list, const std::vector<std::string_view>& names);

 private:
  core::Status CompileInto(std::string_view text, RestrictionList& list);

  const RestrictionRegistry& registry_;
  const RestrictionBuildContext& build_;
  const RestrictionClasses& classes_;
};

// Bare access tables compile to this (smtpd_builtin_restrictions.cc): the stage's default
// check_*_access of the table.
core::Result<std::shared_ptr<const Restriction>> MakeBareTableRestriction(
    const RestrictionBuildContext& build, std::string_view table);

}  // namespace moat::mta
