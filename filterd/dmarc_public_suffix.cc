// dmarc_public_suffix.cc - the libpsl wrapper (see dmarc_public_suffix.h).
#include "filterd/dmarc_public_suffix.h"

#include <libpsl.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace moat::filterd {

struct PublicSuffixList::Context {
  psl_ctx_t* psl = nullptr;
  ~Context() {
    if (psl != nullptr) psl_free(psl);
  }
};

PublicSuffixList::PublicSuffixList() : context_(std::make_unique<Context>()) {}
PublicSuffixList::~PublicSuffixList() = default;

core::Result<std::shared_ptr<const PublicSuffixList>> PublicSuffixList::Load(
    const std::string& path) {
  // libpsl says only "NULL" for every failure; opening the file first tells a missing file
  // (kIo, with the errno text) from one libpsl could not use.
  std::ifstream probe(path);
  if (!probe) {
    return core::Fail(core::ErrorCode::kIo, "public suffix list {}: cannot read it ({})", path,
                      std::strerror(errno));
  }
  std::shared_ptr<PublicSuffixList> list(new PublicSuffixList());
  list->path_ = path;
  list->context_->psl = psl_load_file(path.c_str());
  if (list->context_->psl == nullptr) {
    return core::Fail(core::ErrorCode::kInvalid, "public suffix list {}: libpsl cannot load it",
                      path);
  }
  list->rule_count_ = psl_suffix_count(list->context_->psl);
  if (list->rule_count_ <= 0) {
    return core::Fail(core::ErrorCode::kInvalid, "public suffix list {}: no rules in it", path);
  }
  return std::shared_ptr<const PublicSuffixList>(std::move(list));
}

std::string NormalizeDomain(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  std::string out(domain);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string PublicSuffixList::OrganizationalDomain(std::string_view domain) const {
  std::string name = NormalizeDomain(domain);
  // libpsl would skip an empty label and answer for the rest ("a..b.com" -> "b.com"); such a
  // name is no domain, so it stays as it is.
  if (name.empty() || name.front() == '.' || name.find("..") != std::string::npos) return name;
  const char* registrable = psl_registrable_domain(context_->psl, name.c_str());
  if (registrable == nullptr) return name;  // a public suffix itself
  return std::string(registrable);
}

}  // namespace moat::filterd
