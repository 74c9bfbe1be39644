// map_command.cc - `moat map query`: look keys up in lookup tables, as `postmap -q` does.
//
//   moat [-c DIR] map query [--address | --domain] [options] TYPE:NAME[,TYPE:NAME...] KEY...
//
// Without --address/--domain each KEY is looked up as is: one KEY prints its value alone (like
// postmap -q), several KEYs (or "-" to read keys from stdin, one per line) print "key<TAB>value"
// for each key found (like postmap -q -). With --address or --domain each KEY is searched the
// way Postfix searches that kind of key (see core/address_lookup.h) and the line also says which
// key matched, in which table, and the address extension that was split off; --json prints the
// same as JSON objects. Relative table names are resolved against the config directory (-c).
//
// Exit status: 0 when every key was found, 1 when one was not, 2 on an error (a table that
// cannot be opened or a lookup that failed), whose one-line message ("file:line: ...") goes to
// stderr.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/command.h"
#include "core/address_lookup.h"
#include "core/lookup_table.h"

namespace moat::cli {
namespace {

struct MapQueryOptions {
  std::string tables;
  std::vector<std::string> keys;
  bool address = false;
  bool domain = false;
  std::string style = "virtual";
  std::string delimiter;
  std::vector<std::string> local_domains;
  bool parent_matches_subdomains = false;
  bool json = false;
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

std::vector<std::string> KeysFrom(const std::vector<std::string>& arguments) {
  std::vector<std::string> keys;
  for (const auto& argument : arguments) {
    if (argument != "-") {
      keys.push_back(argument);
      continue;
    }
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) keys.push_back(line);
    }
  }
  return keys;
}

core::AddressSearch SearchFor(const MapQueryOptions& o) {
  if (o.style == "transport") return core::AddressSearch::Transport(o.parent_matches_subdomains);
  if (o.style == "access") return core::AddressSearch::Access(o.parent_matches_subdomains);
  return core::AddressSearch::Virtual();
}

std::string Tried(const std::vector<core::SearchKey>& keys) {
  std::string out;
  for (const auto& k : keys) {
    if (!out.empty()) out += ", ";
    out += k.key;
  }
  return out;
}

// Plain postmap -q behaviour.
int QueryPlain(const core::TableList& tables, const std::vector<std::string>& keys,
               bool single_key) {
  int status = 0;
  std::string value;
  for (const auto& key : keys) {
    auto found = tables.LookupInto(key, value);
    if (!found) {
      std::cerr << found.error().message() << "\n";
      return 2;
    }
    if (!*found) {
      status = 1;
      continue;
    }
    if (single_key) {
      std::cout << value << "\n";
    } else {
      std::cout << key << "\t" << value << "\n";
    }
  }
  return status;
}

// --address / --domain: Postfix's search order, and which key matched.
int QuerySearch(const core::TableList& tables, const std::vector<std::string>& keys,
                const MapQueryOptions& o) {
  core::AddressContext context;
  context.recipient_delimiter = o.delimiter;
  if (!o.local_domains.empty()) {
    std::vector<std::string> local;
    for (const auto& d : o.local_domains) local.push_back(Lower(d));
    context.is_local_domain = [local](std::string_view domain) {
      std::string folded = Lower(domain);
      for (const auto& d : local) {
        if (d == folded) return true;
      }
      return false;
    };
  }
  const core::ParentDomainStyle domain_style = o.parent_matches_subdomains
                                                   ? core::ParentDomainStyle::kParent
                                                   : core::ParentDomainStyle::kDotParent;
  int status = 0;
  nlohmann::json results = nlohmann::json::array();
  for (const auto& key : keys) {
    std::vector<core::SearchKey> search_keys =
        o.domain ? core::DomainSearchKeys(key, domain_style)
                 : core::AddressSearchKeys(key, SearchFor(o), context);
    auto match = core::FindFirst(tables, search_keys,
                                 o.domain ? std::string() : core::AddressExtension(key, context));
    if (!match) {
      std::cerr << match.error().message() << "\n";
      return 2;
    }
    nlohmann::json tried = nlohmann::json::array();
    for (const auto& k : search_keys) tried.push_back(k.key);
    if (!match->has_value()) {
      status = 1;
      results.push_back({{"query", key}, {"found", false}, {"tried", tried}});
      if (!o.json) std::cout << fmt::format("{}: not found (tried {})\n", key, Tried(search_keys));
      continue;
    }
    const core::TableMatch& m = **match;
    results.push_back({{"query", key},
                       {"found", true},
                       {"value", m.value},
                       {"key", m.key},
                       {"table", m.table},
                       {"extension", m.extension},
                       {"tried", tried}});
    if (!o.json) {
      std::string extension =
          m.extension.empty() ? std::string() : fmt::format(", extension \"{}\"", m.extension);
      std::cout << fmt::format("{} -> {} (key \"{}\" in {}{})\n", key, m.value, m.key, m.table,
                               extension);
    }
  }
  if (o.json) std::cout << results.dump(2) << "\n";
  return status;
}

}  // namespace

