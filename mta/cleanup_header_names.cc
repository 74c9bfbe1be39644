// cleanup_header_names.cc - the table of known headers (from Postfix's header_opts.c).
#include "mta/cleanup_header_names.h"

#include "mta/cleanup_address.h"

namespace moat::mta {
namespace {

struct Entry {
  std::string_view name;
  KnownHeader type;
  unsigned flags;
};

using namespace header_flag;

constexpr Entry kHeaders[] = {
    {"apparently-to", KnownHeader::kApparentlyTo, kRecipientAddresses},
    {"bcc", KnownHeader::kBcc, kRecipientAddresses},
    {"cc", KnownHeader::kCc, kRecipientAddresses},
    {"content-description", KnownHeader::kContentDescription, kMime},
    {"content-disposition", KnownHeader::kContentDisposition, kMime},
    {"content-id", KnownHeader::kContentId, kMime},
    {"content-length", KnownHeader::kContentLength, 0},
    {"content-transfer-encoding", KnownHeader::kContentTransferEncoding, kMime},
    {"content-type", KnownHeader::kContentType, kMime},
    {"delivered-to", KnownHeader::kDeliveredTo, 0},
    {"disposition-notification-to", KnownHeader::kDispositionNotificationTo, kSenderAddresses},
    {"date", KnownHeader::kDate, 0},
    {"errors-to", KnownHeader::kErrorsTo, kSenderAddresses},
    {"from", KnownHeader::kFrom, kSenderAddresses},
    {"mail-followup-to", KnownHeader::kMailFollowupTo, kSenderAddresses},
    {"message-id", KnownHeader::kMessageId, 0},
    {"mime-version", KnownHeader::kMimeVersion, kMime},
    {"received", KnownHeader::kReceived, 0},
    {"reply-to", KnownHeader::kReplyTo, kSenderAddresses},
    {"resent-bcc", KnownHeader::kResentBcc, kRecipientAddresses | kResent},
    {"resent-cc", KnownHeader::kResentCc, kRecipientAddresses | kResent},
    {"resent-date", KnownHeader::kResentDate, kResent},
    {"resent-from", KnownHeader::kResentFrom, kSenderAddresses | kResent},
    {"resent-message-id", KnownHeader::kResentMessageId, kResent},
    {"resent-reply-to", KnownHeader::kResentReplyTo, kRecipientAddresses | kResent},
    {"resent-sender", KnownHeader::kResentSender, kSenderAddresses | kResent},
    {"resent-to", KnownHeader::kResentTo, kRecipientAddresses | kResent},
    {"return-path", KnownHeader::kReturnPath, kSenderAddresses},
    {"return-receipt-to", KnownHeader::kReturnReceiptTo, kSenderAddresses},
    {"sender", KnownHeader::kSender, kSenderAddresses},
    {"to", KnownHeader::kTo, kRecipientAddresses},
};

}  // namespace

HeaderInfo FindHeaderInfo(std::string_view name) {
  for (const Entry& e : kHeaders) {
    if (EqualsIgnoreCase(e.name, name)) return {e.type, e.flags};
  }
  return {};
}

bool ParseHeaderName(std::string_view line, std::string_view* name, size_t* colon) {
  size_t i = 0;
  while (i < line.size()) {
    auto c = static_cast<unsigned char>(line[i]);
    if (c <= ' ' || c >= 127 || c == ':') break;
    ++i;
  }
  if (i == 0) return false;
  size_t name_end = i;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  if (i == line.size() || line[i] != ':') return false;
  if (name) *name = line.substr(0, name_end);
  if (colon) *colon = i;
  return true;
}

}  // namespace moat::mta
