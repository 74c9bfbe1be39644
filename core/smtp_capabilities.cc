// smtp_capabilities.cc - EHLO keyword parsing for the client.
#include "core/smtp_capabilities.h"

#include <charconv>

namespace moat::core {
namespace {

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> words;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
    std::size_t end = pos;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t') ++end;
    if (end > pos) words.push_back(Upper(text.substr(pos, end - pos)));
    pos = end;
  }
  return words;
}

void AddUnique(std::vector<std::string>& list, std::string word) {
  for (const auto& existing : list) {
    if (existing == word) return;
  }
  list.push_back(std::move(word));
}

}  // namespace

bool SmtpCapabilities::HasAuth(std::string_view mechanism) const {
  for (const auto& m : auth_mechanisms) {
    if (m == mechanism) return true;
  }
  return false;
}

SmtpCapabilities ParseEhloReply(const SmtpReply& reply) {
  SmtpCapabilities caps;
  caps.esmtp = true;
  auto lines = reply.Lines();
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> words = Words(lines[i]);
    if (words.empty()) continue;
    std::string keyword = words.front();
    if (keyword.starts_with("AUTH=")) {
      words.front() = keyword.substr(5);
      keyword = "AUTH";
      words.insert(words.begin(), keyword);
    }
    if (keyword == "PIPELINING") {
      caps.pipelining = true;
    } else if (keyword == "SIZE") {
      caps.size = true;
      if (words.size() > 1) {
        std::uint64_t limit = 0;
        auto [ptr, ec] = std::from_chars(words[1].data(), words[1].data() + words[1].size(), limit);
        if (ec == std::errc() && ptr == words[1].data() + words[1].size()) caps.size_limit = limit;
      }
    } else if (keyword == "STARTTLS") {
      caps.starttls = true;
    } else if (keyword == "8BITMIME") {
      caps.eight_bit_mime = true;
    } else if (keyword == "DSN") {
      caps.dsn = true;
    } else if (keyword == "SMTPUTF8") {
      caps.smtputf8 = true;
    } else if (keyword == "ENHANCEDSTATUSCODES") {
      caps.enhanced_status_codes = true;
    } else if (keyword == "CHUNKING") {
      caps.chunking = true;
    } else if (keyword == "AUTH") {
      for (std::size_t w = 1; w < words.size(); ++w) AddUnique(caps.auth_mechanisms, words[w]);
    } else if (keyword == "XFORWARD") {
      for (std::size_t w = 1; w < words.size(); ++w) AddUnique(caps.xforward_attributes, words[w]);
    }
  }
  return caps;
}

}  // namespace moat::core
