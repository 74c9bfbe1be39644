// filterd_snapshot.cc - Config -> FilterdSnapshot.
#include "filterd/filterd_snapshot.h"

#include <utility>

#include "filterd/basic_stages.h"
#include "filterd/filterd_parameters.h"
#include "filterd/pass_policy.h"

namespace moat::filterd {

ContentFactory BasicContentFactory() {
  return [](const core::Config& config, std::string_view) {
    BankContent content;
    content.stages.push_back(
        std::make_shared<VirusScannedHeaderStage>(config.GetString("virus_scanned_header")));
    content.policy = std::make_shared<PassAllPolicy>();
    return content;
  };
}

const BankContent& FilterdSnapshot::bank(std::string_view name) const {
  auto it = banks.find(name);
  if (it == banks.end()) it = banks.find(kPolicyBanks[0]);
  return it->second;
}

std::shared_ptr<const FilterdSnapshot> BuildFilterdSnapshot(const core::ConfigSource& source,
                                                            const ContentFactory& factory,
                                                            std::uint64_t generation,
                                                            core::ConfigDiagnostics* warnings) {
  return BuildFilterdSnapshot(LoadFilterdConfig(source, warnings), factory, generation);
}

std::shared_ptr<const FilterdSnapshot> BuildFilterdSnapshot(
    std::shared_ptr<const core::Config> config, const ContentFactory& factory,
    std::uint64_t generation) {
  auto snapshot = std::make_shared<FilterdSnapshot>();
  snapshot->generation = generation;
  snapshot->config = config;
  snapshot->settings = ReadFilterdSettings(*config);
  const FilterdSettings& s = snapshot->settings;

  auto received = std::make_shared<ReceivedHeaderStage>(s.myhostname);
  for (std::string_view bank : kPolicyBanks) {
    BankContent content = factory(*config, bank);
    if (!content.policy) {
      throw core::ConfigError(core::SourceLocation{config->directory(), 0},
                              fmt::format("policy bank {}: the content factory gave no policy",
                                          bank));
    }
    for (const auto& stage : content.stages) {
      if (!stage) {
        throw core::ConfigError(core::SourceLocation{config->directory(), 0},
                                fmt::format("policy bank {}: a null stage", bank));
      }
    }
    content.stages.insert(content.stages.begin(), received);
    snapshot->banks.emplace(std::string(bank), std::move(content));
  }

  if (s.dkim_sign && !s.dkim_key_table.empty()) {
    auto keys = DkimKeyStore::Load(s.dkim_key_table, s.dkim_signing_table);
    if (!keys) {
      throw core::ConfigError(config->LocationOf("dkim_key_table"),
                              fmt::format("dkim_key_table: {}", keys.error().message()));
    }
    snapshot->dkim_keys = std::move(*keys);
  }

  auto options = std::make_shared<core::SmtpServerOptions>();
  options->mode = core::SmtpMode::kLmtp;
  options->hostname = s.myhostname;
  options->message_size_limit = s.message_size_limit;
  options->recipient_limit = s.recipient_limit;
  options->command_timeout = s.lmtp_timeout;
  options->data_timeout = s.lmtp_data_timeout;
  options->smtputf8 = true;  // passed through to forward_to, as amavisd-new does
  options->helo_required = true;
  // amavisd-new's SMTP/LMTP server insists on <address>: its clients are MTAs, and a bare
  // address from one means something upstream is broken.
  options->strict_rfc821_envelopes = true;
  snapshot->lmtp_options = std::move(options);
  return snapshot;
}

}  // namespace moat::filterd