void RegisterMapCommand(CLI::App& app, const GlobalOptions& global) {
  CLI::App* map = app.add_subcommand("map", "Query Postfix-format lookup tables");
  map->require_subcommand(1);
  CLI::App* query = map->add_subcommand(
      "query", "Look KEYs up in TYPE:NAME tables, like postmap -q (exit 1: not found, 2: error)");
  auto o = std::make_shared<MapQueryOptions>();
  query
      ->add_option("table", o->tables,
                   "TYPE:NAME (hash, btree, texthash, pcre, regexp, cidr, static, inline, ...), "
                   "or a comma-separated list searched in order")
      ->required();
  query->add_option("key", o->keys, "keys to look up; - reads keys from stdin, one per line")
      ->required();
  CLI::Option* address = query->add_flag(
      "--address", o->address,
      "search like Postfix for an email address (user+ext@domain, user@domain, ..., @domain)");
  CLI::Option* domain = query->add_flag(
      "--domain", o->domain, "search like Postfix for a domain (domain, then parent domains)");
  address->excludes(domain);
  query
      ->add_option("--style", o->style,
                   "address search of which feature: virtual (virtual, canonical, relay "
                   "recipients: user@domain, user if local, @domain), transport (transport_maps: "
                   "user@domain, domain, parents, *), access (check_*_access)")
      ->check(CLI::IsMember({"virtual", "transport", "access"}))
      ->capture_default_str();
  query->add_option("--delimiter", o->delimiter,
                    "recipient_delimiter: characters that start an address extension (e.g. +)");
  query
      ->add_option("--local-domain", o->local_domains,
                   "a domain delivered here ($myorigin, $mydestination), for the bare user "
                   "lookups of --style virtual; repeatable")
      ->allow_extra_args(false);
  query->add_flag("--parent-matches-subdomains", o->parent_matches_subdomains,
                  "example.com entries also match subdomains (parent_domain_matches_subdomains "
                  "lists the feature); otherwise only .example.com entries do");
  query->add_flag("--json", o->json, "with --address/--domain: print the results as JSON");

  query->callback([o, &global] {
    core::TableOpenOptions options;
    options.base_directory = global.config_directory;
    std::vector<std::string> warnings;
    options.warnings = &warnings;
    auto tables = core::TableList::Open(o->tables, options);
    for (const auto& w : warnings) std::cerr << "warning: " << w << "\n";
    if (!tables) {
      std::cerr << tables.error().message() << "\n";
      throw CommandExit{2};
    }
    if (tables->empty()) {
      std::cerr << "no table given\n";
      throw CommandExit{2};
    }
    std::vector<std::string> keys = KeysFrom(o->keys);
    const bool single_key = o->keys.size() == 1 && o->keys[0] != "-";
    int status = (o->address || o->domain) ? QuerySearch(*tables, keys, *o)
                                           : QueryPlain(*tables, keys, single_key);
    std::cout.flush();
    throw CommandExit{status};
  });
}

}  // namespace moat::cli
