// uri_extractor.h - the URI list SpamAssassin's `uri` rules run over.
//
// Two sources, as PerMsgStatus::get_uri_detail_list() combines them:
//  - links found in the rendered body text with SpamAssassin's Thunderbird-like pattern
//    (_tbirdurire): http/https/ftp URLs, www./ftp. hosts, mailto: and bare e-mail addresses,
//    and schemeless host names ending in a known TLD. Schemes are added (http://, ftp://,
//    mailto:), trailing punctuation dropped, and only links whose host has a known TLD kept.
//  - links from HTML parts (html_renderer.h), taken as they are.
// Each link is then canonicalized (Util::uri_list_canonicalize): %-decoding of printable
// characters, "\" to "/", a missing scheme added, ":80"/":443" dropped, numeric and hex IP hosts
// decoded, user@ dropped from the host, redirector targets (redirector_pattern and
// http-in-query) followed. The list holds the original link and every variant, unique.
//
// UriContext is built once per rule set (it compiles a regex over all known TLDs) and is
// immutable and thread-safe afterwards. Without TLDs (no util_rb_tld loaded) schemeless hosts
// and e-mail addresses are not recognized, exactly as in SpamAssassin.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/regex.h"

namespace moat::rules {

class UriContext {
 public:
  // `redirector_patterns` are Perl regex literals whose group 1 is the redirect target; one that
  // does not compile is kInvalid (the loader reports it with its file:line and leaves it out).
  static core::Result<std::shared_ptr<const UriContext>> Create(
      std::set<std::string> valid_tlds, std::set<std::string> two_level_domains,
      std::set<std::string> three_level_domains, std::vector<core::Regex> redirectors);

  // A context with no TLDs and no redirectors.
  static std::shared_ptr<const UriContext> Empty();

  bool IsKnownTld(std::string_view tld) const;
  // True when `domain` ends in a known TLD (RegistryBoundaries::is_domain_valid).
  bool IsDomainValid(std::string_view domain) const;
  // The registrable domain of a host name ("www.foo.co.uk" -> "foo.co.uk").
  std::string TrimDomain(std::string_view host) const;
  // The domain of a URI, or nullopt (RegistryBoundaries::uri_to_domain).
  std::optional<std::string> UriDomain(std::string_view uri) const;

  // Raw links found in rendered text lines, schemes added (not yet canonicalized).
  std::vector<std::string> FindTextUris(const std::vector<std::string>& lines) const;

  // The link and its canonical variants (never empty unless the link is too short to be one).
  std::vector<std::string> Canonicalize(std::string_view uri) const;

  // The `uri` rule list for a message: text links (only those with a valid domain) and HTML
  // links, canonicalized, unique, in order of first appearance.
  std::vector<std::string> CollectUris(const std::vector<std::string>& rendered_lines,
                                       const std::vector<std::string>& html_links) const;

  const std::set<std::string>& valid_tlds() const { return valid_tlds_; }

 private:
  UriContext() = default;
  std::set<std::string> valid_tlds_, two_level_, three_level_;
  std::vector<core::Regex> redirectors_;
  // _tbirdurire split into its alternatives (same leftmost-first result, faster to search).
  std::optional<core::Regex> known_scheme_, mailto_, bare_mail_, schemeless_;
};

// SpamAssassin's Util::is_fqdn_valid (ASCII host names).
bool IsFqdnValid(std::string_view host);
// True for an IPv4 or IPv6 address literal.
bool IsIpAddress(std::string_view text);

}  // namespace moat::rules
