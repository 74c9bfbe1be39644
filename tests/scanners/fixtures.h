// fixtures.h - test material for the scanners tests, built at test time.
//
// EICAR comes from a base64 constant (so no file in the tree is itself "infected"); clam.exe and
// its 40+ containers come from Debian's clamav-testfiles; the ClamAV database is generated with
// ClamAV's own sigtool from those files; archives are made with the real tools (zip, 7z, tar,
// gcab, bsdtar, xz, ...). Third-party corpora (MIME test messages, ClamAV's upstream samples)
// are found through SharedCorpus(); tests that need them skip when they are absent.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace moat::scanners::testing {

inline std::string Base64Encode(std::string_view in, size_t line = 76) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t column = 0;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
    column += 4;
    if (line > 0 && column >= line) {
      out += "\r\n";
      column = 0;
    }
  }
  if (column > 0) out += "\r\n";
  return out;
}

inline std::string Base64Decode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+')
      v = 62;
    else if (c == '/')
      v = 63;
    else
      continue;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

inline std::string Eicar() {
  return Base64Decode(
      "WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNULUZJTEUhJEgrSCo"
      "=");
}

inline constexpr const char* kClamTestFiles = "/usr/share/clamav-testfiles";

inline std::string ReadBinaryFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void WriteBinaryFile(const std::string& path, std::string_view data) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

inline std::string ClamExe() { return ReadBinaryFile(std::string(kClamTestFiles) + "/clam.exe"); }

// Runs a tool and fails the test when it does not exit 0.
inline std::string RunTool(const std::vector<std::string>& argv, const std::string& cwd = "") {
  moat::testing::CommandOptions options;
  options.cwd = cwd;
  options.timeout = std::chrono::milliseconds(300'000);
  moat::testing::CommandResult result = moat::testing::RunCommand(argv, options);
  std::string line;
  for (const std::string& a : argv) line += a + " ";
  EXPECT_EQ(result.exit_code, 0) << line << "\n" << result.err << result.out;
  return result.out;
}

// A small ClamAV database made by ClamAV's own sigtool: EICAR and clam.exe by MD5 (.hdb) and
// SHA-256 (.hsb), and body patterns (.ndb) for both, so packed and archived copies are found.
inline std::string BuildTestDatabase(const moat::testing::TempDir& dir) {
  std::string db = dir.Path("clamav-db");
  std::filesystem::create_directories(db);
  WriteBinaryFile(dir.Path("sigsrc/eicar.com"), Eicar());
  std::string clam = std::string(kClamTestFiles) + "/clam.exe";
  std::string hdb = RunTool({"sigtool", "--md5", dir.Path("sigsrc/eicar.com")}) +
                    RunTool({"sigtool", "--md5", clam});
  std::string hsb = RunTool({"sigtool", "--sha256", dir.Path("sigsrc/eicar.com")}) +
                    RunTool({"sigtool", "--sha256", clam});
  // sigtool names each signature after its file; make the names say what they are.
  auto rename = [](std::string text) {
    std::string out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      size_t colon = line.rfind(':');
      std::string file = line.substr(colon + 1);
      out += line.substr(0, colon + 1) +
             (file == "eicar.com" ? "Eicar-Test-Signature" : "ClamAV-Test-File") + "\n";
    }
    return out;
  };
  WriteBinaryFile(db + "/test.hdb", rename(hdb));
  WriteBinaryFile(db + "/test.hsb", rename(hsb));
  moat::testing::CommandOptions hex_options;
  hex_options.stdin_data = "CLAMessageBoxA";
  std::string clam_hex = moat::testing::RunCommand({"sigtool", "--hex-dump"}, hex_options).out;
  hex_options.stdin_data = Eicar();
  std::string eicar_hex = moat::testing::RunCommand({"sigtool", "--hex-dump"}, hex_options).out;
  auto trim = [](std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  };
  WriteBinaryFile(db + "/test.ndb", "Eicar-Test-Signature.NDB:0:*:" + trim(eicar_hex) +
                                        "\nClamAV-Test-File.NDB:0:*:" + trim(clam_hex) + "\n");
  return db;
}

// A message with one text part and one base64 attachment per (name, bytes, type).
struct Attachment {
  std::string name;
  std::string bytes;
  std::string type = "application/octet-stream";
};

inline std::string MessageWith(const std::vector<Attachment>& attachments,
                               const std::string& subject = "test") {
  std::string m =
      "From: sender@example.org\r\nTo: rcpt@example.net\r\nSubject: " + subject +
      "\r\nMessage-ID: <t@example.org>\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"=-=-=\"\r\n\r\n"
      "--=-=-=\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSee attachment.\r\n";
  for (const Attachment& a : attachments) {
    m += "--=-=-=\r\nContent-Type: " + a.type + "; name=\"" + a.name +
         "\"\r\nContent-Disposition: attachment; filename=\"" + a.name +
         "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + Base64Encode(a.bytes);
  }
  m += "--=-=-=--\r\n";
  return m;
}

// Where the shared third-party corpora are: $MOAT_SHARED_CORPUS, ../shared/corpus beside the
// source tree, or /work/shared/corpus.
inline std::optional<std::string> SharedCorpus(const std::string& sub) {
  std::vector<std::string> roots;
  if (const char* env = std::getenv("MOAT_SHARED_CORPUS")) roots.push_back(env);
  roots.push_back(moat::testing::SourcePath("../shared/corpus"));
  roots.push_back(moat::testing::SourcePath("../../shared/corpus"));
  roots.push_back("/work/shared/corpus");
  for (const std::string& root : roots) {
    std::string path = root + "/" + sub;
    if (std::filesystem::exists(path)) return path;
  }
  return std::nullopt;
}

}  // namespace moat::scanners::testing
