// cleanup_header_names.h - the message headers cleanup knows by name, with what it does to each
// (Postfix's header_opts.c): which carry sender or recipient addresses (rewritten by canonical
// maps and masquerading in header_sender / header_recipient classes), which are MIME headers
// (checked by mime_header_checks), which belong to a Resent- block, and which ones cleanup adds
// when missing.
//
// Thread safety: pure functions over constant data.
#pragma once

#include <cstdint>
#include <string_view>

namespace moat::mta {

enum class KnownHeader {
  kOther,
  kApparentlyTo, kBcc, kCc, kContentDescription, kContentDisposition, kContentId,
  kContentLength, kContentTransferEncoding, kContentType, kDeliveredTo, kDispositionNotificationTo,
  kDate, kErrorsTo, kFrom, kMailFollowupTo, kMessageId, kMimeVersion, kReceived, kReplyTo,
  kResentBcc, kResentCc, kResentDate, kResentFrom, kResentMessageId, kResentReplyTo,
  kResentSender, kResentTo, kReturnPath, kReturnReceiptTo, kSender, kTo,
};

namespace header_flag {
inline constexpr unsigned kSenderAddresses = 1;     // HDR_OPT_SENDER
inline constexpr unsigned kRecipientAddresses = 2;  // HDR_OPT_RECIP
inline constexpr unsigned kMime = 4;                // HDR_OPT_MIME
inline constexpr unsigned kResent = 8;              // HDR_OPT_RR
}  // namespace header_flag

struct HeaderInfo {
  KnownHeader type = KnownHeader::kOther;
  unsigned flags = 0;
};

// Looks up a header by its name (case-insensitive; no colon).
HeaderInfo FindHeaderInfo(std::string_view name);

// True when `line` begins a header field: a name of printable characters (no space, no colon),
// optional blanks, then ':'. `name` receives the name without the blanks.
bool ParseHeaderName(std::string_view line, std::string_view* name = nullptr,
                     size_t* colon = nullptr);

}  // namespace moat::mta
