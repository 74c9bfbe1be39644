// cleanup_settings.cc - resolving cleanup's main.cf parameters and opening its tables once.
#include "mta/cleanup_settings.h"

#include <map>

#include <fmt/format.h>

#include "core/config_error.h"
#include "core/config_value.h"
#include "mta/cleanup_address.h"

namespace moat::mta {
namespace {

using core::ErrorCode;

unsigned ParseClasses(const std::vector<std::string>& names) {
  unsigned flags = 0;
  for (const std::string& name : names) {
    std::string lower = Lowercase(name);
    if (lower == "envelope_sender") flags |= address_class::kEnvelopeSender;
    if (lower == "envelope_recipient") flags |= address_class::kEnvelopeRecipient;
    if (lower == "header_sender") flags |= address_class::kHeaderSender;
    if (lower == "header_recipient") flags |= address_class::kHeaderRecipient;
  }
  return flags;
}

// Opens table lists, sharing one object per spec (mime_header_checks = $header_checks opens
// header_checks once).
class TableCache {
 public:
  explicit TableCache(core::TableOpenOptions options) : options_(std::move(options)) {}

  core::Result<core::TableList> OpenList(std::string_view parameter, std::string_view specs) {
    auto split = core::SplitTableList(specs);
    if (!split) return std::unexpected(split.error().WithContext(parameter));
    std::vector<std::shared_ptr<const core::LookupTable>> tables;
    for (const std::string& spec : *split) {
      auto table = Open(spec);
      if (!table) return std::unexpected(table.error().WithContext(parameter));
      tables.push_back(*table);
    }
    return core::TableList(std::move(tables));
  }

  core::Result<std::shared_ptr<const core::LookupTable>> Open(const std::string& spec) {
    auto found = cache_.find(spec);
    if (found != cache_.end()) return found->second;
    auto table = core::OpenTable(spec, options_);
    if (!table) return std::unexpected(table.error());
    cache_.emplace(spec, *table);
    return *table;
  }

