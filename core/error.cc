// error.cc - names and formatting for core::Error.
#include "core/error.h"

#include <cstring>

namespace moat::core {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kTempFail:
      return "temporary failure";
    case ErrorCode::kPermFail:
      return "permanent failure";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kInvalid:
      return "invalid";
    case ErrorCode::kCorrupt:
      return "corrupt";
    case ErrorCode::kIo:
      return "I/O error";
  }
  return "unknown error";
}

std::string Error::ToString() const { return fmt::format("{}: {}", ErrorCodeName(code_), message_); }

Error Error::WithContext(std::string_view context) const& {
  return Error(code_, fmt::format("{}: {}", context, message_));
}

Error Error::WithContext(std::string_view context) && {
  message_ = fmt::format("{}: {}", context, message_);
  return std::move(*this);
}

Error ErrnoError(ErrorCode code, std::string_view what, int errno_value) {
  return Error(code, fmt::format("{}: {}", what, std::strerror(errno_value)));
}

}  // namespace moat::core
