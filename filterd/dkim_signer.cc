// dkim_signer.cc - builds the DKIM-Signature field, then signs it with its own b= empty.
#include "filterd/dkim_signer.h"

#include <fmt/format.h>

#include "filterd/dkim_signature.h"
#include "filterd/dkim_tags.h"

namespace moat::filterd {
namespace {

using core::ErrorCode;
using core::Fail;

constexpr size_t kFoldAt = 76;

bool NameMatches(std::string_view pattern, std::string_view name) {
  if (!pattern.empty() && pattern.back() == '*') {
    pattern.remove_suffix(1);
    return name.size() >= pattern.size() && EqualsIgnoreCase(name.substr(0, pattern.size()), pattern);
  }
  return EqualsIgnoreCase(pattern, name);
}

// The h= list: present fields once per occurrence, oversigned names once more.
std::vector<std::string> SignedHeaderNames(const SplitMessageView& message,
                                           const DkimSignOptions& options) {
  std::vector<std::string> names;
  std::vector<std::string> seen;
  auto listed = [&](const std::string& name) {
    for (const auto& s : seen) {
      if (s == name) return true;
    }
    return false;
  };
  for (const auto& pattern : options.headers) {
    for (const auto& field : message.headers) {
      std::string name = AsciiLower(field.name);
      if (!NameMatches(pattern, name) || listed(name)) continue;
      seen.push_back(name);
      for (const auto& other : message.headers) {
        if (EqualsIgnoreCase(other.name, name)) names.push_back(name);
      }
      for (const auto& over : options.oversigned_headers) {
        if (EqualsIgnoreCase(over, name)) names.push_back(name);
      }
    }
  }
  return names;
}

// Lays out "tag=value;" items on lines of at most kFoldAt characters where possible.
class FieldWriter {
 public:
  FieldWriter() : field_("DKIM-Signature:"), line_length_(field_.size()) {}

  // `room` asks for that much space after the item on its line (for a value appended later).
  void Item(std::string_view item, size_t room = 0) {
    if (line_length_ + 1 + item.size() + room > kFoldAt) {
      field_ += "\r\n\t";
      line_length_ = 1;
    } else {
      field_ += ' ';
      ++line_length_;
    }
    field_ += item;
    line_length_ += item.size();
  }

  // A long value folded at its own separators (h=) or anywhere (b=).
  void Folded(std::string_view tag, const std::vector<std::string>& pieces, bool last) {
    std::string first = std::string(tag) + "=";
    Item(first + (pieces.empty() ? "" : pieces[0]));
    for (size_t i = 1; i < pieces.size(); ++i) {
      if (line_length_ + pieces[i].size() + 1 > kFoldAt) {
        field_ += "\r\n\t";
        line_length_ = 1;
      }
      field_ += pieces[i];
      line_length_ += pieces[i].size();
    }
    if (!last) {
      field_ += ';';
      ++line_length_;
    }
  }

  const std::string& field() const { return field_; }

 private:
  std::string field_;
  size_t line_length_;
};

std::vector<std::string> Chunks(std::string_view text, size_t size) {
  std::vector<std::string> out;
  for (size_t at = 0; at < text.size(); at += size) out.emplace_back(text.substr(at, size));
  return out;
}

}  // namespace

const std::vector<std::string>& DefaultDkimSignedHeaders() {
  static const std::vector<std::string> kHeaders = {
      "from",        "subject",      "date",         "to",
      "cc",          "message-id",   "reply-to",     "mime-version",
      "content-type", "content-transfer-encoding", "in-reply-to", "references",
      "list-*"};
  return kHeaders;
}

core::Result<std::string> SignDkim(std::string_view message, const DkimSigningKey& key,
                                   int64_t now, const DkimSignOptions& options) {
  auto split = SplitMessage(message);
  if (!split) return Fail(split.error().WithContext("dkim sign"));
  bool has_from = false;
  for (const auto& field : split->headers) has_from |= EqualsIgnoreCase(field.name, "from");
  if (!has_from) return Fail(ErrorCode::kInvalid, "dkim sign: message has no From header field");

  const DkimAlgorithm algorithm = key.key.type() == DkimKeyType::kEd25519
                                      ? DkimAlgorithm::kEd25519Sha256
                                      : DkimAlgorithm::kRsaSha256;
  uint64_t body_length = 0;
  std::string body = CanonicalizeBody(split->body, options.body_canonicalization, &body_length);
  std::string body_hash = EncodeBase64(DkimDigest(DkimHash::kSha256, body));
  std::vector<std::string> names = SignedHeaderNames(*split, options);

  FieldWriter writer;
  writer.Item("v=1;");
  writer.Item(fmt::format("a={};", DkimAlgorithmName(algorithm)));
  writer.Item(fmt::format("c={}/{};", DkimCanonicalizationName(options.header_canonicalization),
                          DkimCanonicalizationName(options.body_canonicalization)));
  writer.Item(fmt::format("d={};", key.domain));
  writer.Item(fmt::format("s={};", key.selector));
  if (!options.identity.empty()) writer.Item(fmt::format("i={};", options.identity));
  writer.Item(fmt::format("t={};", now));
  if (options.lifetime) writer.Item(fmt::format("x={};", now + options.lifetime->count()));
  if (options.body_length) writer.Item(fmt::format("l={};", body_length));
  std::vector<std::string> h_pieces;
  for (size_t i = 0; i < names.size(); ++i) h_pieces.push_back(names[i] + (i + 1 < names.size() ? ":" : ""));
  writer.Folded("h", h_pieces, false);
  writer.Item(fmt::format("bh={};", body_hash));
  writer.Item("b=", 24);

  std::string data = CanonicalSignedHeaders(*split, names, options.header_canonicalization);
  std::string own;
  CanonicalizeHeader(writer.field(), options.header_canonicalization, &own);
  own.resize(own.size() - 2);  // the signature's own field is hashed without its CRLF
  data += own;
  auto signature = key.key.Sign(DkimHash::kSha256, data);
  if (!signature) return Fail(signature.error().WithContext("dkim sign"));

  // b= goes last and is deleted before hashing, so its folding is free.
  std::string field = writer.field();
  std::string b = EncodeBase64(*signature);
  size_t line_start = field.rfind('\n');
  size_t used = field.size() - (line_start == std::string::npos ? 0 : line_start + 1);
  size_t room = used < kFoldAt ? kFoldAt - used : 0;
  field += b.substr(0, room);
  for (const auto& chunk : Chunks(b.size() > room ? std::string_view(b).substr(room) : "", 72)) {
    field += "\r\n\t" + chunk;
  }
  field += "\r\n";
  if (options.line_ending != "\r\n") {
    std::string converted;
    for (size_t at = 0; at < field.size();) {
      if (field.compare(at, 2, "\r\n") == 0) {
        converted += options.line_ending;
        at += 2;
      } else {
        converted += field[at++];
      }
    }
    field = std::move(converted);
  }
  return field;
}

core::Result<std::string> SignDkimAll(std::string_view message,
                                      std::span<const DkimSigningKey> keys, int64_t now,
                                      const DkimSignOptions& options) {
  std::string fields;
  for (const auto& key : keys) {
    auto field = SignDkim(message, key, now, options);
    if (!field) return Fail(field.error());
    fields += *field;
  }
  return fields;
}

}  // namespace moat::filterd
