// privileges.cc - giving root up (see privileges.h for the order and why).
#include "core/privileges.h"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace moat::core {

Result<PrivilegeDrop> PrivilegeDrop::Begin(std::string_view user, std::string_view parameter) {
  if (::geteuid() != 0) {
    return PrivilegeDrop(Mode::kNotRoot, std::string(parameter), "", ::geteuid(), ::getegid());
  }
  if (user.empty()) {
    return Fail(ErrorCode::kInvalid, "{} is empty: name the user to run as (or root, on purpose)",
                parameter);
  }
  std::string name(user);
  passwd entry{};
  passwd* found = nullptr;
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(size > 0 ? static_cast<std::size_t>(size) : 16384);
  int error;
  while ((error = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found)) ==
             ERANGE &&
         buffer.size() < (1u << 20)) {
    buffer.resize(buffer.size() * 2);
  }
  if (error != 0) return Fail(ErrnoError(ErrorCode::kIo, "looking up user " + name, error));
  if (found == nullptr) {
    return Fail(ErrorCode::kInvalid,
                "{} = {}: no such user; create it (useradd --system {}) or set {} = root to run "
                "as root on purpose",
                parameter, name, name, parameter);
  }
  if (entry.pw_uid == 0) {
    return PrivilegeDrop(Mode::kStayRoot, std::string(parameter), name, 0, entry.pw_gid);
  }
  PrivilegeDrop drop(Mode::kDrop, std::string(parameter), name, entry.pw_uid, entry.pw_gid);
  // The groups first: setgroups and setegid need an effective uid of 0.
  if (::initgroups(name.c_str(), entry.pw_gid) != 0) {
    return Fail(ErrnoError(ErrorCode::kIo, "initgroups " + name, errno));
  }
  if (::setegid(entry.pw_gid) != 0) {
    return Fail(ErrnoError(ErrorCode::kIo, fmt::format("setegid {}", entry.pw_gid), errno));
  }
  if (::seteuid(entry.pw_uid) != 0) {
    return Fail(ErrnoError(ErrorCode::kIo, fmt::format("seteuid {}", entry.pw_uid), errno));
  }
  return drop;
}

Status PrivilegeDrop::BindAndDrop(const std::function<Status()>& bind) {
  if (mode_ != Mode::kDrop || dropped_) return bind();
  if (::seteuid(0) != 0) return Fail(ErrnoError(ErrorCode::kIo, "seteuid 0", errno));
  Status bound = bind();
  if (::setgid(gid_) != 0) {
    return Fail(ErrnoError(ErrorCode::kIo, fmt::format("setgid {}", gid_), errno));
  }
  if (::setuid(uid_) != 0) {
    return Fail(ErrnoError(ErrorCode::kIo, fmt::format("setuid {}", uid_), errno));
  }
  // A kernel or security module that let root be kept would make every check above a lie.
  if (::setuid(0) == 0 || ::geteuid() == 0 || ::getegid() != gid_) {
    return Fail(ErrorCode::kIo, "could not give up root: the process can still become root");
  }
  dropped_ = true;
  return bound;
}

std::string PrivilegeDrop::running() const {
  switch (mode_) {
    case Mode::kNotRoot:
      return fmt::format("running as uid {} (not started as root: {} does not apply)", uid_,
                         parameter_);
    case Mode::kStayRoot:
      return fmt::format("running as root: {} = {}", parameter_, user_);
    case Mode::kDrop:
      break;
  }
  return fmt::format("running as {} (uid {}, gid {})", user_, uid_, gid_);
}

}  // namespace moat::core
