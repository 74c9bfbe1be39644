// web_auth_test.cc - password hashes (against Python's hashlib, an implementation no one here
// wrote), the users file, sessions with their CSRF tokens, and the login rate limiter.
#include "cli/web_auth.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <set>

#include "cli/web_login_limiter.h"
#include "cli/web_session.h"
#include "tests/support/test_support.h"

namespace moat::cli {
namespace {

using namespace std::chrono_literals;

TEST(WebPasswordTest, HashThenVerify) {
  std::string hash = HashPassword("correct horse", 2000);
  EXPECT_TRUE(hash.starts_with("$pbkdf2-sha256$2000$")) << hash;
  EXPECT_TRUE(CheckPasswordHash(hash).has_value());
  EXPECT_TRUE(VerifyPassword("correct horse", hash));
  EXPECT_FALSE(VerifyPassword("correct horse ", hash));
  EXPECT_FALSE(VerifyPassword("", hash));
  EXPECT_NE(HashPassword("correct horse", 2000), hash);  // a fresh salt each time
}

// A hash computed by Python's hashlib.pbkdf2_hmac verifies here, and ours verifies there.
TEST(WebPasswordTest, AgreesWithPythonHashlib) {
  if (!testing::HaveTool(testing::kSystemPython)) GTEST_SKIP() << "no /usr/bin/python3";
  const char* script = R"(
import base64, hashlib, sys
salt = b"0123456789abcdef"
dk = hashlib.pbkdf2_hmac("sha256", "pässwörd".encode(), salt, 3000)
print("$pbkdf2-sha256$3000$%s$%s" % (base64.b64encode(salt).decode().rstrip("="),
                                     base64.b64encode(dk).decode()))
line = sys.stdin.read().strip()
_, scheme, rounds, s, h = line.split("$")
ok = hashlib.pbkdf2_hmac("sha256", b"from c++", base64.b64decode(s + "=" * (-len(s) % 4)),
                         int(rounds)) == base64.b64decode(h + "=" * (-len(h) % 4))
print("ok" if ok else "mismatch")
)";
  testing::CommandOptions options;
  options.stdin_data = HashPassword("from c++", 1500) + "\n";
  auto run = testing::RunCommand({testing::kSystemPython, "-I", "-c", script}, options);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string python_hash = run.out.substr(0, run.out.find('\n'));
  EXPECT_TRUE(VerifyPassword("pässwörd", python_hash)) << python_hash;
  EXPECT_FALSE(VerifyPassword("passwörd", python_hash));
  EXPECT_NE(run.out.find("\nok\n"), std::string::npos) << run.out;
}

TEST(WebPasswordTest, MalformedHashesAreRefusedNotCrashes) {
  const std::string good = HashPassword("x", 1000);
  const std::string salt_and_hash = good.substr(good.find('$', 16));
  for (std::string bad :
       {std::string(""), std::string("plain"), std::string("$pbkdf2-sha256$"),
        std::string("$pbkdf2-sha1$1000") + salt_and_hash,
        std::string("$pbkdf2-sha256$999") + salt_and_hash,
        std::string("$pbkdf2-sha256$1e6") + salt_and_hash,
        std::string("$pbkdf2-sha256$1000000000") + salt_and_hash,
        std::string("$pbkdf2-sha256$1000$c2FsdA$") + "AAAA",  // short salt/hash
        good + "$extra", good.substr(0, good.size() - 4),
        std::string("$pbkdf2-sha256$1000$!!!!!!!!!!!$") + good.substr(good.rfind('$') + 1)}) {
    EXPECT_FALSE(CheckPasswordHash(bad).has_value()) << bad;
    EXPECT_FALSE(VerifyPassword("x", bad)) << bad;
  }
}

TEST(WebPasswordTest, TokensAreRandomAndCompareExactly) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(RandomToken());
  EXPECT_EQ(seen.size(), 100u);
  std::string token = *seen.begin();
  EXPECT_EQ(token.size(), 43u);  // 32 bytes, unpadded base64url
  EXPECT_EQ(
      token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
  EXPECT_TRUE(TokensEqual(token, token));
  EXPECT_FALSE(TokensEqual(token, token.substr(1)));
  EXPECT_FALSE(TokensEqual("", ""));
  std::string other = token;
  other.back() = other.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(TokensEqual(token, other));
}

TEST(WebUsersFileTest, ParsesUsersAndNamesTheBadLine) {
  std::string hash = HashPassword("pw", 1000);
  auto users = ParseUsersFile(
      "# users\n\nalice admin " + hash + "\r\n\tbob\treviewer\t" + hash + "  \n", "web_users");
  ASSERT_TRUE(users) << users.error().ToString();
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].name, "alice");
  EXPECT_EQ((*users)[0].role, WebRole::kAdmin);
  EXPECT_EQ((*users)[1].name, "bob");
  EXPECT_EQ((*users)[1].role, WebRole::kReviewer);

  struct Case {
    std::string text;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"alice admin\n", "web_users:1: expected `name role hash`"},
           {"\nalice root " + hash + "\n", "web_users:2: role must be admin or reviewer"},
           {"al<ice admin " + hash, "web_users:1: user name"},
           {"alice admin $pbkdf2-sha256$10$x$y", "web_users:1: password hash iterations"},
           {"a admin " + hash + "\na reviewer " + hash, "web_users:2: user 'a' is listed twice"},
       }) {
    auto parsed = ParseUsersFile(c.text, "web_users");
    ASSERT_FALSE(parsed) << c.text;
    EXPECT_EQ(parsed.error().code(), core::ErrorCode::kInvalid);
    EXPECT_TRUE(parsed.error().message().starts_with(c.message)) << parsed.error().message();
  }
}

