// stage.cc - defaults for the Stage interface: a stage that forgot to implement its kind fails
// loudly (an error, so its failure mode applies) instead of passing mail unexamined.
#include "filterd/stage.h"

namespace moat::filterd {

core::Status Stage::Run(MessageContext&, WorkerResources&) const {
  return core::Fail(core::ErrorCode::kInvalid, "stage {} has no synchronous Run()", name());
}

asio::awaitable<core::Status> Stage::RunAsync(MessageContext&) const {
  core::Status status =
      core::Fail(core::ErrorCode::kInvalid, "stage {} has no asynchronous RunAsync()", name());
  co_return status;
}

}  // namespace moat::filterd