 private:
  core::TableOpenOptions options_;
  std::map<std::string, std::shared_ptr<const core::LookupTable>> cache_;
};

core::Status BuildInto(const core::Config& config, CleanupSettings& s) {
  core::TableOpenOptions table_options;
  table_options.base_directory = config.absolute_directory();
  TableCache tables(table_options);
  auto open = [&](std::string_view parameter, core::TableList& into) -> core::Status {
    auto list = tables.OpenList(parameter, config.GetString(parameter));
    if (!list) return std::unexpected(list.error());
    into = std::move(*list);
    return {};
  };

  s.myhostname = config.GetString("myhostname");
  s.mail_name = config.GetString("mail_name");
  s.myorigin = Lowercase(config.GetString("myorigin"));
  s.mydomain = config.GetString("mydomain");
  for (const std::string& entry : config.GetList("mydestination")) {
    if (core::LooksLikeTableSpec(entry)) {
      auto table = tables.Open(entry);
      if (!table) return std::unexpected(table.error().WithContext("mydestination"));
      std::vector<std::shared_ptr<const core::LookupTable>> list = s.mydestination_tables.tables();
      list.push_back(*table);
      s.mydestination_tables = core::TableList(std::move(list));
    } else {
      s.mydestination_domains.push_back(Lowercase(entry));
    }
  }
  s.empty_address_recipient = config.GetString("empty_address_recipient");
  s.append_at_myorigin = config.GetBool("append_at_myorigin");

  for (const char* name : {"canonical_maps", "sender_canonical_maps", "recipient_canonical_maps",
                           "virtual_alias_maps", "header_checks", "mime_header_checks",
                           "nested_header_checks", "body_checks"}) {
    core::TableList* target = nullptr;
    std::string_view n = name;
    if (n == "canonical_maps") target = &s.canonical_maps;
    if (n == "sender_canonical_maps") target = &s.sender_canonical_maps;
    if (n == "recipient_canonical_maps") target = &s.recipient_canonical_maps;
    if (n == "virtual_alias_maps") target = &s.virtual_alias_maps;
    if (n == "header_checks") target = &s.header_checks;
    if (n == "mime_header_checks") target = &s.mime_header_checks;
    if (n == "nested_header_checks") target = &s.nested_header_checks;
    if (n == "body_checks") target = &s.body_checks;
    if (auto opened = open(name, *target); !opened) return opened;
  }
  s.canonical_classes = ParseClasses(config.GetList("canonical_classes"));
  s.sender_canonical_classes = ParseClasses(config.GetList("sender_canonical_classes"));
  s.recipient_canonical_classes = ParseClasses(config.GetList("recipient_canonical_classes"));
  s.virtual_alias_recursion_limit = config.GetInt("virtual_alias_recursion_limit");
  s.virtual_alias_expansion_limit = config.GetInt("virtual_alias_expansion_limit");
  s.virtual_alias_address_length_limit = config.GetInt("virtual_alias_address_length_limit");
  s.propagate_canonical_extension = false;
  s.propagate_virtual_extension = false;
  for (const std::string& item : config.GetList("propagate_unmatched_extensions")) {
    if (Lowercase(item) == "canonical") s.propagate_canonical_extension = true;
    if (Lowercase(item) == "virtual") s.propagate_virtual_extension = true;
  }
  s.masquerade_domains = config.GetList("masquerade_domains");
  for (std::string& domain : s.masquerade_domains) domain = Lowercase(domain);
  for (const std::string& entry : config.GetList("masquerade_exceptions")) {
    if (core::LooksLikeTableSpec(entry)) {
      auto table = tables.Open(entry);
      if (!table) return std::unexpected(table.error().WithContext("masquerade_exceptions"));
      std::vector<std::shared_ptr<const core::LookupTable>> list =
          s.masquerade_exception_tables.tables();
      list.push_back(*table);
      s.masquerade_exception_tables = core::TableList(std::move(list));
    } else {
      s.masquerade_exception_names.insert(Lowercase(entry));
    }
  }
  s.masquerade_classes = ParseClasses(config.GetList("masquerade_classes"));
  s.enable_original_recipient = config.GetBool("enable_original_recipient");
  s.duplicate_filter_limit = config.GetInt("duplicate_filter_limit");

  s.address_context.recipient_delimiter = config.GetString("recipient_delimiter");
  s.address_context.double_bounce_sender = config.GetString("double_bounce_sender");

  // local_header_rewrite_clients (Postfix's permit_* subset that makes sense here).
  std::vector<std::string> rules = core::SplitList(config.GetString("local_header_rewrite_clients"));
  for (size_t i = 0; i < rules.size(); ++i) {
    std::string rule = Lowercase(rules[i]);
    using Kind = RewriteClientRule::Kind;
    if (rule == "permit_inet_interfaces") {
      s.local_header_rewrite_clients.push_back({Kind::kInetInterfaces, nullptr});
    } else if (rule == "permit_mynetworks") {
      s.local_header_rewrite_clients.push_back({Kind::kMynetworks, nullptr});
    } else if (rule == "permit_sasl_authenticated") {
      s.local_header_rewrite_clients.push_back({Kind::kSaslAuthenticated, nullptr});
    } else if (rule == "permit_tls_clientcerts" || rule == "permit_tls_all_clientcerts") {
      s.local_header_rewrite_clients.push_back({Kind::kTlsClientCerts, nullptr});
    } else if (rule == "static:all") {
      s.local_header_rewrite_clients.push_back({Kind::kAll, nullptr});
    } else if (rule == "check_address_map" && i + 1 < rules.size()) {
      auto table = tables.Open(rules[++i]);
      if (!table) return std::unexpected(table.error().WithContext("local_header_rewrite_clients"));
      s.local_header_rewrite_clients.push_back({Kind::kAddressMap, *table});
    } else {
      return core::Fail(ErrorCode::kInvalid,
                        "local_header_rewrite_clients: unsupported entry \"{}\"", rules[i]);
    }
  }
  s.remote_header_rewrite_domain = config.GetString("remote_header_rewrite_domain");
  auto mynetworks = core::NetworkList::Parse(config.GetString("mynetworks"), table_options);
  if (!mynetworks) return std::unexpected(mynetworks.error().WithContext("mynetworks"));
  s.mynetworks = std::move(*mynetworks);
  std::vector<std::string> interfaces = config.GetList("inet_interfaces");
  bool all = interfaces.empty() ||
             std::any_of(interfaces.begin(), interfaces.end(),
                         [](const std::string& i) { return Lowercase(i) == "all"; });
  for (const std::string& item : interfaces) {
    std::string lower = Lowercase(item);
    if (lower == "loopback-only" || lower == "localhost") {
      for (const char* loopback : {"127.0.0.1", "::1"}) {
        s.interface_addresses.push_back(*core::IpAddress::Parse(loopback));
      }
    } else if (auto ip = core::IpAddress::Parse(item)) {
      s.interface_addresses.push_back(*ip);
    }
  }
  if (all) {
    if (auto local = core::LocalInterfaces()) {
      for (const core::InterfaceNetwork& i : *local) s.interface_addresses.push_back(i.address);
    }
    for (const char* loopback : {"127.0.0.1", "::1"}) {
      s.interface_addresses.push_back(*core::IpAddress::Parse(loopback));
    }
  }

  s.body_checks_size_limit = config.GetSize("body_checks_size_limit");
  s.disable_mime_input_processing = config.GetBool("disable_mime_input_processing");
  s.mime_nesting_limit = config.GetInt("mime_nesting_limit");
  for (const std::string& name : config.GetList("message_drop_headers")) {
    s.message_drop_headers.insert(Lowercase(name));
  }
  s.message_reject_characters = UnescapeCharacterSet(config.GetString("message_reject_characters"));
  s.message_strip_characters = UnescapeCharacterSet(config.GetString("message_strip_characters"));
  s.always_add_missing_headers = config.GetBool("always_add_missing_headers");
  s.undisclosed_recipients_header = config.GetString("undisclosed_recipients_header");
  s.header_from_obsolete = config.GetString("header_from_format") == "obsolete";
  s.tls_received_header = config.GetBool("smtpd_tls_received_header");
  s.sasl_authenticated_header = config.GetBool("smtpd_sasl_authenticated_header");

  s.message_size_limit = config.GetSize("message_size_limit");
  s.header_size_limit = config.GetSize("header_size_limit");
  s.hopcount_limit = config.GetInt("hopcount_limit");
  s.header_address_token_limit = config.GetInt("header_address_token_limit");
  s.line_length_limit = config.GetInt("line_length_limit");
  return {};
}

}  // namespace

std::string UnescapeCharacterSet(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '\\' || i + 1 == text.size()) {
      out.push_back(c);
      continue;
    }
    char next = text[++i];
    switch (next) {
      case 'a': out.push_back('\a'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'v': out.push_back('\v'); break;
      default:
        if (next >= '0' && next <= '7') {
          int value = next - '0';
          for (int k = 0; k < 2 && i + 1 < text.size() && text[i + 1] >= '0' &&
                          text[i + 1] <= '7';
               ++k) {
            value = value * 8 + (text[++i] - '0');
          }
          out.push_back(static_cast<char>(value & 0xff));
        } else {
          out.push_back(next);
        }
    }
  }
  return out;
}

core::Result<std::shared_ptr<const CleanupSettings>> CleanupSettings::Build(
    const core::Config& config) {
  auto settings = std::make_shared<CleanupSettings>();
  try {
    if (auto s = BuildInto(config, *settings); !s) return std::unexpected(s.error());
  } catch (const core::ConfigError& e) {
    return core::Fail(ErrorCode::kInvalid, "{}: {}", e.location().ToString(), e.message());
  }
  // Local domains decide which partial keys address lookups try (core/address_lookup.h).
  std::weak_ptr<CleanupSettings> weak = settings;
  CleanupSettings* raw = settings.get();
  raw->address_context.is_local_domain = [raw](std::string_view domain) {
    std::string lower = Lowercase(domain);
    if (lower == raw->myorigin) return true;
    for (const std::string& d : raw->mydestination_domains) {
      if (d == lower) return true;
    }
    if (!raw->mydestination_tables.empty()) {
      auto found = raw->mydestination_tables.Lookup(lower);
      return found && found->has_value();
    }
    return false;
  };
  (void)weak;
  return std::shared_ptr<const CleanupSettings>(std::move(settings));
}

}  // namespace moat::mta
