// web_api_test.cc - `moat web` as a process, over HTTP with cpp-httplib's client: login and its
// rate limit, session cookie flags, security headers, CSRF (missing, stale, cross-origin),
// roles, unknown IDs, release arriving at Postfix's smtp-sink, raw download, dashboard, TLS, and
// the refusal to listen beyond loopback without TLS.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "tests/integration/web_test_env.h"

namespace moat::cli {
namespace {

using namespace std::chrono_literals;
using webtest::WebReviewEnv;

struct Login {
  std::string cookie;  // "moat_session=..."
  std::string csrf;
  std::string set_cookie;
};

class WebApiIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!moat::testing::HaveTool("smtp-sink")) GTEST_SKIP() << "Postfix's smtp-sink is missing";
    ASSERT_TRUE(env_.sink().ready());
    ASSERT_TRUE(env_.StartWeb()) << env_.web().Stderr();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", env_.port());
    client_->set_read_timeout(30, 0);
  }

  httplib::Result LoginRequest(const std::string& user, const std::string& password) {
    nlohmann::json body = {{"user", user}, {"password", password}};
    return client_->Post("/api/login", body.dump(), "application/json");
  }

  Login LogIn(const std::string& user, const std::string& password) {
    auto res = LoginRequest(user, password);
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_EQ(res->status, 200) << res->body;
    Login login;
    login.set_cookie = res->get_header_value("Set-Cookie");
    login.cookie = login.set_cookie.substr(0, login.set_cookie.find(';'));
    login.csrf = nlohmann::json::parse(res->body)["csrf_token"];
    return login;
  }

  httplib::Headers With(const Login& login, bool csrf = true) {
    httplib::Headers headers = {{"Cookie", login.cookie}};
    if (csrf) headers.emplace("X-CSRF-Token", login.csrf);
    return headers;
  }

  nlohmann::json Json(const httplib::Result& res) {
    return res ? nlohmann::json::parse(res->body, nullptr, false) : nlohmann::json();
  }

  WebReviewEnv env_;
  std::unique_ptr<httplib::Client> client_;
};

void ExpectSecurityHeaders(const httplib::Response& res) {
  EXPECT_TRUE(res.get_header_value("Content-Security-Policy")
                  .starts_with("default-src 'self'; script-src 'self'; object-src 'none'; "
                               "frame-ancestors 'none'"))
      << res.get_header_value("Content-Security-Policy");
  EXPECT_EQ(res.get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(res.get_header_value("X-Frame-Options"), "DENY");
}

TEST_F(WebApiIntegrationTest, LoginSessionCookieAndSecurityHeaders) {
  auto page = client_->Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 303);
  EXPECT_EQ(page->get_header_value("Location"), "/login");
  auto login_page = client_->Get("/login");
  ASSERT_TRUE(login_page);
  EXPECT_EQ(login_page->status, 200);
  ExpectSecurityHeaders(*login_page);
  EXPECT_EQ(login_page->body.find("<script>"), std::string::npos);  // no inline script
  EXPECT_EQ(login_page->body.find("style="), std::string::npos);
  auto script = client_->Get("/static/common.js");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  ExpectSecurityHeaders(*script);
  auto missing = client_->Get("/static/nope.js");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  ExpectSecurityHeaders(*missing);

  auto wrong = LoginRequest("alice", "guess");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(Json(wrong)["error"], "wrong user name or password");
  EXPECT_FALSE(wrong->has_header("Set-Cookie"));
  auto nobody = LoginRequest("mallory", "guess");
  ASSERT_TRUE(nobody);
  EXPECT_EQ(nobody->status, 401);  // same answer for an unknown user
  EXPECT_EQ(Json(nobody)["error"], "wrong user name or password");
  auto form = client_->Post("/api/login", "user=alice&password=alice-secret",
                            "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 415);

  Login alice = LogIn("alice", webtest::kAdminPassword);
  EXPECT_NE(alice.set_cookie.find("; HttpOnly"), std::string::npos) << alice.set_cookie;
  EXPECT_NE(alice.set_cookie.find("; SameSite=Strict"), std::string::npos);
  EXPECT_NE(alice.set_cookie.find("Path=/"), std::string::npos);
  EXPECT_EQ(alice.set_cookie.find("Secure"), std::string::npos);  // plain HTTP on loopback

  auto list = client_->Get("/api/quarantine?class=VIRUS", With(alice, false));
  ASSERT_TRUE(list);
  ASSERT_EQ(list->status, 200) << list->body;
  ExpectSecurityHeaders(*list);
  EXPECT_EQ(list->get_header_value("Cache-Control"), "no-store");
  EXPECT_EQ(Json(list)["total"], 1);
  EXPECT_EQ(Json(list)["entries"][0]["id"], env_.virus_id());
  auto home = client_->Get("/", With(alice, false));
  ASSERT_TRUE(home);
  EXPECT_EQ(home->status, 200);
  EXPECT_NE(home->body.find("<script src=\"/static/list.js\" defer></script>"), std::string::npos);

  auto session = client_->Get("/api/session", With(alice, false));
  EXPECT_EQ(Json(session)["role"], "admin");
  auto logout = client_->Post("/api/logout", With(alice), "", "application/json");
  ASSERT_TRUE(logout);
  EXPECT_EQ(logout->status, 200);
  EXPECT_NE(logout->get_header_value("Set-Cookie").find("Max-Age=0"), std::string::npos);
  auto after = client_->Get("/api/quarantine", With(alice, false));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 401);
}

