// privileges.h - a daemon started as root gives root up: moat-mta becomes main.cf's mail_owner,
// moat-filterd filterd.cf's daemon_user (both "moat" by default), as Postfix's daemons become
// mail_owner.
//
//   auto drop = core::PrivilegeDrop::Begin(user, "mail_owner");    // configuration loaded
//   ... open the queue or the quarantine, load databases ...         // as the user already
//   auto bound = drop->BindAndDrop([&] { return server.Start(); }); // root again only to bind
//
// Begin(): started by anyone but root, nothing happens now or later (running() says who we are).
// Started as root:
//   - the account is looked up: a missing one is kInvalid and the daemon must refuse to start
//     (running as root by accident is worse than not running);
//   - a user whose uid is 0 ("root") means "stay root", on purpose: nothing changes, and
//     running() says so for the start-up log line;
//   - otherwise the supplementary groups become the user's (initgroups) and the *effective* gid
//     and uid become the user's, while the real and saved ids stay 0. Whatever the daemon
//     creates while starting (queue directories, the quarantine's SQLite database and its WAL)
//     thus belongs to the user who writes it later: a daemon that created its state as root and
//     dropped privileges afterwards would lock itself out of its own files.
// BindAndDrop(bind): effective uid back to 0, bind() (listeners on ports below 1024 need it),
// then setgid and setuid to the user for good (real, effective and saved ids) and a check that
// setuid(0) fails now. glibc applies set*id calls to every thread of the process, so threads
// started earlier change with it; setuid from 0 without PR_SET_KEEPCAPS also empties the
// permitted capability set, so nothing of root is left. When not started as root it just
// calls bind().
//
// Errors: kInvalid for a missing or empty user; kIo when the system refuses an id change (the
// daemon must exit: a half-dropped process must not serve mail). BindAndDrop() returns bind()'s
// error when binding fails (ids are dropped all the same). Call both from main()'s thread only,
// before the daemon serves anything.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace moat::core {

class PrivilegeDrop {
 public:
  // `parameter` names the setting in messages ("mail_owner", "daemon_user").
  static Result<PrivilegeDrop> Begin(std::string_view user, std::string_view parameter);

  Status BindAndDrop(const std::function<Status()>& bind);

  // For the start-up log: "running as moat (uid 998, gid 998)", "running as root: mail_owner
  // = root", "running as uid 1000 (not started as root: mail_owner does not apply)".
  std::string running() const;

 private:
  enum class Mode { kNotRoot, kStayRoot, kDrop };
  PrivilegeDrop(Mode mode, std::string parameter, std::string user, uid_t uid, gid_t gid)
      : mode_(mode),
        parameter_(std::move(parameter)),
        user_(std::move(user)),
        uid_(uid),
        gid_(gid) {}

  Mode mode_;
  std::string parameter_;
  std::string user_;
  uid_t uid_;
  gid_t gid_;
  bool dropped_ = false;
};

}  // namespace moat::core
