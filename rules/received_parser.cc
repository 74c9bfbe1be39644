// received_parser.cc - a port of the common cases of Message::Metadata::Received.
#include "rules/received_parser.h"

#include <fmt/format.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <memory>

#include "core/regex.h"

namespace moat::rules {

namespace {

const std::string kIp =
    R"RE((?:\b(?<!:)(?:1\d\d|2[0-4]\d|25[0-5]|[1-9]\d|\d)(?:\.(?:1\d\d|2[0-4]\d|25[0-5]|[1-9]\d|\d)){3}\b|(?i:(?:IPv6:|(?<![a-f0-9:]))(?:(?:[a-f0-9]{1,4})?:){2,7}(?:[a-f0-9]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![a-f0-9:]))))RE";

// Compiles the patterns used below once; "{IP}" in a pattern stands for an IP address.
class Patterns {
 public:
  static const Patterns& Get() {
    static const Patterns kInstance;
    return kInstance;
  }
  const core::Regex& operator()(const std::string& pattern) const {
    auto it = compiled_.find(pattern);
    if (it != compiled_.end()) return it->second;
    std::abort();  // every pattern is registered in the constructor
  }
  static std::string Expand(const std::string& pattern) {
    std::string out;
    for (size_t i = 0; i < pattern.size(); ++i) {
      if (pattern.compare(i, 4, "{IP}") == 0) {
        out += kIp;
        i += 3;
      } else {
        out += pattern[i];
      }
    }
    return out;
  }

