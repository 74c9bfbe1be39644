// delivery_smtp.cc - SMTP/LMTP delivery (after Postfix smtp_connect.c, smtp_proto.c,
// smtp_trouble.c and smtp_tls_policy.c).
// clang-format off
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>
#include <asio.hpp>
#include <asio/ssl.hpp>
// clang-format on

#include "mta/delivery_smtp.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/config_error.h"
#include "core/smtp_tls.h"
#include "mta/resolve_domain_list.h"

// GCC 12 false positive on asio's coroutine frame allocator (see core/smtp_session.cc).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace moat::mta {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds Ms(std::chrono::seconds s) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(s);
}

[[noreturn]] void Throw(const core::Config& config, std::string_view name,
                        const std::string& message) {
  throw core::ConfigError(config.LocationOf(name), fmt::format("{}: {}", name, message));
}

bool HasWord(const std::vector<std::string>& words, std::string_view word) {
  return std::any_of(words.begin(), words.end(),
                     [&](const std::string& w) { return LowerAscii(w) == word; });
}

struct TlsChoice {
  core::SmtpTlsPolicy policy = core::SmtpTlsPolicy::kNone;
  bool match_nexthop = false;  // secure
  std::optional<std::string> unsupported;
};

TlsChoice ChooseTls(std::string_view level) {
  TlsChoice c;
  if (level == "none" || level.empty()) return c;
  if (level == "may" || level == "dane") {
    c.policy = core::SmtpTlsPolicy::kMay;
  } else if (level == "encrypt") {
    c.policy = core::SmtpTlsPolicy::kEncrypt;
  } else if (level == "verify") {
    c.policy = core::SmtpTlsPolicy::kVerify;
  } else if (level == "secure") {
    c.policy = core::SmtpTlsPolicy::kVerify;
    c.match_nexthop = true;
  } else {
    c.unsupported = fmt::format("TLS security level \"{}\" is not supported by moat-mta", level);
  }
  return c;
}

// The client names a peer "address[address]:port"; Postfix says "connect to host[address]:port"
// and "lost connection with host[address] while ...".
std::string Localize(const std::string& text, const std::string& client_label,
                     const std::string& relay, const std::string& namaddr) {
  if (client_label.empty()) return text;
  std::string out;
  size_t from = 0;
  for (size_t pos = text.find(client_label); pos != std::string::npos;
       pos = text.find(client_label, from)) {
    out.append(text, from, pos - from);
    bool connect = out.ends_with("connect to ");
    out += connect ? relay : namaddr;
    from = pos + client_label.size();
  }
  out.append(text, from, std::string::npos);
  return out;
}

// The reply and the command it answered, as Postfix words a remote refusal.
std::string RemoteReason(std::string_view namaddr, const core::SmtpReply& reply,
                         std::string_view command) {
  return fmt::format("host {} said: {} (in reply to {} command)", namaddr, reply.ToString(),
                     command);
}

}  // namespace

