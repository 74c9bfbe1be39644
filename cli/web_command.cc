// web_command.cc - `moat web`: the quarantine review in a browser.
//
//   moat web [--listen HOST:PORT] [--allow-remote] [--tls-cert FILE --tls-key FILE]
//            [--directory DIR] [--users FILE] [--log-level LEVEL]
//            [--filterd-metrics URL|none] [--mta-metrics URL|none]
//
// Serves the review pages and their JSON API (web_server.h) from this process until SIGINT or
// SIGTERM, reading the quarantine with its own store object (role reviewer, as `moat
// quarantine` does) and releasing over SMTP to filterd.cf's forward_to. Defaults come from
// filterd.cf: web_listen (127.0.0.1:8025), web_users_file, web_allow_remote, web_tls_cert_file,
// web_tls_key_file, web_session_timeout, quarantine_directory, forward_to,
// clamav_database_directory; and main.cf's queue_directory for the dashboard. The dashboard
// also shows the daemons' own counters, read from their /metrics endpoints: the URLs come from
// metrics_listen of filterd.cf and main.cf unless --filterd-metrics / --mta-metrics say
// otherwise.
//
// Loopback only unless told otherwise: an address outside 127.0.0.0/8 and ::1 needs
// --allow-remote (or web_allow_remote = yes) AND a TLS certificate, because passwords and session
// cookies must not cross a network in clear text. Prints the URL on stdout once listening.
// Exit status: 0 after a signal, 1 when it cannot start (files, port), 2 for usage errors.
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <iostream>
#include <thread>

#include "cli/command.h"
#include "cli/quarantine_options.h"
#include "cli/web_metrics.h"
#include "cli/web_server.h"
#include "core/config_value.h"
#include "core/logging.h"
#include "core/smtp_endpoint.h"
#include "quarantine/smtp_message_sender.h"

