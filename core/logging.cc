// logging.cc - spdlog sinks for stderr and syslog.
#include "core/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <syslog.h>

namespace moat::core {

void InitLogging(const LogOptions& options) {
  std::shared_ptr<spdlog::logger> logger;
  if (options.target == LogTarget::kSyslog) {
    logger = std::make_shared<spdlog::logger>(
        options.program, std::make_shared<spdlog::sinks::syslog_sink_mt>(
                             options.program, LOG_PID, LOG_MAIL, /*enable_formatting=*/false));
    logger->set_pattern("%v");
  } else {
    logger = std::make_shared<spdlog::logger>(
        options.program, std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_pattern(fmt::format("%Y-%m-%dT%H:%M:%S.%e {}[%P]: %l: %v", options.program));
  }
  logger->set_level(spdlog::level::from_str(options.level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace moat::core
