// dnsmasq_server.cc - see dnsmasq_server.h.
#include "tests/support/dnsmasq_server.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace moat::testing {

std::unique_ptr<DnsmasqServer> DnsmasqServer::Start(const std::vector<std::string>& local_domains,
                                                    const std::vector<std::string>& records) {
  if (!HaveTool("dnsmasq")) {
    ADD_FAILURE() << "dnsmasq not installed (Debian package dnsmasq-base)";
    return nullptr;
  }
  std::unique_ptr<DnsmasqServer> server(new DnsmasqServer());
  // The TCP port was free a moment ago; the UDP one almost always is too. Retry if not.
  for (int attempt = 0; attempt < 5; ++attempt) {
    server->port_ = FreeTcpPort();
    std::vector<std::string> argv = {::access("/usr/sbin/dnsmasq", X_OK) == 0 ? "/usr/sbin/dnsmasq" : "dnsmasq",
                                     "--no-daemon",
                                     "--port=" + std::to_string(server->port_),
                                     "--listen-address=127.0.0.1",
                                     "--bind-interfaces",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--conf-file=/dev/null",
                                     "--pid-file=",
                                     "--user=root",
                                     "--log-facility=-",
                                     "--local-ttl=" + std::to_string(kTtl)};
    for (const auto& domain : local_domains) argv.push_back("--local=/" + domain + "/");
    argv.insert(argv.end(), records.begin(), records.end());
    server->process_ = std::make_unique<Subprocess>(argv, server->dir_.path());
    int port = server->port_;
    auto* process = server->process_.get();
    bool up = WaitUntil([&] { return !process->Running() || WaitForTcpPort(port, {}); },
                        std::chrono::seconds(10));
    if (up && process->Running()) return server;
  }
  ADD_FAILURE() << "dnsmasq did not start: " << server->process_->Stderr();
  return nullptr;
}

DnsmasqServer::~DnsmasqServer() {
  if (process_) process_->Stop(std::chrono::seconds(5));
}

std::string DnsmasqTxtRecord(const std::string& name, const std::string& text) {
  std::string option = "--txt-record=" + name;
  for (size_t at = 0; at < text.size() || at == 0; at += 255) {
    option += "," + text.substr(at, 255);
    if (text.empty()) break;
  }
  return option;
}

}  // namespace moat::testing