namespace moat::cli {
namespace {

namespace q = moat::quarantine;

struct WebArgs {
  std::string listen;
  bool allow_remote = false;
  std::string tls_cert, tls_key;
  std::string directory;
  std::string users;
  std::string log_level = "info";
  std::string filterd_metrics;  // URL; "" : from filterd.cf's metrics_listen; "none": off
  std::string mta_metrics;
};

std::string MetricsUrl(const std::string& option, const std::string& metrics_listen) {
  if (option == "none") return "";
  return option.empty() ? MetricsUrlFor(metrics_listen) : option;
}

[[noreturn]] void Exit(int status, const std::string& message) {
  std::cerr << "moat web: " << message << "\n";
  throw CommandExit{status};
}

bool IsLoopback(const std::string& host) {
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

// Waits for SIGINT/SIGTERM on a thread of its own and stops the server. The signals are blocked
// in every other thread (the mask is set before the server's threads exist).
class SignalStopper {
 public:
  explicit SignalStopper(WebServer& server) {
    sigemptyset(&set_);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set_, s);
    sigset_t blocked = set_;
    sigaddset(&blocked, SIGPIPE);  // a browser closing early is EPIPE, never a dead process
    pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
    thread_ = std::thread([this, &server] {
      for (;;) {
        int signal = 0;
        if (sigwait(&set_, &signal) != 0) continue;
        if (signal == SIGHUP) {
          spdlog::info("moat web: SIGHUP: the users file is re-read whenever it changes");
          continue;
        }
        if (!done_) spdlog::info("moat web: signal {}, stopping", signal);
        server.Stop();
        return;
      }
    });
  }
  ~SignalStopper() {
    done_ = true;
    pthread_kill(thread_.native_handle(), SIGTERM);  // wakes the sigwait if no signal came
    thread_.join();
  }

 private:
  sigset_t set_{};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

void RunWeb(const WebArgs& args, const GlobalOptions& global) {
  core::InitLogging({"moat-web", core::LogTarget::kStderr, args.log_level});
  auto settings = LoadQuarantineSettings(global, args.directory);
  if (!settings) {
    Exit(settings.error().code() == core::ErrorCode::kNotFound ? 2 : 1, settings.error().message());
  }

  std::string listen_text = args.listen.empty() ? settings->web_listen : args.listen;
  // Port 0 (any free port, printed once listening) is for tests and scripts.
  bool any_port = listen_text.ends_with(":0");
  auto listen = core::ParseHostPort(any_port ? listen_text.substr(0, listen_text.size() - 1) + "1"
                                             : listen_text);
  if (!listen) Exit(2, "--listen: " + listen.error().message());
  if (any_port) listen->port = 0;
  if (listen->host == "localhost") listen->host = "127.0.0.1";
  std::string cert = args.tls_cert.empty() ? settings->web_tls_cert_file : args.tls_cert;
  std::string key = args.tls_key.empty() ? settings->web_tls_key_file : args.tls_key;
  if (cert.empty() != key.empty()) Exit(2, "TLS needs both a certificate and a key");
  if (!IsLoopback(listen->host)) {
    if (!args.allow_remote && !settings->web_allow_remote) {
      Exit(2, fmt::format("refusing to listen on {}: not a loopback address (pass --allow-remote "
                          "and a TLS certificate to serve other hosts)",
                          listen_text));
    }
    if (cert.empty()) {
      Exit(2, fmt::format("refusing to serve {} without TLS: passwords and session cookies "
                          "would cross the network in clear text (--tls-cert, --tls-key)",
                          listen_text));
    }
  }

  std::string users_file = args.users.empty() ? settings->web_users_file : args.users;
  if (users_file.empty()) {
    Exit(1,
         "no users: set web_users_file in filterd.cf (or --users FILE), a file of "
         "`name role hash` lines (role admin or reviewer)");
  }
  WebUserDirectory users(users_file);
  if (auto loaded = users.Load(); !loaded) Exit(1, loaded.error().message());

  q::StoreOptions store_options;
  store_options.directory = settings->quarantine_directory;
  store_options.role = q::StoreRole::kReviewer;
  auto store = q::QuarantineStore::Open(store_options);
  if (!store) Exit(1, settings->quarantine_directory + ": " + store.error().message());

  auto peer = core::ParseSmtpEndpoint(settings->forward_to);
  if (!peer) Exit(1, "forward_to: " + peer.error().message());
  q::SmtpMessageSender sender({.peer = *peer, .helo_name = settings->forward_helo_name});

  WebServerOptions options;
  options.host = listen->host;
  options.port = listen->port;
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  options.sessions.idle_timeout = settings->web_session_timeout;
  options.dashboard = {settings->queue_directory, settings->clamav_database_directory,
                       MetricsUrl(args.filterd_metrics, settings->filterd_metrics_listen),
                       MetricsUrl(args.mta_metrics, settings->mta_metrics_listen)};
  WebServer server(std::move(options), **store, sender, users);
  if (auto bound = server.Bind(); !bound) Exit(1, bound.error().message());
  {
    SignalStopper stopper(server);
    std::cout << "moat web: serving " << server.url() << " (quarantine "
              << settings->quarantine_directory << ", releases to " << settings->forward_to << ")"
              << std::endl;
    spdlog::info("moat web: serving {} for the quarantine in {}", server.url(),
                 settings->quarantine_directory);
    server.Run();
  }
}

}  // namespace

void RegisterWebCommand(CLI::App& app, const GlobalOptions& global) {
  auto args = std::make_shared<WebArgs>();
  CLI::App* web = app.add_subcommand("web", "Review held mail in a browser (loopback by default)");
  web->add_option("--listen", args->listen, "HOST:PORT to serve (default: web_listen)");
  web->add_flag("--allow-remote", args->allow_remote,
                "Allow an address other than loopback (needs TLS)");
  web->add_option("--tls-cert", args->tls_cert, "PEM certificate chain: serve HTTPS");
  web->add_option("--tls-key", args->tls_key, "PEM private key of --tls-cert");
  web->add_option("--directory", args->directory,
                  "Quarantine directory (default: filterd.cf's quarantine_directory)");
  web->add_option("--users", args->users, "Users file (default: web_users_file)");
  web->add_option("--filterd-metrics", args->filterd_metrics,
                  "moat-filterd's /metrics URL for the dashboard (default: from filterd.cf's "
                  "metrics_listen; none: off)");
  web->add_option("--mta-metrics", args->mta_metrics,
                  "moat-mta's /metrics URL for the dashboard (default: from main.cf's "
                  "metrics_listen; none: off)");
  web->add_option("--log-level", args->log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  web->callback([args, &global] { RunWeb(*args, global); });
}

}  // namespace moat::cli
