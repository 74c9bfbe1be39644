// web_server.cc - routes, cookies, CSRF and security headers of `moat web` (cpp-httplib).
#include "cli/web_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "cli/web_assets.h"
#include "quarantine/quarantine_entry.h"

namespace moat::cli {
namespace {

namespace q = moat::quarantine;

constexpr const char* kCookieName = "moat_session";
constexpr const char* kJson = "application/json; charset=utf-8";
constexpr const char* kCsp =
    "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'";
constexpr size_t kMaxBody = 1u << 20;
constexpr int kMaxJsonDepth = 32;
// A quarantine ID in a URL: the store checks the exact form, this only delimits it.
constexpr const char* kIdPattern = R"(([0-9a-zA-Z._-]{1,64}))";

void SendJson(httplib::Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  response.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), kJson);
}

void Send(httplib::Response& response, const ApiReply& reply) {
  SendJson(response, reply.status, reply.body);
}

// Nesting depth of a JSON text, outside strings; bounds the parser's work before it runs.
int JsonDepth(std::string_view text) {
  int depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

// The JSON body, or an error already sent (415 not JSON, 400 malformed).
std::optional<nlohmann::json> JsonBody(const httplib::Request& request, httplib::Response& response,
                                       bool allow_empty) {
  if (request.body.empty() && allow_empty) return nlohmann::json();
  std::string type = request.get_header_value("Content-Type");
  if (!type.starts_with("application/json")) {
    SendJson(response, 415, {{"error", "send JSON (Content-Type: application/json)"}});
    return std::nullopt;
  }
  if (JsonDepth(request.body) > kMaxJsonDepth) {
    SendJson(response, 400, {{"error", "JSON nested too deeply"}});
    return std::nullopt;
  }
  auto body = nlohmann::json::parse(request.body, nullptr, false);
  if (body.is_discarded()) {
    SendJson(response, 400, {{"error", "malformed JSON"}});
    return std::nullopt;
  }
  return body;
}

std::string CookieValue(const httplib::Request& request, std::string_view name) {
  std::string header = request.get_header_value("Cookie");
  std::string_view rest = header;
  while (!rest.empty()) {
    size_t end = rest.find(';');
    std::string_view pair = rest.substr(0, end);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.starts_with(name) && pair.size() > name.size() && pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return "";
}

}  // namespace

struct WebServer::Caller {
  std::string token;
  WebSession session;
  WebActor actor() const { return {session.user, session.role}; }
};

WebServer::WebServer(WebServerOptions options, q::QuarantineStore& store, q::MessageSender& sender,
                     WebUserDirectory& users)
    : options_(std::move(options)),
      api_(store, sender, options_.clock),
      users_(users),
      sessions_(options_.sessions),
      limiter_(options_.login_limits) {}

WebServer::~WebServer() = default;

std::string WebServer::url() const {
  bool v6 = options_.host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}/", tls() ? "https" : "http", v6 ? "[" : "", options_.host,
                     v6 ? "]" : "", port_);
}

core::Status WebServer::Bind() {
  if (tls()) {
    auto server = std::make_unique<httplib::SSLServer>(options_.tls_cert_file.c_str(),
                                                       options_.tls_key_file.c_str());
    if (!server->is_valid()) {
      return core::Fail(core::ErrorCode::kInvalid, "cannot load TLS certificate {} and key {}",
                        options_.tls_cert_file, options_.tls_key_file);
    }
    server_ = std::move(server);
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  server_->set_payload_max_length(kMaxBody);
  server_->set_read_timeout(std::chrono::seconds(10));
  server_->set_write_timeout(std::chrono::seconds(30));
  httplib::Headers headers = {{"Content-Security-Policy", kCsp},
                              {"X-Content-Type-Options", "nosniff"},
                              {"X-Frame-Options", "DENY"},
                              {"Referrer-Policy", "no-referrer"},
                              {"Cross-Origin-Opener-Policy", "same-origin"},
                              {"Cache-Control", "no-store"}};
  if (tls()) headers.emplace("Strict-Transport-Security", "max-age=31536000");
  server_->set_default_headers(std::move(headers));
  AddRoutes();
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
    if (port_ <= 0) {
      return core::Fail(core::ErrorCode::kIo, "cannot listen on {} (any port)", options_.host);
    }
  } else {
    if (!server_->bind_to_port(options_.host, options_.port)) {
      return core::Fail(core::ErrorCode::kIo, "cannot listen on {}:{} (in use or not local?)",
                        options_.host, options_.port);
    }
    port_ = options_.port;
  }
  return {};
}

void WebServer::Run() { server_->listen_after_bind(); }

void WebServer::Stop() {
  if (server_) server_->stop();
}

std::string WebServer::SessionCookie(const std::string& token, bool clear) const {
  return fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict{}{}", kCookieName,
                     clear ? "" : token, clear ? "; Max-Age=0" : "", tls() ? "; Secure" : "");
}

