// spf_policy.cc - see spf_policy.h.
#include "mta/spf_policy.h"

#include <fmt/format.h>

namespace moat::mta {
namespace {

using core::SpfResult;

// Text from DNS (an exp= explanation) goes into an SMTP reply: printable ASCII only, bounded.
std::string ReplySafe(std::string_view text, size_t limit = 300) {
  std::string out;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) out += c;
    if (out.size() >= limit) break;
  }
  return out;
}

bool LooksLikeDomain(std::string_view helo) {
  return !helo.empty() && helo.front() != '[' && helo.find('.') != std::string_view::npos;
}

std::string FailText(const SpfCheck& check, const SpfRequest& request) {
  std::string why = check.explanation.empty() ? SpfResultComment(check, SpfRequest{
                                                    request.client_ip, request.sender,
                                                    request.helo, "", request.now})
                                              : check.explanation;
  return fmt::format("Message rejected due to: SPF fail - not authorized{}. {}",
                     check.identity == core::SpfIdentity::kHelo ? " (HELO)" : "",
                     ReplySafe(why));
}

}  // namespace

SpfPolicyOptions SpfPolicyOptions::FromConfig(const core::Config& config) {
  SpfPolicyOptions options;
  options.reject_fail = config.GetBool("smtpd_spf_reject_fail");
  options.defer_temperror = config.GetBool("smtpd_spf_defer_temperror");
  options.reject_permerror = config.GetBool("smtpd_spf_reject_permerror");
  options.check_helo = config.GetBool("smtpd_spf_helo_checks");
  options.received_header = config.GetBool("smtpd_spf_received_header");
  options.receiver = config.GetString("myhostname");
  options.evaluator.time_limit =
      std::chrono::duration_cast<std::chrono::milliseconds>(config.GetTime("smtpd_spf_time_limit"));
  options.evaluator.max_void_lookups =
      static_cast<int>(config.GetInt("smtpd_spf_void_lookup_limit"));
  return options;
}

asio::awaitable<SpfPolicyResult> CheckSpfPolicy(SpfEvaluator& evaluator,
                                                const SpfPolicyOptions& options,
                                                const core::SmtpSessionInfo& session,
                                                std::string sender) {
  SpfPolicyResult result;
  std::error_code ec;
  auto ip = asio::ip::make_address(session.client_address, ec);
  if (ec || !session.auth_user.empty()) {
    result.verdict.log = ec ? "SPF not checked: no client IP address"
                            : "SPF not checked: authenticated client";
    co_return result;
  }
  SpfRequest request{ip, sender, session.helo, options.receiver, 0};

  if (options.check_helo && LooksLikeDomain(session.helo)) {
    auto helo = co_await evaluator.CheckHelo(request);
    result.helo = std::move(helo);
  }
  if (sender.empty() && result.helo) {
    // The null sender's identity is postmaster@<HELO>: the same check again (RFC 7208 2.4).
    result.mail_from = *result.helo;
    result.mail_from.identity = core::SpfIdentity::kMailFrom;
  } else {
    auto mail_from = co_await evaluator.CheckMailFrom(request);
    result.mail_from = std::move(mail_from);
  }

  PolicyVerdict& verdict = result.verdict;
  if (options.received_header) {
    // The MAIL FROM field goes on top: it is the one DMARC (RFC 7489 4.1) and the filter's
    // readers take first. For the null sender it already is the HELO check (postmaster@<HELO>),
    // so a second field would only repeat it.
    verdict.prepend_headers.push_back(SpfReceivedHeader(result.mail_from, request, ""));
    if (result.helo && !sender.empty()) {
      verdict.prepend_headers.push_back(SpfReceivedHeader(*result.helo, request, ""));
    }
  }
  verdict.log = fmt::format("SPF mailfrom={} ({}){}", core::SpfResultName(result.mail_from.result),
                            result.mail_from.sender,
                            result.helo ? fmt::format(" helo={}",
                                                      core::SpfResultName(result.helo->result))
                                        : "");
  if (!result.mail_from.problem.empty()) verdict.log += ": " + result.mail_from.problem;

  const SpfCheck* failed = nullptr;
  if (result.helo && result.helo->result == SpfResult::kFail) failed = &*result.helo;
  if (result.mail_from.result == SpfResult::kFail) failed = &result.mail_from;
  if (failed != nullptr && options.reject_fail) {
    verdict.action = PolicyAction::kReject;
    verdict.reply = core::SmtpReply(550, "5.7.23", FailText(*failed, request));
    co_return result;
  }
  if (result.mail_from.result == SpfResult::kTempError && options.defer_temperror) {
    verdict.action = PolicyAction::kDefer;
    verdict.reply = core::SmtpReply(
        451, "4.7.24",
        fmt::format("SPF temporary error for {}: {}", ReplySafe(result.mail_from.sender, 200),
                    ReplySafe(result.mail_from.problem, 200)));
    co_return result;
  }
  if (result.mail_from.result == SpfResult::kPermError && options.reject_permerror) {
    verdict.action = PolicyAction::kReject;
    verdict.reply = core::SmtpReply(
        550, "5.7.24",
        fmt::format("SPF permanent error for {}: {}", ReplySafe(result.mail_from.sender, 200),
                    ReplySafe(result.mail_from.problem, 200)));
  }
  co_return result;
}

}  // namespace moat::mta
