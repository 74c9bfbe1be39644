// filterd_test_helpers.h - what moat-filterd's unit and integration tests share: a filterd.cf for
// a temp dir, test policies and stages to plug into the ContentFactory seam, and an in-process
// SMTP server standing in for the MTA's return listener (core's RecordingHandler: "reject*"
// recipients get 550 5.1.1 at RCPT, "tempfail*" 450 4.2.1).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/smtp_listener.h"
#include "filterd/filterd_parameters.h"
#include "filterd/filterd_snapshot.h"
#include "filterd/policy.h"
#include "filterd/stage.h"
#include "tests/core/smtp_test_helpers.h"
#include "tests/support/test_support.h"

namespace moat::filterd::testing {

// A filterd.cf whose state lives under `dir`, forwarding to 127.0.0.1:forward_port, listening
// on free loopback ports (ListenAddresses() tells which).
inline std::string TestFilterdConf(const std::string& dir, int forward_port, int inbound_port = 0,
                                   int originating_port = 0) {
  return fmt::format(
      "myhostname = filter.test\n"
      "inbound_lmtp_listen = 127.0.0.1:{}\n"
      "originating_lmtp_listen = 127.0.0.1:{}\n"
      "forward_to = 127.0.0.1:{}\n"
      "mynetworks = 127.0.0.0/8 192.0.2.0/24\n"
      "data_directory = {}\n"
      "quarantine_directory = {}/quarantine\n"
      "worker_threads = 2\n"
      "forward_timeout = 10s\n"
      "shutdown_timeout = 10s\n"
      "daemon_user = root\n"
      // DKIM and DMARC lookups go to a loopback port where nothing answers (refused at once:
      // temperror), never to the machine's resolver; tests that need DNS start dnsmasq and
      // set dns_servers again (the later line wins).
      "dns_servers = 127.0.0.1:{}\n",
      inbound_port ? inbound_port : moat::testing::FreeTcpPort(),
      originating_port ? originating_port : moat::testing::FreeTcpPort(), forward_port, dir, dir,
      moat::testing::FreeTcpPort());
}

inline std::shared_ptr<const core::Config> LoadTestConfig(const moat::testing::TempDir& dir,
                                                          int forward_port,
                                                          std::vector<std::string> overrides = {}) {
  dir.WriteFile("filterd.cf", TestFilterdConf(dir.path(), forward_port));
  return LoadFilterdConfig({dir.path(), "filterd.cf", std::move(overrides)});
}

// Every recipient DISCARDed as VIRUS "Test.Quarantine", one copy quarantined.
class QuarantineAllPolicy : public MessagePolicy {
 public:
  Decision Decide(const MessageContext& context) const override {
    Decision d;
    d.content_class = ContentClass::kVirus;
    d.reason = "Test.Quarantine";
    d.quarantine = true;
    d.recipients.assign(context.envelope.recipients.size(), {Destiny::kDiscard, {}, {}});
    return d;
  }
};

// By recipient local part: "discard*" DISCARD, "bounce*" BOUNCE (554 5.7.1), "reject*" REJECT
// with no reply (the default 554 applies), "tag*" PASS with an X-Test-Tag header; others PASS.
class ByRecipientPolicy : public MessagePolicy {
 public:
  Decision Decide(const MessageContext& context) const override {
    Decision d;
    for (const auto& rcpt : context.envelope.recipients) {
      RecipientDecision r;
      const std::string& a = rcpt.recipient;
      if (a.starts_with("discard")) r.destiny = Destiny::kDiscard;
      if (a.starts_with("bounce")) {
        r.destiny = Destiny::kBounce;
        r.reply = core::SmtpReply(554, "5.7.1", "bounced by test policy");
      }
      if (a.starts_with("policyreject")) r.destiny = Destiny::kReject;
      if (a.starts_with("tag")) {
        r.header_edits.push_back({HeaderEdit::Kind::kPrepend, "X-Test-Tag", "tagged", {}});
      }
      d.recipients.push_back(std::move(r));
    }
    return d;
  }
};

// A CPU stage that blocks its worker until Release() (or a deadline), to fill the pool.
class BlockingStage : public Stage {
 public:
  std::string_view name() const override { return "blocking"; }
  core::Status Run(MessageContext&, WorkerResources&) const override {
    std::unique_lock lock(mutex_);
    ++running_;
    wake_.notify_all();
    wake_.wait_for(lock, std::chrono::seconds(30), [this] { return released_; });
    return {};
  }
  void Release() const {
    std::lock_guard lock(mutex_);
    released_ = true;
    wake_.notify_all();
  }
  int running() const {
    std::lock_guard lock(mutex_);
    return running_;
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable wake_;
  mutable bool released_ = false;
  mutable int running_ = 0;
};

// A stage that fails with `code`, under `mode`.
class FailingStage : public Stage {
 public:
  FailingStage(FailureMode mode, core::ErrorCode code = core::ErrorCode::kTempFail)
      : mode_(mode), code_(code) {}
  std::string_view name() const override { return "failing"; }
  FailureMode failure_mode() const override { return mode_; }
  core::Status Run(MessageContext&, WorkerResources&) const override {
    return core::Fail(code_, "engine exploded");
  }

 private:
  FailureMode mode_;
  core::ErrorCode code_;
};

// A factory giving every bank `stages` (after the basic ones) and `policy`.
inline ContentFactory FactoryWith(StageList stages, std::shared_ptr<const MessagePolicy> policy) {
  return [stages, policy](const core::Config& config, std::string_view bank) {
    BankContent content = BasicContentFactory()(config, bank);
    content.stages.insert(content.stages.end(), stages.begin(), stages.end());
    content.policy = policy;
    return content;
  };
}

// The MTA's return listener, in process: core's RecordingHandler on 127.0.0.1:<free port>.
class FakeRelay {
 public:
  FakeRelay() : io_(2), state_(std::make_shared<core::testing::HandlerState>()) {
    state_->allow_xforward = true;
    core::SmtpServerOptions options;
    options.hostname = "relay.test";
    auto state = state_;
    listener_ = std::make_unique<core::SmtpListener>(
        io_.executor(), std::make_shared<core::SmtpServerOptions>(options),
        core::SmtpListenerOptions{},
        [state] { return std::make_unique<core::testing::RecordingHandler>(state); });
    auto status = listener_->Listen(*core::ParseSmtpEndpoint("127.0.0.1:0"));
    if (!status) throw std::runtime_error(status.error().ToString());
    listener_->Start();
    port_ = listener_->local_addresses().front().port;
  }
  ~FakeRelay() { Stop(); }
  void Stop() {
    if (listener_) io_.Run(listener_->Stop(std::chrono::seconds(2)));
    listener_.reset();
  }
  int port() const { return port_; }
  core::testing::HandlerState& state() { return *state_; }
  std::vector<core::testing::ReceivedMessage> Messages() { return state_->Messages(); }

 private:
  core::testing::IoThread io_;
  std::shared_ptr<core::testing::HandlerState> state_;
  std::unique_ptr<core::SmtpListener> listener_;
  int port_ = 0;
};

}  // namespace moat::filterd::testing