std::optional<WebServer::Caller> WebServer::Authenticate(const httplib::Request& request) {
  std::string token = CookieValue(request, kCookieName);
  if (token.empty()) return std::nullopt;
  auto session = sessions_.Touch(token);
  if (!session) return std::nullopt;
  return Caller{std::move(token), std::move(*session)};
}

bool WebServer::CheckOrigin(const httplib::Request& request, httplib::Response& response) const {
  if (request.get_header_value("Sec-Fetch-Site") == "cross-site") {
    SendJson(response, 403, {{"error", "cross-site request refused"}});
    return false;
  }
  if (!request.has_header("Origin")) return true;
  std::string expected =
      fmt::format("{}://{}", tls() ? "https" : "http", request.get_header_value("Host"));
  if (request.get_header_value("Origin") != expected) {
    SendJson(response, 403, {{"error", "request from another origin refused"}});
    return false;
  }
  return true;
}

bool WebServer::CheckCsrf(const httplib::Request& request, httplib::Response& response,
                          const Caller& caller) const {
  std::string token = request.get_header_value("X-CSRF-Token");
  if (token.empty() && request.has_param("csrf_token"))
    token = request.get_param_value("csrf_token");
  if (token.empty()) {
    SendJson(response, 403, {{"error", "missing CSRF token"}});
    return false;
  }
  if (!TokensEqual(token, caller.session.csrf_token)) {
    spdlog::warn("moat web: stale or wrong CSRF token from {} ({})", request.remote_addr,
                 caller.session.user);
    SendJson(response, 403, {{"error", "stale or wrong CSRF token: reload the page"}});
    return false;
  }
  return true;
}

void WebServer::Get(const std::string& pattern, ApiHandler handler) {
  server_->Get(pattern, [this, handler](const httplib::Request& req, httplib::Response& res) {
    auto caller = Authenticate(req);
    if (!caller) return SendJson(res, 401, {{"error", "log in first"}});
    handler(req, res, *caller);
  });
}

void WebServer::Post(const std::string& pattern, ApiHandler handler) {
  auto guarded = [this, handler](const httplib::Request& req, httplib::Response& res) {
    if (!CheckOrigin(req, res)) return;
    auto caller = Authenticate(req);
    if (!caller) return SendJson(res, 401, {{"error", "log in first"}});
    if (!CheckCsrf(req, res, *caller)) return;
    handler(req, res, *caller);
  };
  server_->Post(pattern, guarded);
  if (pattern.ends_with("/delete")) {
    // DELETE /api/quarantine/ID is the same action as POST .../delete.
    server_->Delete(pattern.substr(0, pattern.size() - 7), guarded);
  }
}

void WebServer::Page(const std::string& path, const std::string& asset, bool needs_session) {
  server_->Get(path,
               [this, asset, needs_session](const httplib::Request& req, httplib::Response& res) {
                 bool logged_in = Authenticate(req).has_value();
                 if (needs_session && !logged_in) return res.set_redirect("/login", 303);
                 if (!needs_session && logged_in) return res.set_redirect("/", 303);
                 auto page = FindWebAsset(asset);
                 if (!page) return SendJson(res, 500, {{"error", "page missing from the build"}});
                 res.set_content(std::string(page->data), std::string(page->content_type).c_str());
               });
}

void WebServer::Login(const httplib::Request& req, httplib::Response& res) {
  if (!CheckOrigin(req, res)) return;
  auto body = JsonBody(req, res, false);
  if (!body) return;
  auto user_field = body->find("user");
  auto password_field = body->find("password");
  if (!body->is_object() || user_field == body->end() || !user_field->is_string() ||
      password_field == body->end() || !password_field->is_string()) {
    return SendJson(res, 400, {{"error", "send {\"user\": ..., \"password\": ...}"}});
  }
  std::string user = user_field->get<std::string>();
  std::string password = password_field->get<std::string>();
  if (user.empty() || user.size() > 64 || password.size() > 1024) {
    return SendJson(res, 400, {{"error", "user name or password too long"}});
  }
  const std::string& address = req.remote_addr;
  if (auto wait = limiter_.Check(address, user)) {
    res.set_header("Retry-After", std::to_string(wait->count()));
    spdlog::warn("moat web: login of '{}' from {} refused: too many failures", q::ToValidUtf8(user),
                 address);
    return SendJson(
        res, 429,
        {{"error", fmt::format("too many failed logins; try again in {} s", wait->count())}});
  }
  auto known = users_.Find(user);
  bool ok = false;
  if (known) {
    ok = VerifyPassword(password, known->password_hash);
  } else {
    BurnPasswordCheck(password, kDefaultPbkdf2Iterations);
  }
  if (!ok) {
    limiter_.RecordFailure(address, user);
    spdlog::warn("moat web: failed login of '{}' from {}", q::ToValidUtf8(user), address);
    return SendJson(res, 401, {{"error", "wrong user name or password"}});
  }
  limiter_.RecordSuccess(address, user);
  if (auto old = Authenticate(req)) sessions_.Remove(old->token);
  std::string token = sessions_.Create(known->name, known->role);
  auto session = sessions_.Touch(token);
  spdlog::info("moat web: {} ({}) logged in from {}", known->name, WebRoleName(known->role),
               address);
  res.set_header("Set-Cookie", SessionCookie(token, false));
  SendJson(res, 200,
           {{"user", known->name},
            {"role", WebRoleName(known->role)},
            {"csrf_token", session ? session->csrf_token : ""}});
}

