// web_server.h - the HTTP(S) side of `moat web`: pages, assets, login, sessions, CSRF, and the
// JSON API of web_api.h, on cpp-httplib's thread-pool server.
//
// Routes
//   GET  /login, /, /message?id=ID, /dashboard   the pages (embedded, web_assets.h); every page
//                                                but /login redirects to /login without a session
//   GET  /static/NAME                            script, style sheet, icon
//   POST /api/login     {"user", "password"} -> {"user", "role", "csrf_token"} + session cookie
//   POST /api/logout    GET /api/session -> {"user", "role", "csrf_token"}
//   GET  /api/dashboard (web_dashboard.h)
//   /api/quarantine...  (web_api.h)
//
// Security
//   - Every response carries Content-Security-Policy "default-src 'self'; script-src 'self';
//     object-src 'none'; frame-ancestors 'none'" (plus base-uri/form-action 'self'),
//     X-Content-Type-Options: nosniff, X-Frame-Options: DENY, Referrer-Policy: no-referrer,
//     Cache-Control: no-store; HSTS under TLS. The pages have no inline script or style; message
//     content only ever reaches the DOM as text (the scripts use textContent, never innerHTML).
//     Raw downloads are attachments with a sandboxing CSP of their own.
//   - Session cookie `moat_session`: HttpOnly, SameSite=Strict, Path=/, Secure under TLS.
//   - CSRF: every POST/DELETE but the login needs the session's synchronizer token in the
//     X-CSRF-Token header or a csrf_token form field (403 when missing, 403 when stale - from
//     another or an ended session). Any state-changing request whose Origin header is not this
//     server, or whose Sec-Fetch-Site is cross-site, is refused too; the login must be JSON, which
//     a cross-site form cannot send.
//   - Login: LoginLimiter per client address and per user name (429 + Retry-After); an unknown
//     user costs the same PBKDF2 work as a known one; failures are logged with the address.
//   - Request bodies are limited to 1 MiB, JSON nesting to 32 levels.
//
// Lifetime: the store, sender and users outlive the server. Bind() then Run() (blocks until
// Stop(), which may be called from any thread, e.g. a signal-waiting thread). Handlers run on
// the server's pool threads; everything they share is thread-safe.
// Errors: Bind() answers kIo when the address cannot be bound, kInvalid for unusable TLS files.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "cli/web_api.h"
#include "cli/web_auth.h"
#include "cli/web_dashboard.h"
#include "cli/web_login_limiter.h"
#include "cli/web_session.h"
#include "core/error.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace moat::cli {

struct WebServerOptions {
  std::string host = "127.0.0.1";
  int port = 8025;            // 0: any free port (port() tells which)
  std::string tls_cert_file;  // both set: HTTPS
  std::string tls_key_file;
  SessionOptions sessions;
  LoginLimiterOptions login_limits;
  DashboardSources dashboard;
  std::function<quarantine::TimePoint()> clock = quarantine::Clock::now;
};

class WebServer {
 public:
  WebServer(WebServerOptions options, quarantine::QuarantineStore& store,
            quarantine::MessageSender& sender, WebUserDirectory& users);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  core::Status Bind();
  int port() const { return port_; }
  bool tls() const { return !options_.tls_cert_file.empty(); }
  // "http://127.0.0.1:8025/"
  std::string url() const;
  void Run();
  void Stop();

 private:
  struct Caller;  // the session of an authenticated request
  using ApiHandler =
      std::function<void(const httplib::Request&, httplib::Response&, const Caller&)>;

  void AddRoutes();
  void Page(const std::string& path, const std::string& asset, bool needs_session);
  void Get(const std::string& pattern, ApiHandler handler);
  void Post(const std::string& pattern, ApiHandler handler);
  std::optional<Caller> Authenticate(const httplib::Request& request);
  bool CheckOrigin(const httplib::Request& request, httplib::Response& response) const;
  bool CheckCsrf(const httplib::Request& request, httplib::Response& response,
                 const Caller& caller) const;
  void Login(const httplib::Request& request, httplib::Response& response);
  void SendRaw(const std::string& id, httplib::Response& response);
  std::string SessionCookie(const std::string& token, bool clear) const;

  WebServerOptions options_;
  QuarantineApi api_;
  WebUserDirectory& users_;
  SessionStore sessions_;
  LoginLimiter limiter_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
};

}  // namespace moat::cli