 private:
  Patterns();
  void Add(const std::string& pattern) {
    if (compiled_.count(pattern)) return;
    auto re = core::Regex::Compile(Expand(pattern));
    if (!re) {
      fmt::print(stderr, "received_parser: {}: {}\n", re.error().message(), pattern);
      std::abort();
    }
    compiled_.emplace(pattern, std::move(*re));
  }
  std::map<std::string, core::Regex> compiled_;
  friend struct Table;
};

// One "if (/pattern/) { fields; goto enough; }" branch of SpamAssassin's parser.
struct Branch {
  std::string pattern;
  // Which group goes into which field: "helo=1 rdns=2 ip=3 by=4", "ignore" for return 0.
  std::string fields;
  bool looked_up_dns = false;
};

// The branches tried on the text after "from ", in SpamAssassin's order.
const std::vector<Branch>& Branches() {
  static const std::vector<Branch> kBranches = {
      {R"(^(\S*) \(\[({IP})\][^\)]{0,40}\) by (\S+) with Microsoft SMTPSVC)", "helo=1 ip=2 by=3"},
      {R"(^mail pickup service by (\S+) with Microsoft SMTPSVC$)", "ignore"},
      {R"(^(\S+) \(\[?({IP})(?:%[A-Z0-9._~-]*)?\]?\) by (\S+) .* with (?:Microsoft SMTP Server|mapi id) )",
       "helo=1 ip=2 by=3 noid"},
      // Exim
      {R"(^\[({IP})\] \((.*?)\) by (\S+) .*Exim)", "ip=1 eximsub=2 by=3"},
      {R"(^(\S+) \(\[({IP})\](.*?)\) by (\S+) .*Exim)", "rdns=1 helohost=1 ip=2 eximsub=3 by=4"},
      {R"(^(\S+) \[({IP})\](:\d+)? by (\S+) .*Exim)", "rdns=1 ip=2 helo=1 by=4"},
      // Postfix
      {R"(^(\S+) \((\S+) \[({IP})\]\) by (\S+) .*\(Postfix\) with)", "helo=1 rdns=2 ip=3 by=4",
       true},
      {R"(^(\S+) \((\S+)\[({IP})\]\) by (\S+) .*\(Postfix\) with)", "helo=1 rdns=2 ip=3 by=4",
       true},
      {R"(^({IP}) \(\[{IP}\]\) by (\S+).*\bwith HTTP\b)", "ip=1 by=2"},
      {R"(^(\S+) \((\S+) \[({IP})\].*\) by (\S+) \((?!qmail-))",
       "helo=1 rdns=2 ip=3 by=4 identstrip", true},
      {R"(^(\S+) \((\S+) \[({IP})\]\) by (\S+) with \S+ \()", "helo=1 rdns=2 ip=3 by=4", true},
      {R"(^(\S+) \(\[({IP})\] helo=(\S+)\) by (\S+) with )", "rdns=1 ip=2 helo=3 by=4"},
      {R"(^(\S+) \(<unknown\S*>\[({IP})\]\) by (\S+) )", "helo=1 ip=2 by=3", true},
      {R"(^(\S+) \((\S+\.\S+)\[({IP})\]\) by (\S+) )", "helo=1 rdns=2 ip=3 by=4", true},
      {R"(^(\S+) \((\S*)\@\[({IP})\].*\) by (\S+) \()", "helo=1 ident=2 ip=3 by=4"},
      {R"(^(\S+) \((?:HELO|EHLO) (\S*)\) \(({IP})\) by (\S+) \(qpsmtpd\/\S+\) with (?:ESMTP|SMTP))",
       "rdns=1 helo=2 ip=3 by=4"},
      {R"(^(\S+) \((?:HELO|EHLO) (\S*)\) \[({IP})\] by (\S+) \([^\)]+\) with (?:ESMTP|SMTP))",
       "rdns=1 helo=2 ip=3 by=4"},
      // qmail
      {R"(^(\S+) \((?:HELO|EHLO) ([^ \(\)]*)\) \((\S*)\@\[?({IP})\]?\)(?: \(envelope-sender <\S+>\))? by (\S+).* with (?:.* )?(?:SMTP|QMQP)(?! id ))",
       "rdns=1 helo=2 ident=3 ip=4 by=5"},
      {R"(^(\S+) \((?:HELO|EHLO) ([^ \(\)]*)\) \(\[?({IP})\]?\)(?: \(envelope-sender <\S+>\))? by (\S+).* with (?:.* )?(?:SMTP|QMQP)(?! id ))",
       "rdns=1 helo=2 ip=3 by=4"},
      {R"(^(\S+) \((\S*)\@\[?({IP})\]?\)(?: \(envelope-sender <\S+>\))? by (\S+).* with (?:.* )?(?:SMTP|QMQP)(?! id ))",
       "rdns=1 helo=1 ident=2 ip=3 by=4"},
      {R"(^(\S+) \(\[?({IP})\]?\)(?: \(envelope-sender <\S+>\))? by (\S+).* with (?:.* )?(?:SMTP|QMQP)(?! id ))",
       "rdns=1 helo=1 ip=2 by=3"},
      {R"(^\[({IP})\] by (\S+) via HTTP$)", "ip=1 by=2"},
      {R"(^(\S+) \( \[({IP})\]\).*? by (\S+) )", "ip=2 by=3"},
      {R"(^\((\S+) \[({IP})\]\) by (\S+) )", "helo=1 ip=2 by=3"},
      {R"(^\[({IP})\] by (\S+) )", "ip=1 by=2"},
      {R"(^\(\[?({IP})\]?\) by (\S+) )", "ip=1 by=2"},
      {R"(^(\S+) \[({IP})\] by (\S+) \[{IP}\] with )", "helo=1 ip=2 by=3"},
      {R"(^(\S+) \(\[({IP})\]\) by (\S+) \()", "helo=1 ip=2 by=3"},
      {R"(^(\S+) \((\S+) \[({IP})\]\).*? by (\S+)\b)", "helo=1 ip=3 by=4"},
      {R"(^(\S+) \(\[({IP})(?:[.:]\d+)?\]\).*? by (\S+) )", "helo=1 ip=2 by=3"},
      {R"(with (?:POP3|IMAP))", "ignore"},
      {R"(^(\S+) \((?:HELO|EHLO) ([^\)]*)\) \((\S*@)?\[?({IP})\]?\).* by (\S+) )",
       "rdns=1 helo=2 ident=3 ip=4 by=5", true},
      {R"(^(\S+) \((\S*@)?\[?({IP})\]?\).* by (\S+) )", "rdns=1 helo=1 ident=2 ip=3 by=4", true},
      {R"(^\[({IP})\] by (\S+) with http for )", "ip=1 by=2"},
      {R"(^(\S+)\(({IP})\) by (\S+) via smap )", "rdns=1 ip=2 by=3"},
      {R"(^\S+ by \S+ with BSMTP)", "ignore"},
      {R"(^(\S+) \((\S+) \[({IP})\]\) by (\S+) with )", "helo=1 rdns=2 ip=3 by=4"},
      {R"(^(\S+) \((?:HELO|EHLO) (\S*)\) \((?:(\S+)\@)?({IP}).*?\) by (\S+) with )",
       "rdns=1 helo=2 ident=3 ip=4 by=5"},
      {R"(^\[({IP})\] \((?:account \S+ )?(?:HELO|EHLO) (\S*)\) by (\S+) \()", "ip=1 helo=2 by=3"},
      {R"(^\(\[({IP})\]\) by (\S+) with )", "ip=1 by=2"},
      {R"(^([^\d]\S+) \(({IP})\) by (\S+) )", "helo=1 ip=2 by=3"},
      {R"(^({IP}) by (\S+) with )", "ip=1 by=2"},
      {R"(^(\S+) \((\S+)\[({IP})\]\) by (\S+) )", "helo=1 rdns=2 ip=3 by=4"},
      {R"(^\[({IP})\]\S+ \((?:HELO|EHLO) (\S*)\) by (\S+) )", "ip=1 helo=2 by=3"},
      {R"(^({IP}) \((?:HELO|EHLO) (\S*)\) by (\S+) )", "ip=1 helo=2 by=3"},
      {R"(^(\S+) \[({IP})\] by (\S+) )", "helo=1 ip=2 by=3"},
      {R"(^(\S+)\(({IP})\) by (\S+) )", "rdns=1 ip=2 by=3"},
      {R"(^(\S+) \(unverified \[({IP})\]\) by (\S+) )", "helo=1 ip=2 by=3"},
      {R"(^({IP}) \([A-Za-z][^\)]+\) by (\S+) with )", "ip=1 by=2"},
      {R"(^(\S+) \((?:\S+\@)?({IP})\) by (\S+) with )", "rdns=1 ip=2 by=3"},
      {R"(^X-Originating-IP: ({IP})$)", "ip=1 noby"},
      // Local hand-overs SpamAssassin ignores.
      {R"(^\S+ \([^\s\@]+\@(?:localhost|127\.0\.0\.1)\) by \S+ \()", "ignore"},
      {R"(^\S+ \S+ by \S+ with local-e?smtp )", "ignore"},
      {R"(^\S+\@\S+ by \S+ )", "ignore"},
      {R"(^(?:localhost|127\.0\.0\.1) \((?:\S+\@)?(?:localhost|127\.0\.0\.1)[\)\[])", "ignore"},
      {R"(^\S+ \((?:\S+\@)?(?:localhost|127\.0\.0\.1)\) )", "ignore"},
      {R"(^\S+ by \S+ with local)", "ignore"},
      {R"(^\S+ by \S+ (?:with|via|for|\())", "ignore"},
      {R"(^\S+ (?:(?:with|via|for) \S+|\(unverified\)) by\b)", "ignore"},
      {R"(^\S+ id \S+$)", "ignore"},
  };
  return kBranches;
}

Patterns::Patterns() {
  for (const Branch& b : Branches()) Add(b.pattern);
  for (
      const char* p :
      {R"((?i)^\(?from )",
       R"(\bwith local for\b)",
       R"((?i)^from (\S+) by [^\s;]+ ?;)",
       R"(^\[[\d.]+\]$)",
       R"([\s;]+(?:(?:Mon|T(?:ue|hu)|Wed|Fri|S(?:at|un)), )?\d+ (?:J(?:an|u[nl])|Feb|Ma[ry]|A(?:pr|ug)|Sep|Oct|Nov|Dec) \d+ \d+:\d+(?::\d+)? \S+$)",
       R"( id <?([^\s<>;]{3,}))",
       R"(\bhelo=([-A-Za-z0-9\.\^+_&:=?!@%*\$\\\/]+)(?:[^-A-Za-z0-9\.\^+_&:=?!@%*\$\\\/]|$))",
       R"(\b(?:HELO|EHLO) ([-A-Za-z0-9\.\^+_&:=?!@%*\$\\\/]+)(?:[^-A-Za-z0-9\.\^+_&:=?!@%*\$\\\/]|$))",
       R"( by (\S+)(?:[^-A-Za-z0-9\;\.]|$))",
       R"((?i) with ((?:ES|L|UTF8S|UTF8L)MTPS?A|ASMTP|HTTP[SU]?)(?: |;|$))",
       R"(^from .*?(?:\]\)|\)\]) \(AUTH: (LOGIN|PLAIN|DIGEST-MD5|CRAM-MD5) \S+(?:, .*?)?\) by )",
       R"(^from .*?(?:\](?: \([^)]*\))?\)|\)\]) .*?\(.*?authenticated.*?\).*? by)",
       R"(\) \(Authenticated sender: \S+\) by \S+ \(([^\)]+)\) with )",
       R"((?i) by .* \(via (HTTP.?)\)(?: |;|$))",
       R"((?i)(?:return-path:? |envelope-(?:sender|from)[ =])(\S+)\b)",
       R"( \((?:SquirrelMail|NaSMail) authenticated user )",
       R"(({IP})\b(?![.-]).{10,80}by (\S+) with HTTP)",
       R"(helo=(\S+))",
       R"(ident=(\S*))",
       R"(^(\S+)[^-A-Za-z0-9\.])",
       R"(\[({IP})\])",
       R"((?i)^(?:10|127|169\.254|172\.(?:1[6-9]|2[0-9]|3[01])|192\.168|100\.(?:6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7]))\.|^fe[89ab][0-9a-f]:|^(?:0{1,4}:){7}0{0,3}1$|^::1$)"}) {
    Add(p);
  }
}

std::optional<std::vector<std::string>> Match(const std::string& pattern, const std::string& s) {
  auto m = Patterns::Get()(pattern).Search(s);
  if (!m || !m->has_value()) return std::nullopt;
  std::vector<std::string> groups;
  for (size_t i = 0; i < (*m)->group_count(); ++i) groups.emplace_back((*m)->Text(s, i));
  return groups;
}

std::string StripChars(std::string s) {
  for (char& c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == '\0' ||
        c == '#' || c == '[' || c == ']' || c == '(' || c == ')' || c == '<' || c == '>' ||
        c == '|') {
      c = '!';
    }
  }
  return s;
}

}  // namespace

