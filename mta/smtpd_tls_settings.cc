// smtpd_tls_settings.cc - Postfix TLS parameters to an OpenSSL server context (through core's
// MakeTlsServerContext, the one place that talks to OpenSSL).
#include "mta/smtpd_tls_settings.h"

#include <array>

#include <fmt/format.h>

#include "core/config_value.h"
#include "core/smtp_tls.h"

namespace moat::mta {
namespace {

constexpr std::array<std::string_view, 6> kVersions = {"SSLv2",   "SSLv3",   "TLSv1",
                                                        "TLSv1.1", "TLSv1.2", "TLSv1.3"};
constexpr std::size_t kLowestUsable = 2;  // TLSv1: SSLv2/SSLv3 are never offered
constexpr std::size_t kLowestSafe = 4;    // TLSv1.2

int VersionIndex(std::string_view name) {
  for (std::size_t i = 0; i < kVersions.size(); ++i) {
    if (kVersions[i] == name) return static_cast<int>(i);
  }
  return -1;
}

constexpr std::string_view kUnsafeSuites = "!aNULL:!eNULL:!EXPORT:!LOW:!MD5:!RC4:!DES:!3DES:!IDEA:!SEED";

}  // namespace

core::Result<std::string> MinimumTlsProtocol(std::string_view protocols) {
  std::string text(protocols);
  for (char& c : text) {
    if (c == ':' || c == ';') c = ' ';
  }
  std::vector<std::string> items = core::SplitList(text);
  if (items.empty()) return std::string(kVersions[kLowestSafe]);
  if (items.size() == 1 && items[0].starts_with(">=")) {
    int index = VersionIndex(std::string_view(items[0]).substr(2));
    if (index < 0) {
      return core::Fail(core::ErrorCode::kInvalid, "unknown TLS protocol \"{}\"", items[0]);
    }
    return std::string(kVersions[std::max<std::size_t>(kLowestUsable, index)]);
  }
  std::array<bool, kVersions.size()> included{};
  bool any_included = false;
  std::array<bool, kVersions.size()> excluded{};
  for (const std::string& item : items) {
    bool negated = item.starts_with('!');
    std::string_view name = std::string_view(item).substr(negated ? 1 : 0);
    int index = VersionIndex(name);
    if (index < 0) {
      return core::Fail(core::ErrorCode::kInvalid, "unknown TLS protocol \"{}\"", item);
    }
    if (negated) {
      excluded[index] = true;
    } else {
      included[index] = true;
      any_included = true;
    }
  }
  for (std::size_t i = kLowestUsable; i < kVersions.size(); ++i) {
    bool allowed = any_included ? included[i] && !excluded[i] : !excluded[i];
    if (allowed) return std::string(kVersions[i]);
  }
  return core::Fail(core::ErrorCode::kInvalid, "\"{}\" allows no TLS protocol", protocols);
}

std::string CipherList(std::string_view grade, const std::vector<std::string>& exclude,
                       std::vector<std::string>& warnings) {
  std::string list;
  if (grade == "high") {
    list = fmt::format("HIGH:{}:!SHA1:!CAMELLIA:!ARIA", kUnsafeSuites);
  } else {
    if (grade != "medium") {
      warnings.push_back(fmt::format(
          "TLS cipher grade \"{}\" is not offered by Moat; using \"medium\"", grade));
    }
    list = fmt::format("HIGH:MEDIUM:{}", kUnsafeSuites);
  }
  for (const std::string& cipher : exclude) fmt::format_to(std::back_inserter(list), ":!{}", cipher);
  return list;
}

core::Result<SmtpdTls> BuildSmtpdTls(const core::Config& config) {
  SmtpdTls out;
  std::string level = config.GetString("smtpd_tls_security_level");
  if (level.empty()) {
    level = config.GetBool("smtpd_enforce_tls") ? "encrypt"
            : config.GetBool("smtpd_use_tls")   ? "may"
                                                : "none";
  }
  if (level == "none") return out;
  out.required = level == "encrypt";

  core::TlsServerSettings settings;
  settings.cert_file = config.GetPath("smtpd_tls_cert_file");
  settings.key_file = config.GetPath("smtpd_tls_key_file");
  std::vector<std::string> chain = config.GetList("smtpd_tls_chain_files");
  if (!chain.empty()) {
    // Postfix: each file holds a key followed by its certificate chain; Moat uses the first.
    settings.cert_file = config.ResolvePath(chain.front());
    settings.key_file = settings.cert_file;
    if (chain.size() > 1) {
      out.warnings.push_back("smtpd_tls_chain_files: only the first file (one key and its "
                             "chain) is used");
    }
  }
  if (settings.cert_file.empty()) {
    if (out.required) {
      return core::Fail(core::ErrorCode::kInvalid,
                        "smtpd_tls_security_level = encrypt needs smtpd_tls_cert_file");
    }
    out.warnings.push_back(
        "smtpd_tls_security_level = may without smtpd_tls_cert_file: STARTTLS is not offered");
    return out;
  }
  std::string_view protocols_parameter =
      out.required ? "smtpd_tls_mandatory_protocols" : "smtpd_tls_protocols";
  auto protocol = MinimumTlsProtocol(config.GetString(protocols_parameter));
  if (!protocol) return std::unexpected(protocol.error().WithContext(protocols_parameter));
  if (VersionIndex(*protocol) < static_cast<int>(kLowestSafe)) {
    out.warnings.push_back(fmt::format("{} allows {}, older than TLSv1.2", protocols_parameter,
                                       *protocol));
  }
  settings.min_protocol = *protocol;
  std::string grade = config.GetString(out.required ? "smtpd_tls_mandatory_ciphers"
                                                    : "smtpd_tls_ciphers");
  settings.ciphers =
      CipherList(grade, config.GetList("smtpd_tls_exclude_ciphers"), out.warnings);
  auto context = core::MakeTlsServerContext(settings);
  if (!context) return std::unexpected(context.error());
  out.context = std::move(*context);
  return out;
}

}  // namespace moat::mta