TEST(WebUsersFileTest, DirectoryReloadsOnChangeAndRefusesWritableFiles) {
  testing::TempDir dir;
  std::string path = dir.WriteFile("users", "alice admin " + HashPassword("one", 1000) + "\n");
  ::chmod(path.c_str(), 0600);
  WebUserDirectory users(path);
  ASSERT_TRUE(users.Load());
  ASSERT_TRUE(users.Find("alice"));
  EXPECT_FALSE(users.Find("bob"));

  dir.WriteFile("users", "alice admin " + HashPassword("one", 1000) + "\nbob reviewer " +
                             HashPassword("two", 1000) + "\n");
  auto bob = users.Find("bob");
  ASSERT_TRUE(bob);
  EXPECT_TRUE(VerifyPassword("two", bob->password_hash));

  // A broken edit keeps the users that worked.
  dir.WriteFile("users", "bob superuser xyz\n");
  EXPECT_TRUE(users.Find("bob"));

  ::chmod(path.c_str(), 0622);
  WebUserDirectory writable(path);
  auto loaded = writable.Load();
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message().find("writable by group or others"), std::string::npos);

  WebUserDirectory missing(dir.Path("nope"));
  EXPECT_EQ(missing.Load().error().code(), core::ErrorCode::kNotFound);
}

