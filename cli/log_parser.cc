// log_parser.cc - one log line into one event (formats in log_parser.h). Hand-written scanning
// rather than regular expressions: the formats are fixed by our own daemons, and a day's log of
// a busy gateway is millions of lines.
#include "cli/log_parser.h"

#include <array>
#include <cctype>
#include <charconv>

namespace moat::cli {
namespace {

using std::string_view;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Digits at text[at, at+count) as a number, or -1.
int Number(string_view text, size_t at, size_t count) {
  if (at + count > text.size()) return -1;
  int value = 0;
  for (size_t i = at; i < at + count; ++i) {
    if (!IsDigit(text[i])) return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

// "2026-11-21T13:59:22..." or "2026-11-21 13:59:22".
std::optional<LogTime> IsoTime(string_view line) {
  if (line.size() < 19 || line[4] != '-' || line[7] != '-' ||
      (line[10] != 'T' && line[10] != ' ') || line[13] != ':' || line[16] != ':') {
    return std::nullopt;
  }
  LogTime t{Number(line, 0, 4),  Number(line, 5, 2),  Number(line, 8, 2),
            Number(line, 11, 2), Number(line, 14, 2), Number(line, 17, 2)};
  if (t.year < 0 || t.month < 1 || t.month > 12 || t.day < 1 || t.day > 31 || t.hour < 0 ||
      t.hour > 23 || t.minute < 0 || t.minute > 59 || t.second < 0 || t.second > 60) {
    return std::nullopt;
  }
  return t;
}

// "Nov 21 13:59:22" (classic syslog; no year).
std::optional<LogTime> SyslogTime(string_view line) {
  static constexpr std::array<string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (line.size() < 15 || line[3] != ' ' || line[6] != ' ' || line[9] != ':' || line[12] != ':') {
    return std::nullopt;
  }
  LogTime t;
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (line.substr(0, 3) == kMonths[i]) t.month = static_cast<int>(i) + 1;
  }
  t.day = line[4] == ' ' ? Number(line, 5, 1) : Number(line, 4, 2);
  t.hour = Number(line, 7, 2);
  t.minute = Number(line, 10, 2);
  t.second = Number(line, 13, 2);
  if (t.month == 0 || t.day < 1 || t.hour < 0 || t.hour > 23 || t.minute < 0 || t.second < 0) {
    return std::nullopt;
  }
  return t;
}

// The message after "program[pid]: ", with the stderr format's "info: " level taken off; the
// whole line when there is no such prefix.
string_view MessageOf(string_view line) {
  for (size_t open = line.find('['); open != string_view::npos; open = line.find('[', open + 1)) {
    size_t at = open + 1;
    while (at < line.size() && IsDigit(line[at])) ++at;
    if (at == open + 1 || line.substr(at, 3) != "]: ") continue;
    // The program name runs back to the previous space and holds no ':' of its own.
    size_t start = line.rfind(' ', open);
    string_view program = line.substr(start == string_view::npos ? 0 : start + 1,
                                      open - (start == string_view::npos ? 0 : start + 1));
    if (program.empty() || program.find(':') != string_view::npos) continue;
    string_view message = line.substr(at + 3);
    if (message.starts_with("info: ")) message.remove_prefix(6);
    return message;
  }
  return line;
}

bool IsQueueId(string_view text) {
  if (text.size() < 6 || text.size() > 24) return false;
  bool digit = false, upper = false;
  for (char c : text) {
    if (IsDigit(c)) {
      digit = true;
    } else if (c >= 'A' && c <= 'Z') {
      upper = true;
    } else if (!(c >= 'a' && c <= 'z')) {
      return false;
    }
  }
  return digit && upper;
}

// The text between `open` (searched from `from`) and the next `close`; nullopt when absent.
std::optional<string_view> Between(string_view text, string_view open, char close,
                                   size_t from = 0) {
  size_t at = text.find(open, from);
  if (at == string_view::npos) return std::nullopt;
  at += open.size();
  size_t end = text.find(close, at);
  if (end == string_view::npos) return std::nullopt;
  return text.substr(at, end - at);
}

long long ToNumber(string_view text) {
  long long value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// "550 5.1.1 <bob@example.test>: Recipient address rejected: ..." without the address, so that
// reasons group.
std::string WithoutAddress(string_view reply) {
  std::string out(reply);
  size_t open = out.find(" <");
  if (open != std::string::npos) {
    size_t close = out.find(">: ", open);
    if (close != std::string::npos) out.erase(open + 1, close + 3 - (open + 1));
  }
  return out;
}

LogEvent NoQueueReject(string_view rest) {
  // "CMD from name[addr]: REPLY; from=<s> to=<r> proto=... helo=<h>"
  MtaReject r;
  r.queue_id = "NOQUEUE";
  size_t from = rest.find(" from ");
  if (from == string_view::npos) return std::monostate{};
  r.command = std::string(rest.substr(0, from));
  size_t client_end = rest.find("]: ", from);
  if (client_end == string_view::npos) return std::monostate{};
  r.client = std::string(rest.substr(from + 6, client_end + 1 - (from + 6)));
  string_view tail = rest.substr(client_end + 3);
  size_t semicolon = tail.rfind("; from=<");
  if (semicolon == string_view::npos) semicolon = tail.rfind("; to=<");
  if (semicolon == string_view::npos) semicolon = tail.rfind("; proto=");
  string_view reply = semicolon == string_view::npos ? tail : tail.substr(0, semicolon);
  r.reason = WithoutAddress(reply);
  if (semicolon != string_view::npos) {
    string_view fields = tail.substr(semicolon);
    if (auto s = Between(fields, "from=<", '>')) r.sender = std::string(*s);
    if (auto t = Between(fields, "to=<", '>')) r.recipient = std::string(*t);
  }
  return r;
}

LogEvent QueueEvent(string_view id, string_view rest) {
  if (rest.starts_with("to=<")) {
    MtaDelivery d;
    d.queue_id = std::string(id);
    if (auto rcpt = Between(rest, "to=<", '>')) d.recipient = std::string(*rcpt);
    if (auto relay = Between(rest, ", relay=", ',')) d.relay = std::string(*relay);
    if (auto dsn = Between(rest, ", dsn=", ',')) d.dsn = std::string(*dsn);
    size_t status = rest.find(", status=");
    if (status == string_view::npos) return std::monostate{};
    string_view tail = rest.substr(status + 9);
    size_t space = tail.find(' ');
    d.status = std::string(tail.substr(0, space));
    if (space != string_view::npos) {
      string_view reply = tail.substr(space + 1);
      if (reply.starts_with("(") && reply.ends_with(")")) reply = reply.substr(1, reply.size() - 2);
      d.reply = std::string(reply);
    }
    return d;
  }
  if (rest.starts_with("from=<")) {
    auto sender = Between(rest, "from=<", '>');
    if (!sender) return std::monostate{};
    if (rest.ends_with("(queue incoming)")) {
      MtaReceived r;
      r.queue_id = std::string(id);
      r.sender = std::string(*sender);
      if (auto size = Between(rest, ", size=", ',')) r.size = ToNumber(*size);
      return r;
    }
    if (rest.find(", status=expired") != string_view::npos) {
      return MtaExpired{std::string(id), std::string(*sender)};
    }
    return std::monostate{};
  }
  if (rest.starts_with("client=")) {
    MtaClient c;
    c.queue_id = std::string(id);
    size_t end = rest.find(", ");
    c.client = std::string(rest.substr(7, end == string_view::npos ? string_view::npos : end - 7));
    return c;
  }
  if (rest.starts_with("reject: ")) {
    MtaReject r;
    r.queue_id = std::string(id);
    r.command = "cleanup";
    string_view what = rest.substr(8);
    // header_checks: "header Subject: x from name[addr]; from=<> to=<> proto=P helo=<h>: REPLY"
    size_t helo = what.find(" helo=<");
    size_t reply_at = helo == string_view::npos ? string_view::npos : what.find(">: ", helo);
    if (reply_at != string_view::npos) {
      r.reason = std::string(what.substr(reply_at + 3));
      size_t space = what.find(' ');
      if (space != string_view::npos) r.reason += " (" + std::string(what.substr(0, space)) + ")";
    } else {
      // cleanup's own refusal: "TEXT from [addr]; from=<s>"
      size_t from = what.rfind(" from [");
      r.reason = std::string(what.substr(0, from));
    }
    if (auto s = Between(what, "from=<", '>')) r.sender = std::string(*s);
    return r;
  }
  if (rest.starts_with("sender non-delivery notification: ")) {
    return MtaBounceCreated{std::string(id), std::string(rest.substr(35))};
  }
  return std::monostate{};
}

// moat-filterd's summary line; nullopt when `message` is not one.
std::optional<FilterSummary> FilterLine(string_view message) {
  if (message.find(", mail_id: ") == string_view::npos) return std::nullopt;
  // The tag is the first " {Letters[,Letters]}, " (a reason before it may hold braces too).
  size_t brace = message.find(" {");
  for (; brace != string_view::npos; brace = message.find(" {", brace + 1)) {
    size_t end = brace + 2;
    while (end < message.size() &&
           (std::isalpha(static_cast<unsigned char>(message[end])) || message[end] == ',')) {
      ++end;
    }
    if (end > brace + 2 && message.substr(end, 3) == "}, ") break;
  }
  if (brace == string_view::npos) return std::nullopt;
  FilterSummary f;
  size_t space = message.find(' ');
  f.mail_id = std::string(message.substr(0, space));
  string_view head = message.substr(space + 1, brace - space - 1);  // "Blocked VIRUS (...)"
  size_t verb_end = head.find(' ');
  f.verb = std::string(head.substr(0, verb_end));
  if (f.verb != "Passed" && f.verb != "Blocked" && f.verb != "Refused" && f.verb != "Deferred") {
    return std::nullopt;
  }
  // "Deferred (why) UNCHECKED": skip the parenthesised deferral reason before the class.
  string_view after = verb_end == string_view::npos ? string_view() : head.substr(verb_end + 1);
  if (after.starts_with("(")) {
    int depth = 0;
    size_t i = 0;
    for (; i < after.size(); ++i) {
      if (after[i] == '(') ++depth;
      if (after[i] == ')' && --depth == 0) break;
    }
    after = i + 2 <= after.size() ? after.substr(i + 2) : string_view();
  }
  f.content_class = std::string(after.substr(0, after.find(' ')));
  size_t brace_end = message.find("}, ", brace);
  if (brace_end == string_view::npos) return std::nullopt;
  f.tag = std::string(message.substr(brace + 2, brace_end - brace - 2));
  string_view rest = message.substr(brace_end + 3);
  f.bank = std::string(rest.substr(0, rest.find(' ')));
  if (auto sender = Between(rest, " <", '>')) f.sender = std::string(*sender);
  size_t arrow = rest.find("> ->");
  if (arrow != string_view::npos) {
    size_t at = arrow + 4;
    while (at < rest.size() && (rest[at] == ' ' || rest[at] == ',')) {
      ++at;
      if (at >= rest.size() || rest[at] != '<') break;
      size_t end = rest.find('>', at);
      if (end == string_view::npos) break;
      f.recipients.emplace_back(rest.substr(at + 1, end - at - 1));
      at = end + 1;
    }
  }
  if (auto id = Between(rest, ", Queue-ID: ", ',')) f.upstream_queue_id = std::string(*id);
  if (auto size = Between(rest, ", size: ", ',')) f.size = ToNumber(*size);
  if (auto queued = Between(rest, ", queued_as: ", ' ')) {
    string_view list = *queued;
    if (list.ends_with(",")) list.remove_suffix(1);
    while (!list.empty()) {
      size_t comma = list.find(',');
      f.queued_as.emplace_back(list.substr(0, comma));
      if (comma == string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  if (auto quarantine = Between(rest, ", quarantine: ", ',')) {
    f.quarantine_id = std::string(*quarantine);
  }
  for (size_t at = rest.find(", dkim_signed: "); at != string_view::npos;
       at = rest.find(", dkim_signed: ", at + 1)) {
    ++f.dkim_signatures;
  }
  return f;
}

}  // namespace

std::string QueuedAsInReply(std::string_view reply) {
  size_t at = reply.rfind("queued as ");
  if (at == string_view::npos) return "";
  string_view id = reply.substr(at + 10);
  size_t end = 0;
  while (end < id.size() && std::isalnum(static_cast<unsigned char>(id[end]))) ++end;
  return std::string(id.substr(0, end));
}

ParsedLine ParseLogLine(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  ParsedLine parsed;
  parsed.time = IsoTime(line);
  if (!parsed.time) parsed.time = SyslogTime(line);
  string_view message = MessageOf(line);

  if (message.starts_with("NOQUEUE: reject: ")) {
    parsed.event = NoQueueReject(message.substr(17));
    return parsed;
  }
  if (auto filter = FilterLine(message)) {
    parsed.event = std::move(*filter);
    return parsed;
  }
  // "[service: ]QID: rest"
  for (int part = 0; part < 2; ++part) {
    size_t colon = message.find(": ");
    if (colon == string_view::npos) break;
    string_view word = message.substr(0, colon);
    if (IsQueueId(word)) {
      parsed.event = QueueEvent(word, message.substr(colon + 2));
      return parsed;
    }
    if (word.find(' ') != string_view::npos) break;
    message.remove_prefix(colon + 2);  // a service name ("moat-mta/submission")
  }
  return parsed;
}

}  // namespace moat::cli