std::shared_ptr<const SmtpAgentSettings> SmtpAgentSettings::FromTransport(
    const TransportSettings& t) {
  auto s = std::make_shared<SmtpAgentSettings>();
  const core::Config& c = *t.config;
  const bool lmtp = t.kind == DeliveryAgentKind::kLmtp;
  s->mode = lmtp ? core::SmtpMode::kLmtp : core::SmtpMode::kSmtp;
  s->prefix = lmtp ? "lmtp" : "smtp";
  auto name = [&](std::string_view suffix) { return fmt::format("{}_{}", s->prefix, suffix); };

  core::SmtpClientOptions& o = s->client;
  o.mode = s->mode;
  o.helo_name = c.GetString(lmtp ? "lmtp_lhlo_name" : "smtp_helo_name");
  auto connect = c.GetTime(name("connect_timeout"));
  // lmtp_connect_timeout = 0 means the system's default; give it the kernel's usual two minutes.
  o.timeouts.connect = connect.count() > 0 ? Ms(connect) : std::chrono::milliseconds(120'000);
  o.timeouts.helo = Ms(c.GetTime(lmtp ? "lmtp_lhlo_timeout" : "smtp_helo_timeout"));
  o.timeouts.starttls = Ms(c.GetTime(name("starttls_timeout")));
  o.timeouts.xforward = Ms(c.GetTime(name("xforward_timeout")));
  o.timeouts.mail = Ms(c.GetTime(name("mail_timeout")));
  o.timeouts.rcpt = Ms(c.GetTime(name("rcpt_timeout")));
  o.timeouts.data_init = Ms(c.GetTime(name("data_init_timeout")));
  o.timeouts.data_xfer = Ms(c.GetTime(name("data_xfer_timeout")));
  o.timeouts.data_done = Ms(c.GetTime(name("data_done_timeout")));
  o.timeouts.rset = Ms(c.GetTime(name("rset_timeout")));
  o.timeouts.quit = Ms(c.GetTime(name("quit_timeout")));
  o.send_xforward = c.GetBool(name("send_xforward_command"));

  auto port = ResolvePort(c.GetString(name("tcp_port")));
  if (!port) Throw(c, name("tcp_port"), port.error().message());
  s->default_port = *port;

  // TLS level: the level parameter, else the legacy booleans.
  std::string level = c.GetString(name("tls_security_level"));
  if (level.empty()) {
    if (c.GetBool(name("enforce_tls"))) {
      level = c.GetBool(name("tls_enforce_peername")) ? "verify" : "encrypt";
    } else if (c.GetBool(name("use_tls"))) {
      level = "may";
    } else {
      level = "none";
    }
  }
  s->tls_level = level;
  core::TableOpenOptions tables;
  tables.base_directory = c.absolute_directory();
  auto policy = core::TableList::Open(c.GetString(name("tls_policy_maps")), tables);
  if (!policy) Throw(c, name("tls_policy_maps"), policy.error().message());
  s->tls_policy_maps = std::move(*policy);
  s->tls_servername = c.GetString(name("tls_servername"));
  if (level != "none" || !s->tls_policy_maps.empty()) {
    core::TlsClientSettings tls;
    tls.ca_file = c.GetPath(name("tls_CAfile"));
    tls.ca_path = c.GetPath(name("tls_CApath"));
    tls.use_system_ca = tls.ca_file.empty() && tls.ca_path.empty();
    tls.cert_file = c.GetPath(name("tls_cert_file"));
    tls.key_file = c.GetPath(name("tls_key_file"));
    auto context = core::MakeTlsClientContext(tls);
    if (!context) Throw(c, name("tls_CAfile"), context.error().message());
    s->tls_context = *context;
  }

  // Host lookup.
  std::string dns_level = c.GetString(name("dns_support_level"));
  bool dns = dns_level.empty() ? !c.GetBool("disable_dns_lookups") : dns_level != "disabled";
  std::vector<std::string> lookup = c.GetList(name("host_lookup"));
  bool lookup_dns = HasWord(lookup, "dns");
  s->hosts.use_dns = dns && lookup_dns;
  s->hosts.native_fallback = lookup_dns && HasWord(lookup, "native");
  std::vector<std::string> protocols = c.GetList("inet_protocols");
  bool all = HasWord(protocols, "all");
  s->hosts.ipv4 = all || HasWord(protocols, "ipv4");
  s->hosts.ipv6 = all || HasWord(protocols, "ipv6");
  std::string preference = c.GetString(name("address_preference"));
  s->hosts.preference = preference == "ipv4"   ? AddressPreference::kIpv4
                        : preference == "ipv6" ? AddressPreference::kIpv6
                                               : AddressPreference::kAny;
  s->hosts.myhostname = c.GetString("myhostname");
  s->hosts.address_limit = static_cast<std::size_t>(std::max<int64_t>(0, c.GetInt(name("mx_address_limit"))));
  s->session_limit = static_cast<std::size_t>(std::max<int64_t>(0, c.GetInt(name("mx_session_limit"))));
  s->skip_5xx_greeting = c.GetBool(name("skip_5xx_greeting"));

  s->cache.idle_limit = Ms(c.GetTime(name("connection_cache_time_limit")));
  s->cache.reuse_limit = Ms(c.GetTime(name("connection_reuse_time_limit")));
  s->cache.count_limit =
      static_cast<std::uint64_t>(std::max<int64_t>(0, c.GetInt(name("connection_reuse_count_limit"))));

  s->sasl_enabled = c.GetBool(name("sasl_auth_enable"));
  if (s->sasl_enabled) {
    auto passwords = core::TableList::Open(c.GetString(name("sasl_password_maps")), tables);
    if (!passwords) Throw(c, name("sasl_password_maps"), passwords.error().message());
    s->sasl_passwords = std::move(*passwords);
    s->sasl_plaintext_allowed = !HasWord(c.GetList(name("sasl_security_options")), "noplaintext");
  }
  return s;
}

struct SmtpDeliveryAgent::Attempt {
  std::vector<RecipientResult> results;  // in request order
  std::vector<std::size_t> remaining;    // positions without a final answer yet
  std::optional<HostLookupFailure> temporary;  // the last temporary failure
  std::optional<HostLookupFailure> permanent;  // the last permanent failure
  bool conversation = false;  // a server got as far as a transaction
  std::size_t sessions = 0;
  std::chrono::duration<double> setup{0};
  std::chrono::duration<double> transfer{0};
  std::string key;

  void Fail(bool temp, std::string dsn, std::string reason) {
    (temp ? temporary : permanent) = HostLookupFailure{temp, std::move(dsn), std::move(reason)};
  }
};

SmtpDeliveryAgent::SmtpDeliveryAgent(asio::any_io_executor executor,
                                     std::shared_ptr<const TransportCatalog> catalog,
                                     core::DnsResolver* dns, SmtpAgentOptions options)
    : executor_(std::move(executor)),
      catalog_(std::move(catalog)),
      dns_(dns),
      options_(options),
      cache_(std::make_shared<SessionCache>(executor_)) {
  for (const std::string& name : catalog_->Names()) {
    const TransportSettings* t = catalog_->Find(name);
    if (t->kind == DeliveryAgentKind::kSmtp || t->kind == DeliveryAgentKind::kLmtp) {
      settings_.emplace(name, SmtpAgentSettings::FromTransport(*t));
    }
  }
}

SmtpDeliveryAgent::~SmtpDeliveryAgent() = default;

const SmtpAgentSettings* SmtpDeliveryAgent::Settings(std::string_view transport) const {
  auto it = settings_.find(transport);
  return it == settings_.end() ? nullptr : it->second.get();
}

asio::awaitable<void> SmtpDeliveryAgent::Shutdown() { co_await cache_->Shutdown(); }

asio::awaitable<DeliveryResult> SmtpDeliveryAgent::Deliver(Resolution route,
                                                           DeliveryRequest request) {
  DeliveryResult result;
  const SmtpAgentSettings* settings = Settings(route.transport);
  if (settings == nullptr || route.destinations.empty()) {
    result = UniformResult(request, DeliveryStatus::kDeferred, "4.3.5",
                           fmt::format("transport {} is not an SMTP or LMTP transport with a "
                                       "destination",
                                       route.transport));
    co_return result;
  }
  Attempt attempt;
  attempt.key = LowerAscii(route.transport + "/" + route.nexthop);
  for (std::size_t i = 0; i < request.recipients.size(); ++i) {
    RecipientResult r;
    r.index = request.recipients[i].index;
    r.recipient = request.recipients[i].rcpt.recipient;
    r.original_recipient = request.recipients[i].rcpt.orcpt;
    attempt.results.push_back(std::move(r));
    attempt.remaining.push_back(i);
  }
  if (!attempt.remaining.empty()) co_await DeliverBody(route, request, *settings, attempt);

  // Whatever is left failed everywhere: temporary wins (the mail may get through later).
  for (std::size_t i : attempt.remaining) {
    RecipientResult& r = attempt.results[i];
    const HostLookupFailure& why =
        attempt.temporary ? *attempt.temporary
                          : (attempt.permanent ? *attempt.permanent
                                               : HostLookupFailure{true, "4.4.1",
                                                                   "no route to destination"});
    r.status = why.temporary ? DeliveryStatus::kDeferred : DeliveryStatus::kBounced;
    r.dsn = why.dsn;
    r.reason = why.reason;
  }
  result.recipients = std::move(attempt.results);
  result.setup_time = attempt.setup;
  result.transfer_time = attempt.transfer;
  if (!attempt.conversation && attempt.temporary && !attempt.remaining.empty()) {
    result.site_failure = true;
    result.site_dsn = attempt.temporary->dsn;
    result.site_reason = attempt.temporary->reason;
  }
  co_return result;
}

asio::awaitable<void> SmtpDeliveryAgent::DeliverBody(const Resolution& route,
                                                     const DeliveryRequest& request,
                                                     const SmtpAgentSettings& settings,
                                                     Attempt& attempt) {
  // 1. A cached connection to this destination.
  for (;;) {
    SessionCache::Entry cached = cache_->Take(attempt.key);
    if (!cached.client) break;
    bool completed = co_await Transact(cached, request, settings, true, attempt);
    attempt.conversation = attempt.conversation || completed;
    cache_->Put(attempt.key, std::move(cached));
    if (completed) co_return;  // the cached session answered every recipient
  }

  // 2. Each destination, each host.
  std::size_t addresses = 0;
  for (std::size_t d = 0; d < route.destinations.size() && !attempt.remaining.empty(); ++d) {
    const NexthopDestination& destination = route.destinations[d];
    const bool last_destination = d + 1 == route.destinations.size();
    std::vector<DeliveryHost> hosts;
    auto setup_start = Clock::now();
    if (destination.kind == NexthopDestination::Kind::kUnix) {
      DeliveryHost host;
      host.name = settings.hosts.myhostname;
      hosts.push_back(std::move(host));
    } else {
      HostLookupOptions lookup = settings.hosts;
      lookup.random_seed = options_.random_seed;
      auto found = co_await FindDeliveryHosts(destination, settings.default_port, lookup, dns_,
                                              executor_);
      if (!found) {
        attempt.Fail(found.error().temporary, found.error().dsn, found.error().reason);
        attempt.setup += Clock::now() - setup_start;
        continue;
      }
      hosts = std::move(*found);
    }
    attempt.setup += Clock::now() - setup_start;

    // The TLS level for this destination (smtp_tls_policy_maps, then the transport's).
    std::string level = settings.tls_level;
    if (!settings.tls_policy_maps.empty()) {
      for (const std::string& key : {destination.text, destination.host}) {
        auto found = settings.tls_policy_maps.Lookup(key);
        if (!found) {
          attempt.Fail(true, "4.3.0",
                       fmt::format("TLS policy lookup for {} failed: {}", key,
                                   found.error().message()));
          level.clear();
          break;
        }
        if (found->has_value()) {
          std::string value = **found;
          level = value.substr(0, value.find_first_of(" \t"));
          break;
        }
      }
      if (level.empty()) continue;
    }
    TlsChoice tls = ChooseTls(level);
    if (tls.unsupported) {
      attempt.Fail(true, "4.7.5", *tls.unsupported);
      continue;
    }

    for (std::size_t h = 0; h < hosts.size() && !attempt.remaining.empty(); ++h) {
      if (settings.hosts.address_limit > 0 && addresses >= settings.hosts.address_limit) break;
      if (settings.session_limit > 0 && attempt.sessions >= settings.session_limit) break;
      ++addresses;
      const DeliveryHost& host = hosts[h];
      const bool unix_socket = destination.kind == NexthopDestination::Kind::kUnix;
      const bool final_server =
          (last_destination && h + 1 == hosts.size()) ||
          (settings.session_limit > 0 && attempt.sessions + 1 >= settings.session_limit) ||
          (settings.hosts.address_limit > 0 && addresses >= settings.hosts.address_limit);

      core::SmtpClientOptions options = settings.client;
      options.tls = tls.policy;
      options.tls_context = settings.tls_context;
      asio::error_code literal_error;
      asio::ip::make_address(host.name, literal_error);
      if (tls.match_nexthop) {
        options.tls_server_name = destination.host;
      } else if (!settings.tls_servername.empty()) {
        options.tls_server_name = settings.tls_servername == "hostname" ? host.name
                                  : settings.tls_servername == "nexthop"
                                      ? destination.host
                                      : settings.tls_servername;
      } else if (literal_error && !unix_socket) {
        options.tls_server_name = host.name;
      }
      if (settings.sasl_enabled && (settings.sasl_plaintext_allowed ||
                                    (tls.policy != core::SmtpTlsPolicy::kNone &&
                                        tls.policy != core::SmtpTlsPolicy::kMay))) {
        for (const std::string& key : {host.name, destination.text}) {
          auto found = settings.sasl_passwords.Lookup(key);
          if (found && found->has_value()) {
            const std::string& value = **found;
            size_t colon = value.find(':');
            core::SaslCredentials credentials;
            credentials.username = value.substr(0, colon);
            if (colon != std::string::npos) credentials.password = value.substr(colon + 1);
            options.auth = credentials;
            break;
          }
        }
      }

      core::SmtpEndpoint endpoint;
      SessionCache::Entry session;
      if (unix_socket) {
        endpoint.kind = core::SmtpEndpoint::Kind::kUnix;
        endpoint.path = destination.path;
        session.relay = fmt::format("{}[{}]", host.name, destination.path);
        session.remote_host = host.name;
      } else {
        endpoint.host = host.address.to_string();
        endpoint.port = std::to_string(host.port);
        session.relay = host.Label();
        session.remote_host = host.name;
      }
      std::string namaddr = unix_socket ? session.relay
                                        : fmt::format("{}[{}]", host.name, endpoint.host);

      auto connect_start = Clock::now();
      session.client = std::make_unique<core::SmtpClient>(asio::make_strand(executor_), options);
      core::SmtpReply reply = co_await session.client->Connect(endpoint);
      attempt.setup += Clock::now() - connect_start;
      session.created = Clock::now();
      session.limits = settings.cache;
      if (!reply.positive()) {
        const core::SmtpReply& greeting = session.client->greeting();
        std::string client_label = session.client->peer_name();
        if (greeting.empty()) {
          // No greeting: connect failed, timed out, or the connection dropped.
          std::string why = Localize(reply.text(), client_label, session.relay, namaddr);
          // Postfix logs each server it skips over, so a fallback to the next MX is visible.
          if (!final_server) spdlog::info("{}: {} (trying the next server)", request.queue_id, why);
          attempt.Fail(true, reply.enhanced().empty() ? "4.4.1" : reply.enhanced(),
                       std::move(why));
          session.client->Close();
          continue;
        }
        ++attempt.sessions;
        bool temporary = !reply.permanent();
        std::string why;
        if (greeting.code() != 220) {
          why = fmt::format("host {} refused to talk to me: {}", namaddr, greeting.ToString());
          if (greeting.permanent() && settings.skip_5xx_greeting && !final_server) {
            temporary = true;
          }
        } else if (reply.code() == 421 && reply.text().find(client_label) != std::string::npos) {
          // The client's own failure (TLS, lost connection, timeout), not the server's reply.
          why = Localize(reply.text(), client_label, session.relay, namaddr);
        } else {
          why = RemoteReason(namaddr, reply,
                             settings.mode == core::SmtpMode::kLmtp ? "LHLO" : "EHLO");
        }
        std::string dsn =
            reply.enhanced().empty() ? (temporary ? "4.0.0" : "5.0.0") : reply.enhanced();
        if (temporary && dsn.front() != '4') dsn = "4" + dsn.substr(1);
        session.client->Close();
        if (!temporary && final_server) {
          // The last server refused the conversation for good: the recipients bounce
          // (Postfix's smtp_site_fail() on the final server).
          for (std::size_t i : attempt.remaining) {
            RecipientResult& r = attempt.results[i];
            r.status = DeliveryStatus::kBounced;
            r.dsn = dsn;
            r.reason = why;
            r.relay = session.relay;
            r.reply = reply;
            r.remote_host = session.remote_host;
          }
          attempt.remaining.clear();
          attempt.conversation = true;
          co_return;
        }
        attempt.Fail(temporary, dsn, why);
        continue;
      }
      ++attempt.sessions;
      co_await Transact(session, request, settings, final_server, attempt);
      attempt.conversation = true;
      if (!session.client->ready()) {
        session.client->Close();
        continue;
      }
      cache_->Put(attempt.key, std::move(session));
    }
  }
}

asio::awaitable<bool> SmtpDeliveryAgent::Transact(SessionCache::Entry& session,
                                                  const DeliveryRequest& request,
                                                  const SmtpAgentSettings& settings,
                                                  bool final_server, Attempt& attempt) {
  core::SmtpTransaction tx;
  tx.mail = request.mail;
  tx.xforward = request.xforward;
  static const std::string kEmpty;
  tx.message = request.content ? std::string_view(*request.content) : std::string_view(kEmpty);
  for (std::size_t i : attempt.remaining) tx.recipients.push_back(request.recipients[i].rcpt);

  auto start = Clock::now();
  core::SmtpDeliveryResult sent = co_await session.client->Send(tx);
  attempt.transfer += Clock::now() - start;
  if (sent.retry_on_new_connection) {
    session.client->Close();
    co_return false;
  }
  const std::string client_label = session.client->peer_name();
  const std::string namaddr = session.relay.substr(0, session.relay.rfind(']') + 1);
  const bool lmtp = settings.mode == core::SmtpMode::kLmtp;
  const bool peer_dsn = session.client->capabilities().dsn;
  bool any_delivered = std::any_of(sent.replies.begin(), sent.replies.end(),
                                   [](const core::SmtpReply& r) { return r.positive(); });
  std::vector<std::size_t> still;
  for (std::size_t k = 0; k < attempt.remaining.size(); ++k) {
    std::size_t i = attempt.remaining[k];
    const core::SmtpReply& reply = sent.replies[k];
    RecipientResult& r = attempt.results[i];
    r.relay = session.relay;
    // A broken connection gives every unanswered recipient the client's synthetic 421.
    bool synthetic = sent.connection_failed && reply.code() == 421;
    if (reply.positive()) {
      r.status = DeliveryStatus::kDelivered;
      r.dsn = reply.enhanced().empty() ? "2.0.0" : reply.enhanced();
      r.reason = reply.ToString();
      r.reply = reply;
      r.remote_host = session.remote_host;
      r.action = lmtp ? "delivered" : (peer_dsn ? "" : "relayed");
      continue;
    }
    // Which command the refusal answered. The client keeps MAIL's reply and, for SMTP, the
    // reply after the message. LMTP replies after the message are per recipient and the client
    // does not say which phase refused one: when another recipient was delivered the message
    // phase was reached and "end of DATA" is the likelier answer (a heuristic, for the text only).
    std::string command = "RCPT TO";
    if (!sent.mail_reply.empty() && !sent.mail_reply.positive()) {
      command = "MAIL FROM";
    } else if (!lmtp && !sent.data_reply.empty() && reply == sent.data_reply) {
      command = "end of DATA";
    } else if (lmtp && any_delivered) {
      command = "end of DATA";
    }
    std::string reason = synthetic ? Localize(reply.text(), client_label, session.relay, namaddr)
                                   : RemoteReason(namaddr, reply, command);
    std::string dsn = reply.enhanced().empty() ? (reply.permanent() ? "5.0.0" : "4.0.0")
                                               : reply.enhanced();
    if (reply.permanent()) {
      r.status = DeliveryStatus::kBounced;
      r.dsn = dsn;
      r.reason = reason;
      r.reply = reply;
      r.remote_host = session.remote_host;
      continue;
    }
    // Temporary: another host may take it, unless this is the last one.
    if (!synthetic) {
      r.reply = reply;
      r.remote_host = session.remote_host;
    }
    if (final_server) {
      r.status = DeliveryStatus::kDeferred;
      r.dsn = dsn.front() == '4' ? dsn : "4" + dsn.substr(1);
      r.reason = reason;
      continue;
    }
    attempt.Fail(true, dsn, reason);
    still.push_back(i);
  }
  attempt.remaining = std::move(still);
  co_return true;
}

}  // namespace moat::mta
