// web_test_messages.h - held mail for the web review's tests, built at test time: a virus in a
// zip attachment (EICAR from a base64 constant, the zip written here as a stored archive), a
// hostile message whose subject, names, headers, body and trace carry HTML and JavaScript, and
// plain spam; plus their metadata and decision traces in `moat scan --json` form.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "quarantine/quarantine_entry.h"

namespace moat::cli::webtest {

namespace q = moat::quarantine;

inline std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
    if ((i / 3 + 1) % 19 == 0) out += "\r\n";
  }
  if (out.empty() || out.back() != '\n') out += "\r\n";
  return out;
}

inline std::string FromBase64(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '+'             ? 62
            : c == '/'             ? 63
                                   : -1;
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// The EICAR test file, kept encoded so no file in the tree is itself "infected".
inline std::string Eicar() {
  return FromBase64(
      "WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNULUZJTEUhJEgrSCo"
      "=");
}

inline uint32_t Crc32(std::string_view data) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// A zip archive holding `files` stored (method 0), as any zip tool reads it.
inline std::string StoredZip(const std::vector<std::pair<std::string, std::string>>& files) {
  auto u16 = [](std::string& s, uint16_t v) {
    s.push_back(static_cast<char>(v & 0xff));
    s.push_back(static_cast<char>(v >> 8));
  };
  auto u32 = [&](std::string& s, uint32_t v) {
    u16(s, static_cast<uint16_t>(v & 0xffff));
    u16(s, static_cast<uint16_t>(v >> 16));
  };
  std::string zip, central;
  for (const auto& [name, data] : files) {
    uint32_t offset = static_cast<uint32_t>(zip.size());
    uint32_t crc = Crc32(data);
    u32(zip, 0x04034b50);
    u16(zip, 10), u16(zip, 0), u16(zip, 0), u16(zip, 0), u16(zip, 0x5821);  // 2024-01-01
    u32(zip, crc), u32(zip, static_cast<uint32_t>(data.size()));
    u32(zip, static_cast<uint32_t>(data.size()));
    u16(zip, static_cast<uint16_t>(name.size())), u16(zip, 0);
    zip += name + data;
    u32(central, 0x02014b50);
    u16(central, 20), u16(central, 10), u16(central, 0), u16(central, 0), u16(central, 0);
    u16(central, 0x5821), u32(central, crc), u32(central, static_cast<uint32_t>(data.size()));
    u32(central, static_cast<uint32_t>(data.size()));
    u16(central, static_cast<uint16_t>(name.size())), u16(central, 0), u16(central, 0);
    u16(central, 0), u16(central, 0), u32(central, 0), u32(central, offset);
    central += name;
  }
  uint32_t central_offset = static_cast<uint32_t>(zip.size());
  zip += central;
  u32(zip, 0x06054b50);
  u16(zip, 0), u16(zip, 0), u16(zip, static_cast<uint16_t>(files.size()));
  u16(zip, static_cast<uint16_t>(files.size()));
  u32(zip, static_cast<uint32_t>(central.size())), u32(zip, central_offset), u16(zip, 0);
  return zip;
}

inline std::string VirusMessage() {
  return "Return-Path: <billing@invoices.example>\r\n"
         "From: Billing <billing@invoices.example>\r\n"
         "To: alice@corp.example\r\n"
         "Subject: Your invoice 4711\r\n"
         "Message-ID: <virus-4711@invoices.example>\r\n"
         "Date: Sat, 21 Nov 2026 08:00:00 +0000\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
         "\r\n"
         "--b1\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n"
         "\r\n"
         "Please find the invoice attached.\r\n"
         "--b1\r\n"
         "Content-Type: application/zip; name=\"invoice.zip\"\r\n"
         "Content-Disposition: attachment; filename=\"invoice.zip\"\r\n"
         "Content-Transfer-Encoding: base64\r\n"
         "\r\n" +
         Base64(StoredZip({{"eicar.com", Eicar()}})) + "--b1--\r\n";
}

inline q::EntryMetadata VirusMetadata() {
  q::EntryMetadata m;
  m.content_class = q::ContentClass::kVirus;
  m.reason = "Eicar-Test-Signature in 2/invoice.zip/eicar.com";
  m.trace_json =
      R"({"verdict":"VIRUS","score":0,"policy_bank":"inbound",)"
      R"("parts":[{"path":"2/invoice.zip/eicar.com","name":"eicar.com"}],)"
      R"("findings":[{"stage":"clamav","name":"Eicar-Test-Signature","class":"VIRUS",)"
      R"("score":0,"part":"2/invoice.zip/eicar.com","detail":"ClamAV found Eicar-Test-Signature"},)"
      R"({"stage":"banned","name":"exe-in-zip","class":"BANNED","score":0,)"
      R"("part":"2/invoice.zip/eicar.com","detail":"banned rule exe-in-zip matched eicar.com"}],)"
      R"("dkim":[{"domain":"invoices.example","selector":"s2026","algorithm":"rsa-sha256",)"
      R"("result":"none"}]})";
  m.envelope_sender = "billing@invoices.example";
  m.recipients = {"alice@corp.example"};
  m.client_address = "192.0.2.25";
  m.policy_bank = "inbound";
  return m;
}

// Everything a sender controls carries markup and script; shown as text it runs nothing.
inline constexpr const char* kHostileSubject =
    "<script>window.__moatPwned=1</script><img src=x onerror=\"window.__moatPwned=2\"> Prize";
inline constexpr const char* kHostileFileName = "<img src=x onerror=window.__moatPwned=3>.html";

inline std::string HostileMessage() {
  return std::string(
             "From: \"<b onmouseover=window.__moatPwned=6>Eve</b>\" <eve@evil.example>\r\n") +
         "To: bob@corp.example\r\n"
         "Subject: " +
         kHostileSubject +
         "\r\n"
         "Message-ID: <hostile-1@evil.example>\r\n"
         "X-Evil: <svg onload=window.__moatPwned=7>\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"h1\"\r\n"
         "\r\n"
         "--h1\r\n"
         "Content-Type: multipart/alternative; boundary=\"h2\"\r\n"
         "\r\n"
         "--h2\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n"
         "\r\n"
         "Plain part <script>window.__moatPwned=8</script>\r\n"
         "--h2\r\n"
         "Content-Type: text/html; charset=utf-8\r\n"
         "\r\n"
         "<html><body><script>window.__moatPwned=4</script>"
         "<img src=\"http://127.0.0.1:9/track.png\" onerror=\"window.__moatPwned=5\">"
         "<p>Bold offer inside HTML</p></body></html>\r\n"
         "--h2--\r\n"
         "--h1\r\n"
         "Content-Type: text/html; name=\"" +
         kHostileFileName +
         "\"\r\n"
         "Content-Disposition: attachment; filename=\"" +
         kHostileFileName +
         "\"\r\n"
         "\r\n"
         "<iframe src=\"javascript:window.__moatPwned=9\"></iframe>\r\n"
         "--h1--\r\n";
}

inline q::EntryMetadata HostileMetadata() {
  q::EntryMetadata m;
  m.content_class = q::ContentClass::kSpam;
  m.score = 42.5;
  m.reason = "score 42.5 hits: <script>window.__moatPwned=10</script>";
  m.trace_json =
      R"({"verdict":"SPAM","score":42.5,"policy_bank":"inbound","findings":[)"
      R"({"stage":"rules","name":"<img src=x onerror=window.__moatPwned=11>","class":"SPAM",)"
      R"("score":42.5,"part":"1/2","detail":"<script>window.__moatPwned=12</script>"}]})";
  m.envelope_sender = "eve@evil.example";
  m.recipients = {"bob@corp.example"};
  m.subject = kHostileSubject;
  m.policy_bank = "inbound";
  return m;
}

inline std::string SpamMessage(int n) {
  return "From: Offers <offers" + std::to_string(n) +
         "@spam.example>\r\n"
         "To: carol@corp.example\r\n"
         "Subject: Cheap watches " +
         std::to_string(n) +
         "\r\n"
         "Message-ID: <spam-" +
         std::to_string(n) +
         "@spam.example>\r\n"
         "\r\n"
         "Buy now, offer " +
         std::to_string(n) + ".\r\n";
}

inline q::EntryMetadata SpamMetadata(int n) {
  q::EntryMetadata m;
  m.content_class = n % 3 == 0 ? q::ContentClass::kSpammy : q::ContentClass::kSpam;
  m.score = 5.0 + n;
  m.reason = "score high";  // no decision trace: the page must do without
  m.envelope_sender = "offers" + std::to_string(n) + "@spam.example";
  m.recipients = {"carol@corp.example", "dave@corp.example"};
  m.policy_bank = "inbound";
  return m;
}

}  // namespace moat::cli::webtest