class FakeClock {
 public:
  WebClock::time_point now = WebClock::time_point(std::chrono::hours(500'000));
  std::function<WebClock::time_point()> fn() {
    return [this] { return now; };
  }
};

TEST(WebSessionTest, SessionsExpireWhenIdleAndAfterTheirLifetime) {
  FakeClock clock;
  SessionStore sessions({.idle_timeout = 30min, .absolute_timeout = 2h, .max_sessions = 10},
                        clock.fn());
  std::string token = sessions.Create("alice", WebRole::kAdmin);
  auto session = sessions.Touch(token);
  ASSERT_TRUE(session);
  EXPECT_EQ(session->user, "alice");
  EXPECT_EQ(session->csrf_token.size(), 43u);
  EXPECT_NE(session->csrf_token, token);

  for (int i = 0; i < 4; ++i) {  // active use keeps it alive ...
    clock.now += 25min;
    ASSERT_TRUE(sessions.Touch(token)) << i;
  }
  clock.now += 25min;  // ... but not past its absolute lifetime (2 h 5 min after login)
  EXPECT_FALSE(sessions.Touch(token));

  std::string idle = sessions.Create("bob", WebRole::kReviewer);
  clock.now += 31min;
  EXPECT_FALSE(sessions.Touch(idle));
  EXPECT_FALSE(sessions.Touch("not-a-token"));
  EXPECT_FALSE(sessions.Touch(""));
}

TEST(WebSessionTest, LogoutAndTheSessionCap) {
  FakeClock clock;
  SessionStore sessions({.max_sessions = 3}, clock.fn());
  std::vector<std::string> tokens;
  for (int i = 0; i < 5; ++i) {
    tokens.push_back(sessions.Create("user" + std::to_string(i), WebRole::kReviewer));
    clock.now += 1s;
  }
  EXPECT_EQ(sessions.size(), 3u);
  EXPECT_FALSE(sessions.Touch(tokens[0]));  // the oldest went first
  EXPECT_FALSE(sessions.Touch(tokens[1]));
  EXPECT_TRUE(sessions.Touch(tokens[4]));
  sessions.Remove(tokens[4]);
  EXPECT_FALSE(sessions.Touch(tokens[4]));
  sessions.RemoveUser("user3");
  EXPECT_FALSE(sessions.Touch(tokens[3]));
  EXPECT_TRUE(sessions.Touch(tokens[2]));
}

TEST(WebLoginLimiterTest, BacksOffExponentiallyAfterFreeFailures) {
  FakeClock clock;
  LoginLimiter limiter({}, clock.fn());
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(limiter.Check("192.0.2.1", "alice")) << i;
    limiter.RecordFailure("192.0.2.1", "alice");
  }
  EXPECT_FALSE(limiter.Check("192.0.2.1", "alice"));  // five free failures
  limiter.RecordFailure("192.0.2.1", "alice");        // sixth: 1 s
  EXPECT_EQ(limiter.Check("192.0.2.1", "alice"), 1s);
  clock.now += 1s;
  EXPECT_FALSE(limiter.Check("192.0.2.1", "alice"));
  limiter.RecordFailure("192.0.2.1", "alice");  // 2 s
  EXPECT_EQ(limiter.Check("192.0.2.1", "alice"), 2s);
  clock.now += 2s;
  limiter.RecordFailure("192.0.2.1", "alice");  // 4 s
  EXPECT_EQ(limiter.Check("192.0.2.1", "alice"), 4s);
  // Per user: another address guessing alice waits too; per address: another user too.
  EXPECT_EQ(limiter.Check("198.51.100.7", "alice"), 4s);
  EXPECT_EQ(limiter.Check("192.0.2.1", "bob"), 4s);
  EXPECT_FALSE(limiter.Check("198.51.100.7", "bob"));

  for (int i = 0; i < 30; ++i) limiter.RecordFailure("192.0.2.1", "alice");
  EXPECT_EQ(limiter.Check("192.0.2.1", "alice"), 15min);  // capped

  clock.now += 15min;
  limiter.RecordSuccess("192.0.2.1", "alice");
  limiter.RecordFailure("192.0.2.1", "alice");
  EXPECT_FALSE(limiter.Check("192.0.2.1", "alice"));  // a success starts the count again
}

TEST(WebLoginLimiterTest, ForgetsOldFailuresAndBoundsMemory) {
  FakeClock clock;
  LoginLimiter limiter({.free_failures = 1, .forget_after = 1h, .max_keys = 100}, clock.fn());
  limiter.RecordFailure("192.0.2.1", "alice");
  clock.now += 2h;
  limiter.RecordFailure("192.0.2.1", "alice");
  EXPECT_FALSE(limiter.Check("192.0.2.1", "alice"));  // the first failure was forgotten

  for (int i = 0; i < 1000; ++i) {
    clock.now += 1ms;
    limiter.RecordFailure("10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250),
                          "user" + std::to_string(i));
  }
  // 2000 keys were offered, at most 100 kept: the newest.
  EXPECT_LE(limiter.tracked(), 100u);
  limiter.RecordFailure("10.0.3.249", "user999");
  EXPECT_TRUE(limiter.Check("10.0.3.249", "user999"));
}

}  // namespace
}  // namespace moat::cli
