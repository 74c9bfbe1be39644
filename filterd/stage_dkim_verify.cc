// stage_dkim_verify.cc - DKIM results, findings and Authentication-Results (see the header).
#include "filterd/stage_dkim_verify.h"

// clang-format off
#include <chrono>
#include <string>
#include <vector>
#include <asio/this_coro.hpp>
// clang-format on

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "filterd/content_artefacts.h"
#include "filterd/dkim_auth_results.h"

namespace moat::filterd {
namespace {

int64_t SystemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Finding SignatureFinding(const DkimSignatureResult& r) {
  Finding f;
  f.stage = "dkim";
  f.name = std::string(DkimResultName(r.result));
  f.content_class = ContentClass::kClean;
  f.detail = fmt::format("d={} s={} a={}", r.domain.empty() ? "?" : r.domain,
                         r.selector.empty() ? "?" : r.selector,
                         r.algorithm.empty() ? "?" : r.algorithm);
  if (r.key_bits > 0) f.detail += fmt::format(" ({}-bit key)", r.key_bits);
  if (r.testing) f.detail += " (testing key)";
  if (!r.reason.empty()) f.detail += ": " + r.reason;
  return f;
}

}  // namespace

std::string AuthenticationResultsValue(std::string_view authserv_id,
                                       const std::vector<DkimSignatureResult>& results) {
  std::string field = DkimAuthenticationResults(authserv_id, results, "\n");
  size_t colon = field.find(':');
  std::string value;
  bool in_space = false;
  for (size_t i = colon == std::string::npos ? 0 : colon + 1; i < field.size(); ++i) {
    char c = field[i];
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      in_space = true;
      continue;
    }
    if (in_space && !value.empty()) value += ' ';
    in_space = false;
    value += c;
  }
  return value;
}

DkimVerifyStage::DkimVerifyStage(DnsResolverProvider dns, DkimVerifyStageOptions options)
    : dns_(std::move(dns)), options_(std::move(options)) {}

asio::awaitable<core::Status> DkimVerifyStage::RunAsync(MessageContext& context) const {
  DkimVerifier verifier(context.message, options_.verify);
  int64_t now = options_.now ? options_.now() : SystemNow();
  auto artefact = std::make_shared<DkimArtefact>();
  artefact->author_domain = AuthorDomain(context.message);

  if (verifier.signature_count() > 0) {
    auto executor = co_await asio::this_coro::executor;
    core::Result<std::shared_ptr<core::DnsResolver>> resolver =
        core::Fail(core::ErrorCode::kTempFail, "no DNS resolver configured");
    if (dns_) resolver = dns_(executor);
    if (resolver && *resolver) {
      DnsDkimKeySource keys(**resolver);
      std::vector<DkimSignatureResult> results = co_await verifier.VerifyAll(keys, now);
      artefact->results = std::move(results);
    } else {
      DkimKeyAnswer unavailable;
      unavailable.status = DkimKeyAnswer::Status::kTempError;
      unavailable.detail = resolver ? std::string("no DNS resolver")
                                    : "DNS resolver: " + resolver.error().message();
      for (size_t i = 0; i < verifier.signature_count(); ++i) {
        artefact->results.push_back(verifier.Finish(i, unavailable, now));
      }
    }
  }
  artefact->hits = DkimRules(artefact->results, artefact->author_domain);

  for (const DkimSignatureResult& r : artefact->results) {
    context.findings.push_back(SignatureFinding(r));
  }
  std::vector<std::string> names = artefact->hits.Names();
  context.trace.push_back(fmt::format(
      "dkim: {} signature(s){}{}", artefact->results.size(), names.empty() ? "" : "; rules: ",
      fmt::format("{}", fmt::join(names, " "))));
  if (!options_.authserv_id.empty()) {
    HeaderEdit remove;
    remove.kind = HeaderEdit::Kind::kRemoveAll;
    remove.name = "Authentication-Results";
    remove.authserv_id = options_.authserv_id;
    context.header_edits.push_back(std::move(remove));
    HeaderEdit add;
    add.kind = HeaderEdit::Kind::kPrepend;
    add.name = "Authentication-Results";
    add.value = AuthenticationResultsValue(options_.authserv_id, artefact->results);
    context.header_edits.push_back(std::move(add));
  }
  context.artefacts[kDkimArtefact] = std::move(artefact);
  core::Status ok;
  co_return ok;
}

}  // namespace moat::filterd
