// scan_command.cc - `moat scan`: the filter's content pipeline offline, on one message.
//
//   moat scan FILE [--json] [--originating | --bank NAME] [--sender ADDR] [--rcpt ADDR]...
//                  [--client ADDR]
//
// Reads FILE ("-" for standard input) and runs exactly what moat-filterd runs for a message of
// the policy bank (default inbound; --originating = --bank originating): DKIM verification and
// DMARC (inbound, against dns_servers), decomposition, header checks, ClamAV, attachment-type
// rules, spam rules, then the bank's policy. It prints the parts tree, every finding with the
// part it came from, what each banned rule was applied to, the DKIM results, the SPF results the
// MTA recorded (the Received-SPF fields above the topmost Received field, as moat-filterd trusts
// them) and the DMARC outcome (policy, alignment, what dmarc_*_destiny does with it), the ClamAV
// database (signature count, version), the score and the decision for each recipient with the
// header edits a passed copy would get - or, with --json, one JSON object (fields in the README,
// "moat scan --json"; filterd/scan_report.h, the "spf" and "dmarc" objects in
// filterd/dmarc_report.h). To see DMARC as the daemon would, scan the message as the MTA handed
// it over (with its Received-SPF and Received fields) and give the client with --client: a
// client in mynetworks is never subject to a DMARC destiny.
//
// Configuration: filterd.cf from -c DIR with the -o overrides. ClamAV loads from
// clamav_database_directory (use -o bypass_virus_checks=yes where there is none). Nothing is
// quarantined, signed or sent. (`--output FILE` for the message as it would be reinjected needs
// the daemon's finishing steps and is not offered yet.)
//
// Exit status: 0 scanned (whatever the verdict); 1 the message or the configuration could not be
// read, ClamAV did not load, or a stage failed so that moat-filterd would defer the message (the
// report is still printed); 2 usage.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>

#include <fmt/format.h>

#include "cli/command.h"
#include "filterd/content_factory.h"
#include "filterd/content_resources.h"
#include "filterd/filterd_parameters.h"
#include "filterd/scan_report.h"
#include "filterd/scan_runner.h"

namespace moat::cli {
namespace {

struct ScanArgs {
  std::string file;
  bool json = false;
  bool originating = false;
  std::string bank;
  std::string sender;
  std::vector<std::string> recipients;
  std::string client;
};

int Scan(const GlobalOptions& global, const ScanArgs& args) {
  std::string message;
  if (args.file == "-") {
    message.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(args.file, std::ios::binary);
    if (!in) {
      std::cerr << "moat scan: cannot read " << args.file << "\n";
      return 1;
    }
    message.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  core::ConfigDiagnostics warnings;
  auto config =
      filterd::LoadFilterdConfig({global.config_directory, "filterd.cf", global.overrides},
                                 &warnings);
  for (const core::ConfigDiagnostic& d : warnings) std::cerr << d.ToString() << "\n";

  std::string bank = !args.bank.empty() ? args.bank : args.originating ? "originating" : "inbound";
  auto resources = filterd::LoadContentResources(*config);
  if (!resources) {
    std::cerr << "moat scan: " << resources.error().message() << "\n";
    return 1;
  }
  filterd::ContentPipeline pipeline = filterd::BuildContent(*config, bank, *resources);

  filterd::ScanRequest request;
  request.message = std::move(message);
  request.sender = args.sender;
  request.recipients = args.recipients;
  request.client_address = args.client;
  filterd::WorkerResources worker;
  filterd::ScanResult result = filterd::RunScan(std::move(request), pipeline, worker);

  std::cout << (args.json ? filterd::ScanReportJson(result) + "\n"
                          : filterd::ScanReportText(result));
  return result.tempfail ? 1 : 0;
}

}  // namespace

void RegisterScanCommand(CLI::App& app, const GlobalOptions& global) {
  auto args = std::make_shared<ScanArgs>();
  CLI::App* scan = app.add_subcommand(
      "scan", "Run the content filter's pipeline on one message and show the decision trace");
  scan->add_option("file", args->file, "The message (- for standard input)")->required();
  scan->add_flag("--json", args->json, "Print one JSON object (fields in the README)");
  scan->add_flag("--originating", args->originating, "Use the originating policy bank");
  scan->add_option("--bank", args->bank, "Policy bank (inbound, originating)")
      ->type_name("NAME");
  scan->add_option("--sender", args->sender, "Envelope sender (MAIL FROM)")->type_name("ADDR");
  scan->add_option("--rcpt", args->recipients, "Envelope recipient (repeatable)")
      ->type_name("ADDR");
  scan->add_option("--client", args->client,
                   "Original client address (XFORWARD ADDR; in mynetworks: no DMARC destiny)")
      ->type_name("ADDR");
  scan->callback([&global, args] { throw CommandExit{Scan(global, *args)}; });
}

}  // namespace moat::cli