std::string Relay::AsString() const {
  return fmt::format(
      "[ ip={} rdns={} helo={} by={} ident={} envfrom={} intl={} id={} auth={} msa=0 ]", ip, rdns,
      helo, by, ident, envfrom, internal ? 1 : 0, id, auth);
}

ReceivedParse ParseReceivedLine(const std::string& input) {
  ReceivedParse out;
  // Collapse whitespace, trim, drop trailing semicolons.
  std::string s;
  for (char c : input) {
    bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    if (space) {
      if (!s.empty() && s.back() != ' ') s += ' ';
    } else {
      s += c;
    }
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == ';')) s.pop_back();
  if (!Match(R"((?i)^\(?from )", s)) {
    out.kind = ReceivedParse::Kind::kIgnored;
    return out;
  }
  if (Match(R"(\bwith local for\b)", s)) {
    out.kind = ReceivedParse::Kind::kIgnored;
    return out;
  }
  if (auto m = Match(R"((?i)^from (\S+) by [^\s;]+ ?;)", s);
      m && !Match(R"(^\[[\d.]+\]$)", (*m)[1])) {
    out.kind = ReceivedParse::Kind::kIgnored;
    return out;
  }
  if (auto m =
          Patterns::Get()(
              R"([\s;]+(?:(?:Mon|T(?:ue|hu)|Wed|Fri|S(?:at|un)), )?\d+ (?:J(?:an|u[nl])|Feb|Ma[ry]|A(?:pr|ug)|Sep|Oct|Nov|Dec) \d+ \d+:\d+(?::\d+)? \S+$)")
              .Search(s);
      m && m->has_value()) {
    s.resize((*m)->group(0).begin);
  }
  for (size_t p; (p = s.find(")by ")) != std::string::npos;) s.replace(p, 4, ") by ");

  Relay r;
  bool looked_up_dns = false;
  if (auto m = Match(R"( id <?([^\s<>;]{3,}))", s)) r.id = (*m)[1];
  if (auto m = Match(
          R"(\bhelo=([-A-Za-z0-9\.\^+_&:=?!@%*\$\\\/]+)(?:[^-A-Za-z0-9\.\^+_&:=?!@%*\$\\\/]|$))",
          s)) {
    r.helo = (*m)[1];
  } else if (
      auto m2 = Match(
          R"(\b(?:HELO|EHLO) ([-A-Za-z0-9\.\^+_&:=?!@%*\$\\\/]+)(?:[^-A-Za-z0-9\.\^+_&:=?!@%*\$\\\/]|$))",
          s)) {
    r.helo = (*m2)[1];
  }
  if (auto m = Match(R"( by (\S+)(?:[^-A-Za-z0-9\;\.]|$))", s)) r.by = (*m)[1];
  if (s.find(" by ") != std::string::npos) {
    if (auto m = Match(R"((?i) with ((?:ES|L|UTF8S|UTF8L)MTPS?A|ASMTP|HTTP[SU]?)(?: |;|$))", s)) {
      r.auth = (*m)[1];
    } else if (
        auto m2 = Match(
            R"(^from .*?(?:\]\)|\)\]) \(AUTH: (LOGIN|PLAIN|DIGEST-MD5|CRAM-MD5) \S+(?:, .*?)?\) by )",
            s)) {
      r.auth = (*m2)[1];
    } else if (s.find("authenticated") != std::string::npos &&
               Match(R"(^from .*?(?:\](?: \([^)]*\))?\)|\)\]) .*?\(.*?authenticated.*?\).*? by)",
                     s)) {
      r.auth = "Sendmail";
    } else if (auto m3 =
                   Match(R"(\) \(Authenticated sender: \S+\) by \S+ \(([^\)]+)\) with )", s)) {
      r.auth = (*m3)[1] == "Postfix" ? "Postfix" : "Postfix (" + (*m3)[1] + ")";
    } else if (auto m4 = Match(R"((?i) by .* \(via (HTTP.?)\)(?: |;|$))", s)) {
      r.auth = (*m4)[1];
    }
  }

  bool enough = false;
  if (s.rfind("from ", 0) == 0 || s.rfind("FROM ", 0) == 0 || s.rfind("From ", 0) == 0) {
    s.erase(0, 5);
    std::optional<std::string> envfrom;
    if (auto m = Match(R"((?i)(?:return-path:? |envelope-(?:sender|from)[ =])(\S+)\b)", s))
      envfrom = (*m)[1];
    if (envfrom) r.envfrom = *envfrom;
    if (Match(R"( \((?:SquirrelMail|NaSMail) authenticated user )", s)) {
      if (auto m = Match(R"(({IP})\b(?![.-]).{10,80}by (\S+) with HTTP)", s)) {
        r.ip = (*m)[1];
        r.by = (*m)[2];
        enough = true;
      }
    }
    for (size_t b = 0; !enough && b < Branches().size(); ++b) {
      const Branch& branch = Branches()[b];
      auto m = Match(branch.pattern, s);
      if (!m) continue;
      const std::string& f = branch.fields;
      if (f == "ignore") {
        out.kind = ReceivedParse::Kind::kIgnored;
        return out;
      }
      auto group = [&](std::string_view key) -> std::optional<std::string> {
        size_t at = f.find(std::string(key) + "=");
        while (at != std::string::npos && at > 0 && f[at - 1] != ' ') {
          at = f.find(std::string(key) + "=", at + 1);
        }
        if (at == std::string::npos) return std::nullopt;
        size_t n = static_cast<size_t>(std::atoi(f.c_str() + at + key.size() + 1));
        return n < m->size() ? (*m)[n] : std::string();
      };
      if (auto v = group("ip")) r.ip = *v;
      if (auto v = group("rdns")) r.rdns = *v;
      if (auto v = group("helo")) r.helo = *v;
      if (auto v = group("helohost")) r.helo = *v;
      if (auto v = group("by")) r.by = *v;
      if (auto v = group("ident")) r.ident = *v;
      if (f.find("noid") != std::string::npos) r.id.clear();
      if (f.find("noby") != std::string::npos) r.by.clear();
      if (auto sub = group("eximsub")) {
        if (auto h = Match(R"(helo=(\S+))", *sub)) r.helo = (*h)[1];
        if (auto i = Match(R"(ident=(\S*))", *sub)) r.ident = (*i)[1];
      }
      if (f.find("identstrip") != std::string::npos) {
        if (r.rdns.rfind("IDENT:", 0) == 0 && r.rdns.find('@') != std::string::npos) {
          r.ident = r.rdns.substr(6, r.rdns.find('@') - 6);
          r.rdns.erase(0, r.rdns.find('@') + 1);
        } else if (size_t at = r.rdns.find('@'); at != std::string::npos) {
          r.ident = r.rdns.substr(0, at);
          r.rdns.erase(0, at + 1);
        }
      }
      looked_up_dns = branch.looked_up_dns;
      enough = true;
    }
    if (!enough && r.helo.empty()) {
      if (auto m = Match(R"(^(\S+)[^-A-Za-z0-9\.])", s)) r.helo = (*m)[1];
    }
  }
  if (!enough) {
    if (r.ip.empty()) {
      if (auto m = Match(R"(\[({IP})\])", s)) r.ip = (*m)[1];
    }
    if (r.ip.empty() || r.by.empty()) {
      out.kind = ReceivedParse::Kind::kUnparseable;
      return out;
    }
  }
  (void)looked_up_dns;
  while (!r.rdns.empty() && r.rdns.back() == '.') r.rdns.pop_back();
  if (r.rdns == "unknown" || r.rdns == "UNKNOWN" || r.rdns == "Unknown" ||
      (!r.rdns.empty() && r.rdns[0] == '[')) {
    r.rdns.clear();
  }
  if (r.ip.size() > 5 && (r.ip.compare(0, 5, "IPv6:") == 0 || r.ip.compare(0, 5, "ipv6:") == 0)) {
    r.ip.erase(0, 5);
  }
  if (!r.ip.empty() && r.ip.front() == '[') r.ip.erase(0, 1);
  if (!r.ip.empty() && r.ip.back() == ']') r.ip.pop_back();
  while (!r.by.empty() && r.by.back() == ';') r.by.pop_back();
  r.ip = StripChars(r.ip);
  r.rdns = StripChars(r.rdns);
  r.helo = StripChars(r.helo);
  r.by = StripChars(r.by);
  r.ident = StripChars(r.ident);
  if (!r.envfrom.empty()) {
    while (!r.envfrom.empty() && (r.envfrom.front() == '<' || r.envfrom.front() == ' '))
      r.envfrom.erase(0, 1);
    while (!r.envfrom.empty() && (r.envfrom.back() == '>' || r.envfrom.back() == ' '))
      r.envfrom.pop_back();
    r.envfrom = StripChars(r.envfrom);
  }
  r.ip_private =
      Match(
          R"((?i)^(?:10|127|169\.254|172\.(?:1[6-9]|2[0-9]|3[01])|192\.168|100\.(?:6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7]))\.|^fe[89ab][0-9a-f]:|^(?:0{1,4}:){7}0{0,3}1$|^::1$)",
          r.ip)
          .has_value();
  out.kind = ReceivedParse::Kind::kRelay;
  out.relay = std::move(r);
  return out;
}

