// dkim_key_table.h - which key signs which mail: OpenDKIM-format KeyTable and SigningTable
// (filterd.cf `dkim_key_table`, `dkim_signing_table`), loaded with every key once into an
// immutable snapshot.
//
// KeyTable lines:      keyname   domain:selector:/path/to/private.key
//   ('#' comments and blank lines ignored; a relative key path is relative to the KeyTable's
//   folder; domain "%" means "the domain being signed for", as in OpenDKIM).
// SigningTable lines:  example.com          keyname      (a domain, or a full address)
//                      *@example.com        keyname      (a pattern: '*' matches any run)
//   The table may be named "refile:/path" (OpenDKIM's name for a pattern table) or "/path" /
//   "file:/path"; an entry holding '*' is a pattern in either.
//
// Lookup by the From address (DkimKeyStore::KeysFor), first level that yields anything wins:
//   1. entries equal to the whole address;  2. entries equal to its domain;
//   3. patterns matching the address, in file order;
//   4. the parent domains, nearest first (a.b.example.com -> b.example.com -> example.com -> com).
// Every entry of the winning level signs: several lines for one domain give several signatures
// (dual rsa + ed25519, or two selectors during a key rollover).
//
// Errors while loading are kInvalid "file:line: message" (unknown keyname, malformed line, a key
// that does not parse) or kIo (unreadable file); they happen only while configuration loads. A
// DkimKeyStore is immutable and shared through std::shared_ptr<const DkimKeyStore>; safe to use
// from any number of threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "filterd/dkim_signer.h"

namespace moat::filterd {

class DkimKeyStore {
 public:
  static core::Result<std::shared_ptr<const DkimKeyStore>> Load(
      const std::string& key_table_path, const std::string& signing_table_path);

  // The same from text; `base_directory` resolves relative key paths; names label errors.
  static core::Result<std::shared_ptr<const DkimKeyStore>> FromText(
      std::string_view key_table, std::string_view signing_table,
      const std::string& base_directory, const std::string& key_table_name = "KeyTable",
      const std::string& signing_table_name = "SigningTable");

  // The keys that sign mail from `address` ("user@example.com", or a bare domain). Empty: none
  // (the mail passes unsigned).
  std::vector<DkimSigningKey> KeysFor(std::string_view address) const;

  size_t key_count() const { return keys_.size(); }

 private:
  struct Key {
    std::string name;
    std::string domain;  // "%" = the signing domain
    std::string selector;
    DkimPrivateKey key;
  };
  struct Rule {
    std::string match;  // lowercased address, domain or pattern
    bool pattern = false;
    size_t key = 0;  // index into keys_
  };
  DkimKeyStore() = default;
  std::vector<Key> keys_;
  std::vector<Rule> rules_;
};

// Glob match with '*' (any run, possibly empty), ASCII case-insensitive.
bool DkimPatternMatches(std::string_view pattern, std::string_view text);

}  // namespace moat::filterd
