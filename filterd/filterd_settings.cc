// filterd_settings.cc - filterd.cf parameters -> FilterdSettings.
#include "filterd/filterd_settings.h"

#include <algorithm>
#include <thread>

#include "filterd/filterd_parameters.h"

namespace moat::filterd {
namespace {

using std::chrono::milliseconds;

[[noreturn]] void Throw(const core::Config& config, std::string_view name,
                        const std::string& message) {
  throw core::ConfigError(config.LocationOf(name), fmt::format("{}: {}", name, message));
}

core::SmtpEndpoint Endpoint(const core::Config& config, std::string_view name) {
  auto endpoint = core::ParseSmtpEndpoint(config.GetString(name));
  if (!endpoint) Throw(config, name, endpoint.error().message());
  if (endpoint->kind == core::SmtpEndpoint::Kind::kTcp && endpoint->port.empty()) {
    Throw(config, name, "a port is required");
  }
  return *endpoint;
}

milliseconds Millis(const core::Config& config, std::string_view name) {
  return std::chrono::duration_cast<milliseconds>(config.GetTime(name));
}

// "refile:x", "file:x" or "x", with x resolved against the configuration directory.
std::string ResolveTablePath(const core::Config& config, const std::string& spec) {
  if (spec.empty()) return spec;
  for (std::string_view prefix : {"refile:", "file:"}) {
    if (spec.starts_with(prefix)) {
      return std::string(prefix) + config.ResolvePath(spec.substr(prefix.size()));
    }
  }
  return config.ResolvePath(spec);
}

DkimSignOptions ReadDkimOptions(const core::Config& config) {
  DkimSignOptions options;
  std::string canon = config.GetString("dkim_canonicalization");
  std::string header = canon.substr(0, canon.find('/'));
  std::string body = canon.find('/') == std::string::npos ? "simple" : canon.substr(canon.find('/') + 1);
  auto parse = [](const std::string& c) {
    return c == "simple" ? DkimCanonicalization::kSimple : DkimCanonicalization::kRelaxed;
  };
  options.header_canonicalization = parse(header);
  options.body_canonicalization = parse(body);
  std::vector<std::string> headers = config.GetList("dkim_signed_headers");
  for (std::string& h : headers) {
    std::transform(h.begin(), h.end(), h.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  }
  if (std::find(headers.begin(), headers.end(), "from") == headers.end()) {
    headers.insert(headers.begin(), "from");  // RFC 6376 5.4: From must be signed
  }
  options.headers = std::move(headers);
  auto ttl = config.GetTime("dkim_signature_ttl");
  if (ttl.count() > 0) options.lifetime = ttl;
  return options;
}

}  // namespace

FilterdSettings ReadFilterdSettings(const core::Config& config) {
  FilterdSettings s;
  s.myhostname = config.GetString("myhostname");
  for (std::string_view bank : kPolicyBanks) {
    std::string name = fmt::format("{}_lmtp_listen", bank);
    if (config.GetString(name).empty()) continue;
    s.listeners.push_back(BankListener{std::string(bank), Endpoint(config, name)});
  }
  if (s.listeners.empty()) {
    Throw(config, "inbound_lmtp_listen", "no LMTP listener configured (inbound and originating "
                                         "are both empty)");
  }
  for (size_t i = 0; i < s.listeners.size(); ++i) {
    for (size_t j = i + 1; j < s.listeners.size(); ++j) {
      if (s.listeners[i].endpoint == s.listeners[j].endpoint) {
        Throw(config, fmt::format("{}_lmtp_listen", s.listeners[j].bank),
              fmt::format("same address as {}_lmtp_listen", s.listeners[i].bank));
      }
    }
  }
  s.forward_to = Endpoint(config, "forward_to");
  s.forward_helo_name = config.GetString("forward_helo_name");
  if (s.forward_helo_name.empty()) s.forward_helo_name = s.myhostname;
  if (!config.GetString("metrics_listen").empty()) {
    s.metrics_listen = Endpoint(config, "metrics_listen");
    if (s.metrics_listen->kind != core::SmtpEndpoint::Kind::kTcp) {
      Throw(config, "metrics_listen", "must be host:port");
    }
  }

  core::TableOpenOptions table_options;
  table_options.base_directory = config.absolute_directory();
  auto networks = core::NetworkList::Parse(config.GetString("mynetworks"), table_options);
  if (!networks) Throw(config, "mynetworks", networks.error().message());
  s.mynetworks = std::make_shared<const core::NetworkList>(std::move(*networks));

  s.message_size_limit = config.GetSize("message_size_limit");
  s.recipient_limit = static_cast<std::size_t>(config.GetInt("lmtp_recipient_limit"));
  s.max_sessions = static_cast<std::size_t>(config.GetInt("max_sessions"));
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  int64_t workers = config.GetInt("worker_threads");
  if (workers < 0) Throw(config, "worker_threads", "must be 0 (one per core) or more");
  s.worker_threads = workers == 0 ? cores : static_cast<unsigned>(std::min<int64_t>(workers, 1024));
  int64_t queue = config.GetInt("worker_queue_limit");
  if (queue < 0) Throw(config, "worker_queue_limit", "must be 0 (automatic) or more");
  // Automatic: one waiting message per possible session, so a full pool means more work than
  // the listeners admit at once (amavis bounds this with $max_servers alone).
  s.worker_queue_limit = queue == 0 ? std::max<std::size_t>(2 * s.worker_threads,
                                                            s.max_sessions * s.listeners.size())
                                    : static_cast<std::size_t>(queue);
  int64_t io = config.GetInt("io_threads");
  if (io < 0) Throw(config, "io_threads", "must be 0 (automatic) or more");
  s.io_threads = io == 0 ? 1 : static_cast<unsigned>(std::min<int64_t>(io, 256));

  s.lmtp_timeout = Millis(config, "lmtp_timeout");
  s.lmtp_data_timeout = Millis(config, "lmtp_data_timeout");
  milliseconds reply = Millis(config, "forward_timeout");
  core::SmtpClientTimeouts& t = s.forward_timeouts;
  t.connect = Millis(config, "forward_connect_timeout");
  t.helo = t.starttls = t.auth = t.xforward = t.mail = t.rcpt = t.data_init = t.data_xfer = reply;
  t.rset = std::min(reply, milliseconds(20'000));
  t.quit = std::min(reply, milliseconds(10'000));
  t.data_done = Millis(config, "forward_data_done_timeout");
  s.forward_reuse_time_limit = Millis(config, "forward_connection_reuse_time_limit");
  s.shutdown_timeout = Millis(config, "shutdown_timeout");

  s.quarantine_directory = config.GetPath("quarantine_directory");
  s.quarantine_retention = config.GetTime("quarantine_retention");
  s.quarantine_expiry_interval = config.GetTime("quarantine_expiry_interval");
  if (s.quarantine_expiry_interval.count() <= 0) {
    Throw(config, "quarantine_expiry_interval", "must be at least 1s");
  }

  s.virus_scanned_header = config.GetString("virus_scanned_header");

  s.dkim_sign = config.GetBool("dkim_sign");
  std::string key_table = config.GetString("dkim_key_table");
  std::string signing_table = config.GetString("dkim_signing_table");
  if (key_table.empty() != signing_table.empty()) {
    Throw(config, key_table.empty() ? "dkim_key_table" : "dkim_signing_table",
          "dkim_key_table and dkim_signing_table go together");
  }
  s.dkim_key_table = key_table.empty() ? "" : config.ResolvePath(key_table);
  s.dkim_signing_table = ResolveTablePath(config, signing_table);
  s.dkim_options = ReadDkimOptions(config);

  s.log_target = config.GetString("log_target");
  s.log_level = config.GetString("log_level");
  s.syslog_name = config.GetString("syslog_name");
  return s;
}

}  // namespace moat::filterd
