// table_set.h - the lookup tables of one moat-mta configuration snapshot, each opened once.
//
// main.cf and master.cf name the same table in many places (check_recipient_access hash:access in
// three services, relay_recipient_maps in every smtpd); a TableSet opens each distinct "type:name"
// once (relative names against the configuration directory) and hands out shared pointers, so a
// snapshot holds one copy of every table. File-backed tables reload themselves when their file
// changes (core/reloading_table.h); a SIGHUP builds a new snapshot with a new TableSet.
//
// Thread safety: Open()/OpenList() are for the single thread that builds a snapshot; the tables
// they return are immutable and safe to share. Errors are OpenTable()'s (file:line messages).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/lookup_table.h"

namespace moat::mta {

class TableSet {
 public:
  explicit TableSet(core::TableOpenOptions options) : options_(std::move(options)) {}

  core::Result<std::shared_ptr<const core::LookupTable>> Open(std::string_view spec);
  // A comma/whitespace separated list ("hash:a, pcre:b"); "" is an empty list.
  core::Result<core::TableList> OpenList(std::string_view specs);

  const core::TableOpenOptions& options() const { return options_; }
  std::size_t size() const { return tables_.size(); }

 private:
  core::TableOpenOptions options_;
  std::map<std::string, std::shared_ptr<const core::LookupTable>, std::less<>> tables_;
};

}  // namespace moat::mta
