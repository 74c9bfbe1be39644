// header_query.h - what a `header` rule's left-hand side selects from a message.
//
// SpamAssassin's PerMsgStatus::get(): a header name with modifiers, or a pseudo-header.
//   Name            every `Name` field, decoded (RFC 2047) and unfolded, each + "\n"
//   Name:raw        the raw values as sent (folding kept; leading space after the colon kept)
//   :addr / :name   addresses / display names parsed from the raw values (address_parser.h)
//   :first / :last  only the topmost / bottommost field
//   :host / :domain the host of the (address) value / its registrable domain
//   :ip / :revip    the first IP address in the value / reversed
//   ALL             all fields "Name: value\n" (decoded), ALL:raw as sent; ALL-TRUSTED,
//                   ALL-UNTRUSTED, ALL-INTERNAL, ALL-EXTERNAL: the fields added by those relays
//   ToCc            To and Cc; MESSAGEID: X-Message-Id, Resent-Message-Id,
//                   X-Original-Message-ID and Message-Id; EnvelopeFrom: the MAIL FROM address
//                   (or, without an envelope, X-Envelope-From / Envelope-Sender / Return-Path
//                   when no Received line precedes them, as SpamAssassin guesses)
//   X-Spam-Relays-* SpamAssassin's Received-header analysis (received_parser.h).
// HeaderValue() joins the selected values as SpamAssassin does (newline-separated) and returns
// nullopt when nothing is selected (the rule then sees "" or its [if-unset: ...] text).
//
// Pure functions; the HeaderIndex is built once per message and read-only afterwards.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "rules/message_view.h"

namespace moat::rules {

class UriContext;

struct HeaderQuery {
  enum class Special { kNone, kAll, kAllRange, kToCc, kMessageId, kEnvelopeFrom, kRelays };
  std::string spec;        // the whole left-hand side as written ("From:addr")
  std::string name;        // the header name as written (case kept for reports)
  std::string lower_name;  // for lookups
  Special special = Special::kNone;
  bool raw = false, addr = false, display_name = false, host = false, domain = false, ip = false,
       revip = false, first = false, last = false;
  std::string key;  // canonical text ("from:addr"), to share values between rules
};

// Parses "From:addr:host" into a query; kInvalid for an unknown modifier.
core::Result<HeaderQuery> ParseHeaderQuery(std::string_view spec);

// Lower-case field name -> indices into MessageView::headers, in message order.
using HeaderIndex = std::unordered_map<std::string, std::vector<size_t>>;
HeaderIndex IndexHeaders(const MessageView& view);

struct RelayPath;

// `relays` is the message's relay analysis (received_parser.h), needed for X-Spam-Relays-*;
// without it those pseudo-headers have no value.
std::optional<std::string> HeaderValue(const MessageView& view, const HeaderIndex& index,
                                       const HeaderQuery& query, const UriContext* uris,
                                       const RelayPath* relays = nullptr);

// The Received values (plus SpamAssassin's originating_ip_headers) in the form
// received_parser.h's AnalyzeRelays() takes.
std::vector<std::string> ReceivedLines(const MessageView& view, const HeaderIndex& index);

}  // namespace moat::rules