void WebServer::SendRaw(const std::string& id, httplib::Response& res) {
  auto raw = api_.Raw(id);
  if (!raw) return Send(res, ErrorReply(raw.error()));
  res.set_header("Content-Disposition", fmt::format("attachment; filename=\"{}.eml\"", id));
  // Replaces the page policy: a download never runs anything, even if opened in place.
  res.set_header("Content-Security-Policy", "sandbox; default-src 'none'");
  res.set_content(std::move(*raw), "message/rfc822");
}

void WebServer::AddRoutes() {
  Page("/", "index.html", true);
  Page("/message", "message.html", true);
  Page("/dashboard", "dashboard.html", true);
  Page("/login", "login.html", false);
  server_->Get(
      R"(/static/([A-Za-z0-9_.-]+))", [](const httplib::Request& req, httplib::Response& res) {
        auto asset = FindWebAsset(req.matches[1].str());
        if (!asset || asset->name.ends_with(".html")) {
          res.status = 404;
          return res.set_content("not found\n", "text/plain; charset=utf-8");
        }
        res.set_content(std::string(asset->data), std::string(asset->content_type).c_str());
      });

  server_->Post("/api/login",
                [this](const httplib::Request& req, httplib::Response& res) { Login(req, res); });
  Post("/api/logout", [this](const httplib::Request&, httplib::Response& res, const Caller& c) {
    sessions_.Remove(c.token);
    res.set_header("Set-Cookie", SessionCookie("", true));
    SendJson(res, 200, {{"user", c.session.user}, {"logged_out", true}});
  });
  Get("/api/session", [](const httplib::Request&, httplib::Response& res, const Caller& c) {
    SendJson(res, 200,
             {{"user", c.session.user},
              {"role", WebRoleName(c.session.role)},
              {"csrf_token", c.session.csrf_token}});
  });
  Get("/api/dashboard", [this](const httplib::Request&, httplib::Response& res, const Caller&) {
    auto dashboard = BuildDashboard(api_.store().index(), options_.dashboard, options_.clock());
    if (!dashboard) return Send(res, ErrorReply(dashboard.error()));
    SendJson(res, 200, *dashboard);
  });

  Get("/api/quarantine", [this](const httplib::Request& req, httplib::Response& res,
                                const Caller&) { Send(res, api_.List(req.params)); });
  Post("/api/quarantine/bulk",
       [this](const httplib::Request& req, httplib::Response& res, const Caller& c) {
         auto body = JsonBody(req, res, false);
         if (body) Send(res, api_.Bulk(c.actor(), *body));
       });
  std::string item = std::string("/api/quarantine/") + kIdPattern;
  Get(item, [this](const httplib::Request& req, httplib::Response& res, const Caller& c) {
    Send(res, api_.Show(c.actor(), req.matches[1].str()));
  });
  Get(item + "/raw", [this](const httplib::Request& req, httplib::Response& res, const Caller& c) {
    spdlog::info("moat web: {} downloaded {}", c.session.user, req.matches[1].str());
    SendRaw(req.matches[1].str(), res);
  });
  Post(item + "/release",
       [this](const httplib::Request& req, httplib::Response& res, const Caller& c) {
         auto body = JsonBody(req, res, true);
         if (body) Send(res, api_.Release(c.actor(), req.matches[1].str(), *body));
       });
  Post(item + "/delete",
       [this](const httplib::Request& req, httplib::Response& res, const Caller& c) {
         Send(res, api_.Delete(c.actor(), req.matches[1].str()));
       });

  server_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (req.path.starts_with("/api/")) {
      return SendJson(res, res.status, {{"error", res.status == 404 ? "no such API" : "error"}});
    }
    res.set_content(fmt::format("{}\n", res.status), "text/plain; charset=utf-8");
  });
  server_->set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr error) {
        std::string what = "unknown";
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("moat web: {} {}: {}", req.method, req.path, what);
        SendJson(res, 500, {{"error", "internal error (logged)"}});
      });
  server_->set_logger([](const httplib::Request& req, const httplib::Response& res) {
    spdlog::debug("moat web: {} {} {} -> {}", req.remote_addr, req.method, req.path, res.status);
  });
}

}  // namespace moat::cli