RelayPath AnalyzeRelays(const std::vector<std::string>& received) {
  RelayPath path;
  bool in_trusted = true;
  for (const std::string& line : received) {
    ReceivedParse parsed = ParseReceivedLine(line);
    if (parsed.kind == ReceivedParse::Kind::kUnparseable) ++path.unparseable;
    if (parsed.kind != ReceivedParse::Kind::kRelay) {
      if (in_trusted) {
        ++path.last_trusted_index;
        ++path.last_internal_index;
      }
      continue;
    }
    Relay& relay = parsed.relay;
    // Without trusted_networks: trust private addresses and authenticated hops from the top.
    if (in_trusted && !relay.ip_private && relay.auth.empty()) in_trusted = false;
    if (in_trusted) {
      ++path.last_trusted_index;
      ++path.last_internal_index;
    }
    relay.internal = in_trusted;
    (in_trusted ? path.trusted : path.untrusted).push_back(relay);
    (in_trusted ? path.internal : path.external).push_back(relay);
  }
  auto join = [](const std::vector<Relay>& v) {
    std::string out;
    for (const Relay& r : v) {
      if (!out.empty()) out += ' ';
      out += r.AsString();
    }
    return out;
  };
  path.trusted_text = join(path.trusted);
  path.untrusted_text = join(path.untrusted);
  path.internal_text = join(path.internal);
  path.external_text = join(path.external);
  return path;
}

}  // namespace moat::rules