TEST_F(WebApiIntegrationTest, LoginIsRateLimitedPerUserAndAddress) {
  for (int i = 0; i < 6; ++i) {
    auto res = LoginRequest("carol", "wrong" + std::to_string(i));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401) << i;
  }
  auto locked = LoginRequest("carol", "carol-secret");  // right password, but locked out
  ASSERT_TRUE(locked);
  EXPECT_EQ(locked->status, 429) << locked->body;
  EXPECT_EQ(locked->get_header_value("Retry-After"), "1");
  EXPECT_FALSE(locked->has_header("Set-Cookie"));
  // The lock lifts after Retry-After; then the right password works and clears the count.
  ASSERT_TRUE(moat::testing::WaitUntil(
      [&] {
        auto res = LoginRequest("carol", "carol-secret");
        return res && res->status == 200;
      },
      10s));
}

TEST_F(WebApiIntegrationTest, StateChangesNeedTheSessionsCsrfToken) {
  Login old_session = LogIn("alice", webtest::kAdminPassword);
  ASSERT_EQ(client_->Post("/api/logout", With(old_session), "", "application/json")->status, 200);
  Login alice = LogIn("alice", webtest::kAdminPassword);
  const std::string path = "/api/quarantine/" + env_.spam_ids()[0] + "/delete";

  auto missing = client_->Post(path, With(alice, false), "", "application/json");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 403);
  EXPECT_EQ(Json(missing)["error"], "missing CSRF token");

  httplib::Headers stale = {{"Cookie", alice.cookie}, {"X-CSRF-Token", old_session.csrf}};
  auto with_stale = client_->Post(path, stale, "", "application/json");
  ASSERT_TRUE(with_stale);
  EXPECT_EQ(with_stale->status, 403);
  EXPECT_NE(Json(with_stale)["error"].get<std::string>().find("stale"), std::string::npos);

  httplib::Headers cross = With(alice);
  cross.emplace("Origin", "http://evil.example");
  auto cross_site = client_->Post(path, cross, "", "application/json");
  ASSERT_TRUE(cross_site);
  EXPECT_EQ(cross_site->status, 403);

  // The old session's cookie with its own token: the session is gone.
  auto old = client_->Post(path, With(old_session), "", "application/json");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->status, 401);

  // Nothing happened so far; with the right token it does.
  auto shown = client_->Get("/api/quarantine/" + env_.spam_ids()[0], With(alice, false));
  EXPECT_EQ(Json(shown)["state"], "held");
  httplib::Headers same_origin = With(alice);
  same_origin.emplace("Origin", "http://127.0.0.1:" + std::to_string(env_.port()));
  auto ok = client_->Post(path, same_origin, "", "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  // A form field works as well as the header (DELETE form of the same action).
  auto form = client_->Delete("/api/quarantine/" + env_.spam_ids()[1], With(alice, false),
                              "csrf_token=" + alice.csrf, "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 200) << form->body;
  shown = client_->Get("/api/quarantine/" + env_.spam_ids()[1], With(alice, false));
  EXPECT_EQ(Json(shown)["history"][0]["actor"], "web:alice");
}

TEST_F(WebApiIntegrationTest, ReviewerCannotReleaseVirusAdminReleaseArrivesAtTheSink) {
  Login bob = LogIn("bob", webtest::kReviewerPassword);
  const std::string release = "/api/quarantine/" + env_.virus_id() + "/release";
  auto refused = client_->Post(release, With(bob), "{}", "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_NE(Json(refused)["error"].get<std::string>().find("reviewer cannot release VIRUS"),
            std::string::npos);
  auto bulk =
      client_->Post("/api/quarantine/bulk", With(bob),
                    nlohmann::json({{"action", "release"}, {"ids", {env_.virus_id()}}}).dump(),
                    "application/json");
  ASSERT_TRUE(bulk);
  EXPECT_EQ(Json(bulk)["results"][0]["status"], 403);
  EXPECT_TRUE(env_.sink().Messages().empty());

  Login alice = LogIn("alice", webtest::kAdminPassword);
  auto released = client_->Post(release, With(alice), "", "application/json");
  ASSERT_TRUE(released);
  ASSERT_EQ(released->status, 200) << released->body;
  EXPECT_EQ(Json(released)["accepted"], nlohmann::json({"alice@corp.example"}));
  ASSERT_TRUE(moat::testing::WaitUntil([&] { return env_.sink().Messages().size() == 1; }));
  std::string dump = env_.sink().Messages()[0];
  EXPECT_NE(dump.find("X-Quarantine-Released: id " + env_.virus_id()), std::string::npos) << dump;
  EXPECT_NE(dump.find("by web:alice;"), std::string::npos);
  EXPECT_NE(dump.find("Subject: Your invoice 4711"), std::string::npos);

  auto again = client_->Post(release, With(alice), "{}", "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 409);
  auto shown = client_->Get("/api/quarantine/" + env_.virus_id(), With(bob, false));
  nlohmann::json entry = Json(shown);
  EXPECT_EQ(entry["state"], "released");
  EXPECT_EQ(entry["history"][0]["actor"], "web:alice");
  EXPECT_EQ(entry["history"][0]["recipients"], nlohmann::json({"alice@corp.example"}));
}

TEST_F(WebApiIntegrationTest, UnknownIdsAndBadRequests) {
  Login alice = LogIn("alice", webtest::kAdminPassword);
  const std::string unknown = "20261121-080757.123456-9f3ac2e17b4d";
  for (const std::string& path :
       {"/api/quarantine/" + unknown, "/api/quarantine/" + unknown + "/raw"}) {
    auto res = client_->Get(path, With(alice, false));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404) << path;
    EXPECT_NE(Json(res)["error"].get<std::string>().find("no quarantine entry"), std::string::npos);
  }
  auto release = client_->Post("/api/quarantine/" + unknown + "/release", With(alice), "{}",
                               "application/json");
  ASSERT_TRUE(release);
  EXPECT_EQ(release->status, 404);
  auto malformed = client_->Get("/api/quarantine/not-an-id", With(alice, false));
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  auto traversal = client_->Get("/api/quarantine/..%2f..%2fetc%2fpasswd", With(alice, false));
  ASSERT_TRUE(traversal);
  EXPECT_GE(traversal->status, 400);
  auto bad_json = client_->Post("/api/quarantine/" + env_.spam_ids()[0] + "/release", With(alice),
                                "{\"to\": [", "application/json");
  ASSERT_TRUE(bad_json);
  EXPECT_EQ(bad_json->status, 400);
  auto deep = client_->Post("/api/quarantine/bulk", With(alice),
                            std::string(10000, '[') + std::string(10000, ']'), "application/json");
  ASSERT_TRUE(deep);
  EXPECT_EQ(deep->status, 400);
  auto huge = client_->Post("/api/quarantine/bulk", With(alice), std::string(2 << 20, ' '),
                            "application/json");
  EXPECT_TRUE(!huge || huge->status == 413);
  auto bad_filter = client_->Get("/api/quarantine?since=tomorrow", With(alice, false));
  ASSERT_TRUE(bad_filter);
  EXPECT_EQ(bad_filter->status, 400);
  auto no_api = client_->Get("/api/nothing", With(alice, false));
  ASSERT_TRUE(no_api);
  EXPECT_EQ(no_api->status, 404);
  EXPECT_EQ(Json(no_api)["error"], "no such API");
  // The server is still fine after all of that.
  auto list = client_->Get("/api/quarantine", With(alice, false));
  ASSERT_TRUE(list);
  EXPECT_EQ(Json(list)["total"], 14);
}

TEST_F(WebApiIntegrationTest, RawDownloadAndDashboard) {
  Login bob = LogIn("bob", webtest::kReviewerPassword);
  auto raw = client_->Get("/api/quarantine/" + env_.hostile_id() + "/raw", With(bob, false));
  ASSERT_TRUE(raw);
  ASSERT_EQ(raw->status, 200);
  EXPECT_EQ(raw->body, webtest::HostileMessage());
  EXPECT_EQ(raw->get_header_value("Content-Disposition"),
            "attachment; filename=\"" + env_.hostile_id() + ".eml\"");
  bool sandboxed = false;
  auto [begin, end] = raw->headers.equal_range("Content-Security-Policy");
  for (auto it = begin; it != end; ++it) sandboxed = sandboxed || it->second.starts_with("sandbox");
  EXPECT_TRUE(sandboxed);

  auto dashboard = client_->Get("/api/dashboard", With(bob, false));
  ASSERT_TRUE(dashboard);
  ASSERT_EQ(dashboard->status, 200) << dashboard->body;
  nlohmann::json d = Json(dashboard);
  EXPECT_EQ(d["queues"]["counts"]["deferred"], 1);
  EXPECT_EQ(d["queues"]["counts"]["active"], 1);
  EXPECT_EQ(d["clamav"]["newest_file"], "daily.cld");
  EXPECT_LT(d["clamav"]["age_seconds"].get<int64_t>(), 3600);
  EXPECT_EQ(d["week"]["totals"]["VIRUS"], 1);
  uint64_t held = 0;
  for (const auto& [name, count] : d["week"]["totals"].items()) held += count.get<uint64_t>();
  EXPECT_EQ(held, 14u);
}

TEST(WebCommandTest, RefusesRemoteWithoutTlsAndStartsWithoutUsersNever) {
  WebReviewEnv env;
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {moat::testing::BinaryPath("moat"), "-c", env.conf(), "web"};
    argv.insert(argv.end(), args.begin(), args.end());
    return moat::testing::RunCommand(argv, moat::testing::WithTimeout(20s));
  };
  auto remote = run({"--listen", "0.0.0.0:8025"});
  EXPECT_EQ(remote.exit_code, 2);
  EXPECT_NE(remote.err.find("not a loopback address"), std::string::npos) << remote.err;
  auto plain = run({"--listen", "0.0.0.0:8025", "--allow-remote"});
  EXPECT_EQ(plain.exit_code, 2);
  EXPECT_NE(plain.err.find("without TLS"), std::string::npos) << plain.err;
  auto no_users = run({"--listen", "127.0.0.1:0", "--users", env.dir().Path("missing")});
  EXPECT_EQ(no_users.exit_code, 1);
  EXPECT_NE(no_users.err.find("missing"), std::string::npos) << no_users.err;
  auto half_tls = run({"--tls-cert", env.dir().Path("cert.pem")});
  EXPECT_EQ(half_tls.exit_code, 2);
}

TEST(WebCommandTest, ServesHttpsWithSecureCookies) {
  if (!moat::testing::HaveTool("openssl")) GTEST_SKIP() << "openssl is missing";
  WebReviewEnv env;
  std::string cert = env.dir().Path("cert.pem"), key = env.dir().Path("key.pem");
  auto made = moat::testing::RunCommand(
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-subj", "/CN=127.0.0.1", "-days", "2", "-keyout", key, "-out", cert});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  ASSERT_TRUE(env.StartWeb({"--tls-cert", cert, "--tls-key", key})) << env.web().Stderr();
  httplib::SSLClient client("127.0.0.1", env.port());
  client.enable_server_certificate_verification(false);
  nlohmann::json body = {{"user", "alice"}, {"password", webtest::kAdminPassword}};
  auto res = client.Post("/api/login", body.dump(), "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->get_header_value("Set-Cookie").find("; Secure"), std::string::npos);
  EXPECT_NE(res->get_header_value("Strict-Transport-Security"), "");
  httplib::Client plain("127.0.0.1", env.port());
  auto refused = plain.Get("/login");
  EXPECT_TRUE(!refused || refused->status >= 400);
}

}  // namespace
}  // namespace moat::cli
