// table_set.cc - one open table per distinct spec in a snapshot.
#include "mta/table_set.h"

namespace moat::mta {

core::Result<std::shared_ptr<const core::LookupTable>> TableSet::Open(std::string_view spec) {
  if (auto it = tables_.find(spec); it != tables_.end()) return it->second;
  auto table = core::OpenTable(spec, options_);
  if (!table) return std::unexpected(table.error());
  tables_.emplace(std::string(spec), *table);
  return *table;
}

core::Result<core::TableList> TableSet::OpenList(std::string_view specs) {
  auto names = core::SplitTableList(specs);
  if (!names) return std::unexpected(names.error());
  std::vector<std::shared_ptr<const core::LookupTable>> tables;
  tables.reserve(names->size());
  for (const std::string& name : *names) {
    auto table = Open(name);
    if (!table) return std::unexpected(table.error());
    tables.push_back(std::move(*table));
  }
  return core::TableList(std::move(tables));
}

}  // namespace moat::mta
