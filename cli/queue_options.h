// queue_options.h - where `moat queue` finds the MTA's queue: main.cf's queue_directory in the
// -c directory, with the -o overrides (`-o queue_directory=/var/spool/moat` also works without a
// main.cf), resolved as moat-mta resolves it (relative to the configuration directory).
//
// Only queue_directory matters here: other problems of main.cf are `moat check-config`'s to
// report, so they do not stop a queue listing. Errors: kNotFound when there is neither a main.cf
// nor a -o queue_directory (the registry default is not guessed at, so a mistyped -c is an error
// rather than an empty queue); kInvalid when the value cannot be worked out. Thread-safe.
#pragma once

#include <string>

#include "cli/command.h"
#include "core/error.h"

namespace moat::cli {

core::Result<std::string> LoadQueueDirectory(const GlobalOptions& global);

}  // namespace moat::cli
