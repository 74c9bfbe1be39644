// daemon_content.cc - the content moat-filterd runs (see daemon_content.h).
#include "filterd/daemon_content.h"

#include <mutex>
#include <string>

#include "core/config_error.h"
#include "filterd/content_factory.h"
#include "filterd/content_resources.h"

namespace moat::filterd {

struct DaemonContent::State {
  mutable std::mutex mutex;
  std::shared_ptr<scanners::ClamavService> clamav;  // started once, shared by every snapshot
};

std::shared_ptr<DaemonContent::State> DaemonContent::MakeState() {
  return std::make_shared<State>();
}

std::shared_ptr<scanners::ClamavService> DaemonContent::clamav() const {
  std::lock_guard lock(state_->mutex);
  return state_->clamav;
}

ContentFactory DaemonContent::Factory() {
  return [state = state_](const core::Config& config, std::string_view bank) -> BankContent {
    ContentResources resources;
    if (AnyBankChecks(config, "virus")) {
      std::lock_guard lock(state->mutex);
      if (!state->clamav) {
        auto started = StartClamav(config);
        if (!started) {
          throw core::ConfigError(config.LocationOf("clamav_database_directory"),
                                  started.error().ToString());
        }
        state->clamav = std::move(*started);
      }
      resources.clamav = state->clamav;
    }
    if (AnyBankChecks(config, "spam")) resources.rules = LoadRuleSet(config);
    resources.dns = NewDnsResolverProvider(config);
    ContentPipeline pipeline = BuildContent(config, bank, resources);
    return BankContent{std::move(pipeline.stages), std::move(pipeline.policy)};
  };
}

}  // namespace moat::filterd
