// smtpd_service.cc - compiling one smtpd service of master.cf.
#include "mta/smtpd_service.h"

#include <fmt/format.h>

#include "core/config_value.h"
#include "mta/smtpd_tls_settings.h"

namespace moat::mta {
namespace {

// The open-relay guard: one of these must be in the relay or the recipient restrictions.
const std::vector<std::string_view> kRelayGuards = {
    "reject_unauth_destination", "defer_unauth_destination", "reject", "defer",
    "defer_if_permit"};

core::Error At(const core::Config& config, std::string_view parameter, const core::Error& error) {
  core::SourceLocation where = config.LocationOf(parameter);
  std::string place = where.ToString();
  return core::Error(error.code(), fmt::format("{}{}{}: {}", place, place.empty() ? "" : ": ",
                                               parameter, error.message()));
}

}  // namespace

AccessValueCompiler::AccessValueCompiler(const SmtpdService& service,
                                         const RestrictionRegistry& registry)
    : service_(service),
      registry_(registry),
      tables_(core::TableOpenOptions{service.config->absolute_directory()}) {}

core::Result<std::shared_ptr<const RestrictionList>> AccessValueCompiler::Get(
    std::string_view value) const {
  std::lock_guard lock(mutex_);
  if (auto it = cache_.find(value); it != cache_.end()) return it->second;
  RestrictionBuildContext build{*service_.config, tables_, service_.settings};
  RestrictionCompiler compiler(registry_, build, service_.classes);
  auto list = compiler.Compile(value);
  if (!list) return std::unexpected(list.error());
  auto shared = std::make_shared<const RestrictionList>(std::move(*list));
  if (cache_.size() < kMaxCached) cache_.emplace(std::string(value), shared);
  return shared;
}

core::Result<std::shared_ptr<const SmtpdService>> BuildSmtpdService(
    const SmtpdServiceSpec& spec, TableSet& tables, const RestrictionRegistry& registry) {
  auto service = std::make_shared<SmtpdService>();
  const core::Config& c = *spec.config;
  service->config = spec.config;
  service->endpoints = spec.endpoints;
  SmtpdServiceSettings& s = service->settings;
  auto fail = [&](std::string_view parameter, const core::Error& error) {
    return std::unexpected(At(c, parameter, error));
  };

  s.service_name = spec.name;
  s.syslog_name = c.GetString("syslog_name");
  s.myhostname = c.GetString("myhostname");
  s.delay_reject = c.GetBool("smtpd_delay_reject");
  s.relay_before_recipient = c.GetBool("smtpd_relay_before_recipient_restrictions");
  s.reject_unlisted_recipient = c.GetBool("smtpd_reject_unlisted_recipient");
  s.reject_unlisted_sender = c.GetBool("smtpd_reject_unlisted_sender");
  s.soft_bounce = c.GetBool("soft_bounce");
  s.allow_untrusted_routing = c.GetBool("allow_untrusted_routing");
  s.show_unknown_table_name = c.GetBool("show_user_unknown_table_name");
  s.null_access_key = c.GetString("smtpd_null_access_lookup_key");
  s.access_parent_style = core::ParentDomainMatchesSubdomains(
                              "smtpd_access_maps", c.GetString("parent_domain_matches_subdomains"))
                              ? core::ParentDomainStyle::kParent
                              : core::ParentDomainStyle::kDotParent;
  SmtpdReplyCodes& codes = s.codes;
  codes.access_map_reject = static_cast<int>(c.GetInt("access_map_reject_code"));
  codes.access_map_defer = static_cast<int>(c.GetInt("access_map_defer_code"));
  codes.reject = static_cast<int>(c.GetInt("reject_code"));
  codes.defer = static_cast<int>(c.GetInt("defer_code"));
  codes.relay_domains_reject = static_cast<int>(c.GetInt("relay_domains_reject_code"));
  codes.unknown_address = static_cast<int>(c.GetInt("unknown_address_reject_code"));
  codes.invalid_hostname = static_cast<int>(c.GetInt("invalid_hostname_reject_code"));
  codes.non_fqdn = static_cast<int>(c.GetInt("non_fqdn_reject_code"));
  codes.unknown_relay_recipient = static_cast<int>(c.GetInt("unknown_relay_recipient_reject_code"));
  codes.unknown_local_recipient = static_cast<int>(c.GetInt("unknown_local_recipient_reject_code"));
  codes.unknown_virtual_alias = static_cast<int>(c.GetInt("unknown_virtual_alias_reject_code"));
  codes.unknown_virtual_mailbox =
      static_cast<int>(c.GetInt("unknown_virtual_mailbox_reject_code"));
  codes.multi_recipient_bounce =
      static_cast<int>(c.GetInt("multi_recipient_bounce_reject_code"));

  auto mynetworks = core::NetworkList::Parse(c.GetString("mynetworks"), tables.options());
  if (!mynetworks) return fail("mynetworks", mynetworks.error());
  s.mynetworks = std::move(*mynetworks);
  auto resolver = smtpd_rewrite::AddressResolver::Build(c, tables);
  if (!resolver) return std::unexpected(resolver.error());
  s.resolver = std::move(*resolver);
  s.address_context.recipient_delimiter = c.GetString("recipient_delimiter");
  s.double_bounce_sender = c.GetString("double_bounce_sender");
  s.address_context.double_bounce_sender = s.double_bounce_sender;
  const SmtpdService* self = service.get();
  s.address_context.is_local_domain = [self](std::string_view domain) {
    auto local = self->settings.resolver.IsLocalDomain(domain);
    return local && *local;
  };

  struct MapSpec {
    std::string_view parameter;
    core::TableList* target;
  };
  const MapSpec maps[] = {
      {"relay_recipient_maps", &s.relay_recipient_maps},
      {"local_recipient_maps", &s.local_recipient_maps},
      {"virtual_alias_maps", &s.virtual_alias_maps},
      {"virtual_mailbox_maps", &s.virtual_mailbox_maps},
      {"canonical_maps", &s.canonical_maps},
      {"recipient_canonical_maps", &s.recipient_canonical_maps},
      {"smtpd_sasl_password_maps", &s.sasl_password_maps},
      {"smtpd_sender_login_maps", &s.sender_login_maps},
  };
  for (const MapSpec& map : maps) {
    auto list = tables.OpenList(c.GetString(map.parameter));
    if (!list) return fail(map.parameter, list.error());
    *map.target = std::move(*list);
  }
  s.local_recipient_maps_set = c.IsSet("local_recipient_maps");
  s.receive_override_options = c.GetList("receive_override_options");
  for (const std::string& option : s.receive_override_options) {
    if (option == "no_unknown_recipient_checks") s.no_unknown_recipient_checks = true;
  }
  s.content_filter = c.GetString("content_filter");

  s.spf_checks = c.GetBool("smtpd_spf_checks");
  s.spf_stage = c.GetString("smtpd_spf_stage") == "mail" ? SpfStage::kMail : SpfStage::kRcpt;
  s.spf = SpfPolicyOptions::FromConfig(c);
  if (spec.postscreen) {
    auto screen = DnsblScreenOptions::FromConfig(
        c, std::make_shared<const core::NetworkList>(s.mynetworks));
    if (!screen) return fail("postscreen_dnsbl_sites", screen.error());
    service->screen = std::make_shared<const DnsblScreenOptions>(std::move(*screen));
  }

  s.sasl_enabled = c.GetBool("smtpd_sasl_auth_enable");
  s.tls_auth_only = c.GetBool("smtpd_tls_auth_only");
  auto xforward = core::NetworkList::Parse(c.GetString("smtpd_authorized_xforward_hosts"),
                                           tables.options());
  if (!xforward) return fail("smtpd_authorized_xforward_hosts", xforward.error());
  s.xforward_hosts = std::move(*xforward);

  ClientLimitSettings& limits = s.limits;
  limits.connection_count = static_cast<int>(c.GetInt("smtpd_client_connection_count_limit"));
  limits.connection_rate = static_cast<int>(c.GetInt("smtpd_client_connection_rate_limit"));
  limits.message_rate = static_cast<int>(c.GetInt("smtpd_client_message_rate_limit"));
  limits.recipient_rate = static_cast<int>(c.GetInt("smtpd_client_recipient_rate_limit"));
  limits.auth_rate = static_cast<int>(c.GetInt("smtpd_client_auth_rate_limit"));
  limits.time_unit = c.GetTime("anvil_rate_time_unit");
  if (limits.time_unit.count() <= 0) limits.time_unit = std::chrono::seconds(1);
  auto exceptions = core::NetworkList::Parse(c.GetString("smtpd_client_event_limit_exceptions"),
                                             tables.options());
  if (!exceptions) return fail("smtpd_client_event_limit_exceptions", exceptions.error());
  limits.exceptions = std::move(*exceptions);

  // TLS.
  auto tls = BuildSmtpdTls(c);
  if (!tls) return std::unexpected(tls.error());
  service->tls = tls->context;
  service->tls_required = tls->required;
  for (std::string& warning : tls->warnings) service->warnings.push_back(std::move(warning));
  if (s.sasl_enabled && !service->tls) {
    service->warnings.push_back(fmt::format(
        "service {}: smtpd_sasl_auth_enable = yes but no TLS certificate: AUTH is offered only "
        "over TLS, so it is not offered at all",
        spec.name));
  }
  if (s.sasl_enabled && s.sasl_password_maps.empty()) {
    service->warnings.push_back(fmt::format(
        "service {}: smtpd_sasl_auth_enable = yes but smtpd_sasl_password_maps is empty: every "
        "AUTH attempt fails",
        spec.name));
  }

  // Session options.
  auto options = std::make_shared<core::SmtpServerOptions>();
  options->mode = core::SmtpMode::kSmtp;
  options->hostname = s.myhostname;
  options->banner = c.GetString("smtpd_banner");
  options->message_size_limit = c.GetSize("message_size_limit");
  options->recipient_limit = static_cast<std::size_t>(c.GetInt("smtpd_recipient_limit"));
  options->command_timeout = c.GetTime("smtpd_timeout");
  options->data_timeout = c.GetTime("smtpd_timeout");
  options->hard_error_limit = static_cast<int>(c.GetInt("smtpd_hard_error_limit"));
  options->soft_error_limit = static_cast<int>(c.GetInt("smtpd_soft_error_limit"));
  options->error_sleep = c.GetTime("smtpd_error_sleep_time");
  options->junk_command_limit = static_cast<int>(c.GetInt("smtpd_junk_command_limit"));
  options->smtputf8 = c.GetBool("smtputf8_enable");
  options->helo_required = c.GetBool("smtpd_helo_required");
  options->strict_rfc821_envelopes = c.GetBool("strict_rfc821_envelopes");
  options->require_tls = service->tls_required;
  service->session_options = std::move(options);

  int process_limit = spec.process_limit.value_or(static_cast<int>(c.GetInt("default_process_limit")));
  service->listener_options.max_sessions =
      process_limit <= 0 ? std::size_t{100000} : static_cast<std::size_t>(process_limit);

  // Restrictions.
  RestrictionBuildContext build{c, tables, s};
  auto status = RestrictionCompiler::CompileClasses(
      registry, build, c.GetList("smtpd_restriction_classes"), service->classes);
  if (!status) return fail("smtpd_restriction_classes", status.error());
  RestrictionCompiler compiler(registry, build, service->classes);
  struct ListSpec {
    std::string_view parameter;
    RestrictionList* target;
  };
  const ListSpec lists[] = {
      {"smtpd_client_restrictions", &service->client_restrictions},
      {"smtpd_helo_restrictions", &service->helo_restrictions},
      {"smtpd_sender_restrictions", &service->sender_restrictions},
      {"smtpd_relay_restrictions", &service->relay_restrictions},
      {"smtpd_recipient_restrictions", &service->recipient_restrictions},
      {"smtpd_data_restrictions", &service->data_restrictions},
      {"smtpd_end_of_data_restrictions", &service->end_of_data_restrictions},
  };
  for (const ListSpec& list : lists) {
    auto compiled = compiler.Compile(c.GetString(list.parameter));
    if (!compiled) return fail(list.parameter, compiled.error());
    *list.target = std::move(*compiled);
  }
  if (!RestrictionCompiler::Contains(service->relay_restrictions, kRelayGuards) &&
      !RestrictionCompiler::Contains(service->recipient_restrictions, kRelayGuards)) {
    return fail("smtpd_recipient_restrictions",
                core::Error(core::ErrorCode::kInvalid,
                            fmt::format("service {}: in smtpd_relay_restrictions or "
                                        "smtpd_recipient_restrictions, specify at least one of "
                                        "reject_unauth_destination, defer_unauth_destination, "
                                        "reject, defer or defer_if_permit (an open relay "
                                        "otherwise)",
                                        spec.name)));
  }
  if (c.GetList("mydestination").size() > 0 && !s.local_recipient_maps_set) {
    service->warnings.push_back(fmt::format(
        "service {}: mydestination lists domains but local_recipient_maps is not set: Moat has "
        "no local delivery agent, so every local address except postmaster is refused (set "
        "local_recipient_maps and local_transport, see README)",
        spec.name));
  }
  service->access_values = std::make_unique<AccessValueCompiler>(*service, registry);
  return std::shared_ptr<const SmtpdService>(std::move(service));
}

}  // namespace moat::mta
