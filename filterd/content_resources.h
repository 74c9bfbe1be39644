// content_resources.h - the shared engines the content pipeline is built on.
//
// Some things are too expensive to build per policy bank or per configuration reload: the
// ClamAV engine (seconds and ~1 GB with the official database; ClamavService reloads it on its
// own), the compiled RuleSet (thousands of PCRE2 JIT regexes), and DNS resolvers (one per
// io_context). The daemon's snapshot owns a ContentResources and passes it to BuildContent()
// for every bank; `moat scan` and the tests build one with LoadContentResources().
//
//   clamav  the ClamAV service; may be null when every bank bypasses virus checks
//   rules   the rule set of rules_directories; may be null when every bank bypasses spam checks
//   dns     hands the DKIM and DMARC stages a resolver for the executor it runs on
//   public_suffixes  the Public Suffix List of DMARC (public_suffix_list); may be null: the
//           DMARC stage then loads it itself (the daemon does, once per snapshot)
//
// Helpers read the relevant filterd.cf parameters (clamav_database_directory,
// clamav_reload_check_interval, rules_directories - when unset, the shipped rules and the config
// directory's rules/ folder -, dns_servers). They are configuration loading:
// LoadRuleSet() never fails (rule errors are per rule, see rules/rule_set.h; they are logged),
// StartClamav() returns the engine's load error, NewDnsResolverProvider() throws
// core::ConfigError for a bad dns_servers value.
#pragma once

#include <memory>

#include "core/config.h"
#include "core/error.h"
#include "filterd/dmarc_public_suffix.h"
#include "filterd/stage_dkim_verify.h"
#include "rules/rule_set.h"
#include "scanners/clamav_service.h"

namespace moat::filterd {

struct ContentResources {
  std::shared_ptr<scanners::ClamavService> clamav;
  std::shared_ptr<const rules::RuleSet> rules;
  DnsResolverProvider dns;
  std::shared_ptr<const PublicSuffixList> public_suffixes;
};

core::Result<std::shared_ptr<scanners::ClamavService>> StartClamav(const core::Config& config);

std::shared_ptr<const rules::RuleSet> LoadRuleSet(const core::Config& config);

// A provider that creates a new resolver (with dns_servers, or /etc/resolv.conf) on each call;
// fine for `moat scan` and tests. A daemon wraps it with a per-io_context cache.
DnsResolverProvider NewDnsResolverProvider(const core::Config& config);

// True when some policy bank runs the named check ("virus", "spam").
bool AnyBankChecks(const core::Config& config, std::string_view check);

// Everything above for a whole configuration: ClamAV only when some bank runs virus checks, the
// rules only when some bank runs spam checks, the public suffix list only with dmarc_verify.
// Errors: StartClamav()'s, PublicSuffixList::Load()'s.
core::Result<ContentResources> LoadContentResources(const core::Config& config);

}  // namespace moat::filterd
