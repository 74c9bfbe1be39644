// plugin_registry.cc - the fixed plugin and capability tables (SpamAssassin 4.0.1).
#include "rules/plugin_registry.h"

#include <map>

namespace moat::rules {

namespace {
constexpr std::string_view kPrefix = "Mail::SpamAssassin::Plugin::";
}  // namespace

std::string CanonicalPluginName(std::string_view name) {
  if (name == "Mail::SpamAssassin::Plugin::Dmarc") return "Mail::SpamAssassin::Plugin::DMARC";
  if (name == "Mail::SpamAssassin::Plugin::WhiteListSubject") {
    return "Mail::SpamAssassin::Plugin::WelcomeListSubject";
  }
  return std::string(name);
}

const std::set<std::string>& DefaultPlugins() {
  // What /etc/spamassassin/{init,v310..v401}.pre load in Debian's spamassassin 4.0.1.
  static const std::set<std::string> kPlugins = [] {
    std::set<std::string> s;
    for (std::string_view p : {"URIDNSBL",
                               "SPF",
                               "Pyzor",
                               "Razor2",
                               "SpamCop",
                               "AutoLearnThreshold",
                               "WelcomeListSubject",
                               "MIMEHeader",
                               "ReplaceTags",
                               "DKIM",
                               "Check",
                               "HTTPSMismatch",
                               "URIDetail",
                               "Bayes",
                               "BodyEval",
                               "DNSEval",
                               "HTMLEval",
                               "HeaderEval",
                               "MIMEEval",
                               "RelayEval",
                               "URIEval",
                               "WLBLEval",
                               "VBounce",
                               "ImageInfo",
                               "FreeMail",
                               "AskDNS",
                               "HashBL",
                               "DMARC"}) {
      s.insert(std::string(kPrefix) + std::string(p));
    }
    return s;
  }();
  return kPlugins;
}

bool CapabilityAvailable(std::string_view qualified_method, const std::set<std::string>& plugins,
                         const std::set<std::string>& compat) {
  size_t split = qualified_method.rfind("::");
  if (split == std::string_view::npos) return false;
  std::string_view module = qualified_method.substr(0, split);
  std::string_view method = qualified_method.substr(split + 2);
  if (module == "Mail::SpamAssassin::Conf") {
    if (method.starts_with("compat_")) return compat.count(std::string(method.substr(7))) > 0;
    static const std::set<std::string_view> kConf = {"feature_originating_ip_headers",
                                                     "feature_dns_local_ports_permit_avoid",
                                                     "feature_bayes_auto_learn_on_error",
                                                     "feature_uri_host_listed",
                                                     "feature_yesno_takes_args",
                                                     "feature_bug6558_free",
                                                     "feature_edns",
                                                     "feature_dns_query_restriction",
                                                     "feature_registryboundaries",
                                                     "feature_geodb",
                                                     "feature_dns_block_rule",
                                                     "feature_compile_regexp",
                                                     "feature_meta_rules_matching",
                                                     "feature_subjprefix",
                                                     "feature_bayes_stopwords",
                                                     "feature_get_host",
                                                     "feature_blocklist_welcomelist",
                                                     "feature_welcomelist_blocklist",
                                                     "feature_header_address_parser",
                                                     "feature_local_tests_only",
                                                     "feature_header_first_last",
                                                     "feature_header_match_many",
                                                     "feature_capture_rules",
                                                     "has_tflags_nosubject",
                                                     "has_tflags_nolog",
                                                     "perl_min_version_5010000"};
    return kConf.count(method) > 0;
  }
  if (plugins.count(CanonicalPluginName(module)) == 0) return false;
  static const std::map<std::string_view, std::set<std::string_view>> kPluginMethods = {
      {"Mail::SpamAssassin::Plugin::AskDNS", {"has_tag_header"}},
      {"Mail::SpamAssassin::Plugin::BodyEval",
       {"has_check_body_length", "has_plaintext_body_sig_ratio"}},
      {"Mail::SpamAssassin::Plugin::DKIM", {"has_arc"}},
      {"Mail::SpamAssassin::Plugin::DNSEval", {"has_tflags_domains_only", "has_tflags_ips_only"}},
      {"Mail::SpamAssassin::Plugin::HashBL",
       {"has_hashbl_bodyre", "has_hashbl_bodyre_num", "has_hashbl_emails", "has_hashbl_uris",
        "has_hashbl_ignore", "has_hashbl_email_regex", "has_hashbl_email_welcomelist",
        "has_hashbl_email_whitelist", "has_hashbl_tag", "has_hashbl_sha256",
        "has_hashbl_attachments", "has_hashbl_email_domain", "has_hashbl_email_domain_alias"}},
      {"Mail::SpamAssassin::Plugin::MIMEEval",
       {"has_check_for_ascii_text_illegal", "has_check_abundant_unicode_ratio"}},
      {"Mail::SpamAssassin::Plugin::SPF", {"has_check_for_spf_errors"}},
      {"Mail::SpamAssassin::Plugin::URIDNSBL", {"has_tflags_domains_only", "has_uridnsbl_for_a"}},
  };
  auto it = kPluginMethods.find(CanonicalPluginName(module));
  return it != kPluginMethods.end() && it->second.count(method) > 0;
}

}  // namespace moat::rules
