// bank_policy.cc - classes, destinies and header edits per recipient (see bank_policy.h).
#include "filterd/bank_policy.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "filterd/content_artefacts.h"

namespace moat::filterd {
namespace {

constexpr size_t kMaxAlert = 240;

std::string Clip(std::string text) {
  for (char& c : text) {
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
  }
  if (text.size() > kMaxAlert) {
    size_t cut = kMaxAlert;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
    text += "...";
  }
  return text;
}

std::string PartName(const Finding& f) { return f.part.empty() ? "the message" : f.part; }

// The findings of each class other than CLEAN, in report order.
using ByClass = std::map<ContentClass, std::vector<const Finding*>>;

ByClass GroupFindings(const MessageContext& context) {
  ByClass by_class;
  for (const Finding& f : context.findings) {
    if (f.content_class != ContentClass::kClean) by_class[f.content_class].push_back(&f);
  }
  return by_class;
}

std::string VirusNames(const std::vector<const Finding*>& findings) {
  std::vector<std::string> names;
  for (const Finding* f : findings) {
    if (std::find(names.begin(), names.end(), f->name) == names.end()) names.push_back(f->name);
  }
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string MoreText(size_t total) {
  return total > 1 ? fmt::format(" and {} more", total - 1) : "";
}

// One line for the log, the quarantine index and the reply: why the class.
std::string ReasonFor(ContentClass content_class, const ByClass& by_class,
                      const rules::SpamDecision* spam, const rules::SpamLevels* levels) {
  auto it = by_class.find(content_class);
  const std::vector<const Finding*> none;
  const std::vector<const Finding*>& list = it == by_class.end() ? none : it->second;
  switch (content_class) {
    case ContentClass::kVirus:
      return VirusNames(list);
    case ContentClass::kBanned:
      if (list.empty()) return "";
      return fmt::format("{} {}: {}{}", PartName(*list[0]), list[0]->name, list[0]->subclass,
                         MoreText(list.size()));
    case ContentClass::kUnchecked:
      if (list.empty()) return "";
      return fmt::format("{} at {}: {}{}", list[0]->subclass, PartName(*list[0]), list[0]->detail,
                         MoreText(list.size()));
    case ContentClass::kBadHeader:
      if (list.empty()) return "";
      return fmt::format("{}: {}{}", list[0]->name, list[0]->detail, MoreText(list.size()));
    case ContentClass::kSpam:
    case ContentClass::kSpammy:
      if (spam == nullptr || levels == nullptr) return "";
      return fmt::format("score={} tag2={} kill={}", rules::FormatLevel(spam->score),
                         rules::FormatLevel(levels->tag2_level),
                         rules::FormatLevel(levels->kill_level));
    case ContentClass::kClean:
      return "";
  }
  return "";
}

std::string AlertFor(ContentClass content_class, const ByClass& by_class) {
  auto it = by_class.find(content_class);
  if (it == by_class.end() || it->second.empty()) return "";
  const std::vector<const Finding*>& list = it->second;
  const Finding& first = *list.front();
  switch (content_class) {
    case ContentClass::kVirus:
      return Clip("INFECTED, message contains virus: " + VirusNames(list));
    case ContentClass::kBanned:
      return Clip(fmt::format("BANNED, message contains {} ({}){}", PartName(first),
                              first.subclass, MoreText(list.size())));
    case ContentClass::kUnchecked:
      return Clip(fmt::format("UNCHECKED, {}: {}{}", first.subclass, PartName(first),
                              MoreText(list.size())));
    case ContentClass::kBadHeader:
      return Clip(fmt::format("BAD HEADER SECTION, {}: {}{}", first.name, first.detail,
                              MoreText(list.size())));
    default:
      return "";
  }
}

// The Subject as sent (unfolded raw value), or "" when there is none.
std::string OriginalSubject(const MessageContext& context) {
  const auto* content = context.Artefact<ContentArtefact>(kContentArtefact);
  if (content == nullptr || content->tree.mime_trees.empty() ||
      content->tree.mime_trees[0].parts.empty()) {
    return "";
  }
  const scanners::MimeHeader* subject =
      scanners::FindHeader(content->tree.mime_trees[0].parts[0].headers, "Subject");
  if (subject == nullptr) return "";
  std::string value;
  for (char c : subject->raw_value) {
    if (c == '\r' || c == '\n') continue;
    value += c;
  }
  size_t start = value.find_first_not_of(" \t");
  return start == std::string::npos ? "" : value.substr(start);
}

ContentClass SpamClassOf(const rules::SpamDecision& decision) {
  switch (decision.content_class) {
    case rules::SpamClass::kSpam:
      return ContentClass::kSpam;
    case rules::SpamClass::kSpammy:
      return ContentClass::kSpammy;
    case rules::SpamClass::kClean:
      return ContentClass::kClean;
  }
  return ContentClass::kClean;
}

HeaderEdit Prepend(std::string name, std::string value) {
  HeaderEdit edit;
  edit.kind = HeaderEdit::Kind::kPrepend;
  edit.name = std::move(name);
  edit.value = std::move(value);
  return edit;
}

HeaderEdit RemoveAll(std::string name) {
  HeaderEdit edit;
  edit.kind = HeaderEdit::Kind::kRemoveAll;
  edit.name = std::move(name);
  return edit;
}

}  // namespace

ContentClass MoreSevere(ContentClass a, ContentClass b) {
  return static_cast<int>(a) >= static_cast<int>(b) ? a : b;
}

Destiny BankPolicy::DestinyOf(ContentClass content_class) const {
  switch (content_class) {
    case ContentClass::kVirus:
      return settings_.virus_destiny;
    case ContentClass::kBanned:
      return settings_.banned_destiny;
    case ContentClass::kUnchecked:
      return settings_.unchecked_destiny;
    case ContentClass::kSpam:
      return settings_.spam_destiny;
    case ContentClass::kBadHeader:
      return settings_.bad_header_destiny;
    case ContentClass::kSpammy:
    case ContentClass::kClean:
      return Destiny::kPass;
  }
  return Destiny::kPass;
}

Decision BankPolicy::Decide(const MessageContext& context) const {
  Decision decision;
  ByClass by_class = GroupFindings(context);
  ContentClass content_class = ContentClass::kClean;
  for (const auto& [c, list] : by_class) content_class = MoreSevere(content_class, c);

  const auto* spam = context.Artefact<SpamArtefact>(kSpamArtefact);
  const bool virus_checked = context.Artefact<VirusArtefact>(kVirusArtefact) != nullptr;
  const std::string subject = OriginalSubject(context);

  // Recipients with the same levels get the same spam decision; compute each once.
  struct PerRecipient {
    rules::SpamLevels levels;
    std::optional<rules::SpamDecision> spam;
    ContentClass content_class = ContentClass::kClean;
  };
  std::vector<PerRecipient> per(std::max<size_t>(context.envelope.recipients.size(), 1));
  for (size_t i = 0; i < per.size(); ++i) {
    per[i].levels = spam != nullptr && i < spam->recipient_levels.size()
                        ? spam->recipient_levels[i]
                        : (spam != nullptr ? spam->bank_levels : settings_.levels);
    per[i].content_class = content_class;
    if (spam != nullptr) {
      per[i].spam = rules::DecideSpam(spam->evaluation, per[i].levels);
      per[i].content_class = MoreSevere(content_class, SpamClassOf(*per[i].spam));
    }
  }

  decision.content_class = per[0].content_class;
  size_t worst = 0;
  for (size_t i = 1; i < per.size(); ++i) {
    if (MoreSevere(per[i].content_class, decision.content_class) != decision.content_class) {
      decision.content_class = per[i].content_class;
      worst = i;
    }
  }
  if (auto it = by_class.find(decision.content_class);
      it != by_class.end() && !it->second.empty()) {
    decision.subclass = it->second.front()->subclass;
  }
  decision.reason =
      ReasonFor(decision.content_class, by_class, per[worst].spam ? &*per[worst].spam : nullptr,
                &per[worst].levels);

  for (size_t i = 0; i < context.envelope.recipients.size(); ++i) {
    const PerRecipient& p = per[i];
    RecipientDecision r;
    r.destiny = DestinyOf(p.content_class);
    if (p.content_class == ContentClass::kSpam && r.destiny == Destiny::kBounce && p.spam &&
        p.spam->score >= settings_.spam_dsn_cutoff_level) {
      r.destiny = Destiny::kDiscard;
    }
    if (r.destiny != Destiny::kPass && settings_.quarantine_classes.contains(p.content_class)) {
      decision.quarantine = true;
    }
    if (r.destiny == Destiny::kBounce || r.destiny == Destiny::kReject) {
      std::string reason = ReasonFor(p.content_class, by_class, p.spam ? &*p.spam : nullptr,
                                     &p.levels);
      r.reply = core::SmtpReply(
          554, p.content_class == ContentClass::kBadHeader ? "5.6.0" : "5.7.0",
          Clip(fmt::format("{}, id={}, {}{}{}",
                           r.destiny == Destiny::kBounce ? "Bounce" : "Reject", context.id,
                           ContentClassName(p.content_class), reason.empty() ? "" : ": ",
                           reason)));
    }
    if (r.destiny == Destiny::kPass) {
      if (spam != nullptr) r.header_edits.push_back(RemoveAll("X-Spam-*"));
      if (virus_checked && !settings_.virus_scanned_header.empty()) {
        r.header_edits.push_back(Prepend("X-Virus-Scanned", settings_.virus_scanned_header));
      }
      for (ContentClass c : {ContentClass::kVirus, ContentClass::kBanned, ContentClass::kUnchecked,
                             ContentClass::kBadHeader}) {
        std::string alert = AlertFor(c, by_class);
        if (!alert.empty()) r.header_edits.push_back(Prepend(settings_.alert_header, alert));
      }
      std::string tags;
      if (p.spam) {
        if (p.spam->add_headers) {
          for (const auto& [name, value] : p.spam->headers) {
            r.header_edits.push_back(Prepend(name, value));
          }
        }
        if (p.spam->subject_tag) tags += *p.spam->subject_tag;
      }
      if (p.content_class == ContentClass::kUnchecked) tags += settings_.unchecked_subject_tag;
      if (!tags.empty()) {
        r.header_edits.push_back(RemoveAll("Subject"));
        std::string tagged = tags + subject;
        while (!tagged.empty() && tagged.back() == ' ') tagged.pop_back();
        r.header_edits.push_back(Prepend("Subject", tagged));
      }
    }
    decision.recipients.push_back(std::move(r));
  }
  return decision;
}

}  // namespace moat::filterd
