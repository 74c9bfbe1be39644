// moat-filterd - the content filter of the Moat mail gateway.
//
// NAME
//   moat-filterd - LMTP content filter (ClamAV, banned attachments, rules, DKIM, quarantine)
//
// SYNOPSIS
//   moat-filterd [-c DIR] [-o name=value]... [--check]
//   moat-filterd --version | --help
//
// DESCRIPTION
//   moat-filterd takes mail from the MTA over LMTP, runs the content checks of the message's
//   policy bank, and hands what passes back to the MTA over SMTP (forward_to, the MTA's return
//   listener), like amavisd-new behind Postfix. It answers each recipient only once the MTA
//   accepted that recipient's copy, or the quarantine copy is durable and the message is
//   discarded, or the policy refused it on purpose; anything else is a 4xx, so the MTA keeps
//   the message and retries.
//
//   Policy banks: mail arriving on inbound_lmtp_listen uses the "inbound" bank, mail on
//   originating_lmtp_listen - or with an XFORWARD client address in mynetworks - the
//   "originating" bank, which DKIM-signs.
//
//   It runs in the foreground and logs to stderr (or syslog: log_target). One summary line per
//   message, amavis style: ID, verdict, action, bank, client, envelope, Message-ID, size,
//   queued_as of the reinjection, elapsed ms.
//
//   With metrics_listen = host:port it serves Prometheus text metrics at
//   http://host:port/metrics (messages and bytes by verdict and policy bank, stage latencies,
//   reinjection failures, ClamAV database, sessions; see the README's "Metrics").
//
//   -c DIR          configuration directory (default /etc/moat): DIR/filterd.cf
//   -o name=value   override a filterd.cf parameter (repeatable)
//   --check         check the configuration, print every warning, exit 0 (or 1 on an error)
//
//   Started as root, it becomes daemon_user (default moat) before opening its state, taking
//   root's ids back only to bind the listeners, and then gives root up for good.
//
//   Signals: SIGHUP reloads the configuration in the background (a bad one is logged and the
//   running one stays); SIGTERM and SIGINT stop accepting connections, finish the transactions
//   in flight (at most shutdown_timeout) and exit 0.
//
//   A configuration error is printed as "file:line: error: message" and the exit status is 1.
//
// CONFIGURATION
//   filterd.cf in main.cf syntax (`moat config show --filterd -d --doc` lists the parameters).
//   Relative paths resolve against DIR. conf/postfix/ shows how to put it behind Postfix.
//
// SEE ALSO
//   moat(1) check-config, config show --filterd, quarantine; amavisd-new(8); Postfix
//   FILTER_README, XFORWARD_README
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/config_error.h"
#include "core/config_version.h"
#include "core/logging.h"
#include "core/privileges.h"
#include "filterd/daemon_content.h"
#include "filterd/filter_daemon.h"
#include "filterd/filterd_parameters.h"

int main(int argc, char** argv) {
  CLI::App app{"moat-filterd - content filter of the Moat mail gateway (LMTP in, SMTP out)."};
  std::string directory = "/etc/moat";
  std::vector<std::string> overrides;
  bool check = false;
  app.add_option("-c", directory, "Configuration directory (filterd.cf)")->type_name("DIR");
  app.add_option("-o", overrides, "Override a filterd.cf parameter (repeatable)")
      ->type_name("name=value")
      ->allow_extra_args(false);
  app.add_flag("--check", check, "Check the configuration, print every warning and exit");
  app.set_version_flag("--version", fmt::format("moat-filterd {}", moat::core::kMoatVersion));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  ::signal(SIGPIPE, SIG_IGN);

  moat::core::ConfigSource source{directory, "filterd.cf", overrides};
  try {
    moat::core::ConfigDiagnostics warnings;
    auto config = moat::filterd::LoadFilterdConfig(source, &warnings);
    for (const moat::core::ConfigDiagnostic& d : warnings) fmt::print(stderr, "{}\n", d.ToString());
    if (check) return 0;
    moat::core::LogOptions log;
    log.program = config->GetString("syslog_name");
    log.target = config->GetString("log_target") == "syslog" ? moat::core::LogTarget::kSyslog
                                                              : moat::core::LogTarget::kStderr;
    log.level = config->GetString("log_level");
    moat::core::InitLogging(log);

    // Started as root: ClamAV and the quarantine are opened as daemon_user already, root comes
    // back only to bind the listeners.
    auto privileges =
        moat::core::PrivilegeDrop::Begin(config->GetString("daemon_user"), "daemon_user");
    if (!privileges) {
      spdlog::critical("{}", privileges.error().message());
      return 1;
    }
    spdlog::info("{}", privileges->running());
    moat::filterd::DaemonContent content;
    moat::filterd::FilterDaemon daemon(
        {source, content.Factory(), [&content] { return content.clamav(); },
         [&](const std::function<moat::core::Status()>& bind) {
           return privileges->BindAndDrop(bind);
         }});
    return daemon.Run();
  } catch (const moat::core::ConfigError& e) {
    fmt::print(stderr, "{}: error: {}\n", e.location().ToString(), e.message());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "moat-filterd: fatal: {}\n", e.what());
    return 1;
  }
}
