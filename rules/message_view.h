// message_view.h - a message as SpamAssassin's rules see it, and how to build one.
//
// The rule engine never parses MIME itself. Whoever holds a parsed message (filterd adapts the
// scanners' MIME tree; tests use a small splitter) fills a ParsedMessage: the raw message, the
// envelope if known, and the leaf parts with their transfer-decoded bytes and, for text parts,
// their text decoded to UTF-8. BuildMessageView() derives everything rules match against, with
// SpamAssassin 4.0's semantics (Mail::SpamAssassin::Message, ::Message::Node, PerMsgStatus):
//
//   headers   the top-level header fields in order; `raw` is the value after the colon exactly
//             as sent (folding kept, CRLF as LF, ending in "\n"); `decoded` is unfolded, trimmed
//             and RFC 2047-decoded to UTF-8 (header_decoder.h).
//   body      the "rendered" text: text/plain and text/html leaf parts (HTML rendered to text as
//             SpamAssassin's HTML.pm does, html_renderer.h), joined with a blank line between
//             parts, whitespace runs collapsed to one space, split into paragraphs (a blank line
//             ends one), paragraphs longer than 2048 bytes split at a space; the decoded Subject
//             plus "\n" comes first. Each element ends in "\n". UTF-8.
//   rawbody   the transfer-decoded (base64/QP) text/* and message/* leaf parts (not text/calendar),
//             in their declared charset, HTML not rendered, cut into 2-4 KB pieces at line ends,
//             as SpamAssassin's get_decoded_body_text_array(). (SpamAssassin does not charset-
//             decode rawbody either; rules written for it expect the original bytes.)
//   full      the raw message.
//   uris      every URI in the rendered text (uri_extractor.h) and every href/src/action/...
//             of HTML parts, each with its canonicalized variants, without duplicates.
//   auth      DKIM/SPF/DMARC outcomes, filled by the caller when it has them (filterd verifies
//             DKIM before the rule stage); SpamAssassin's check_dkim_*/check_for_spf_*/
//             check_dmarc_* eval rules read them, and do not hit while they are unset.
//
// Contract: pure functions of their input; MessageView is a plain value (copyable, no shared
// state), safe to read from several threads once built. Nothing here fails: malformed input
// gives a best-effort view, never an error. Sizes are bounded by the input.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace moat::rules {

struct HeaderField {
  std::string name;     // as written, e.g. "Subject"
  std::string raw;      // after the colon, as sent: " =?utf-8?q?Hi?=\n"
  std::string decoded;  // "Hi"
};

enum class AuthResult { kNone, kPass, kFail, kSoftFail, kNeutral, kTempError, kPermError };

struct DkimSignatureResult {
  std::string domain;  // d=
  bool valid = false;
};

struct AuthenticationResults {
  // Unset: not checked (the eval rules do not hit). Empty vector: checked, no signature.
  std::optional<std::vector<DkimSignatureResult>> dkim;
  std::optional<AuthResult> spf;       // for MAIL FROM
  std::optional<AuthResult> spf_helo;  // for HELO
  std::optional<std::string> dmarc;    // "pass", "reject", "quarantine", "none", or "missing"
};

// What SpamAssassin's HTML and MIME eval functions look at.
struct HtmlPartInfo {
  std::set<std::string> tags;  // tag names seen
  size_t length = 0;           // characters of HTML source
};

struct MessageView {
  std::vector<HeaderField> headers;
  std::string header_block;  // the raw header section, up to the blank line (for ALL:raw)
  std::optional<std::string> envelope_from;  // MAIL FROM when known ("" for <>)
  std::vector<std::string> envelope_recipients;
  std::vector<std::string> body;
  std::vector<std::string> rawbody;
  std::string full;
  std::vector<std::string> uris;
  AuthenticationResults auth;
  // Metadata for eval: rules.
  size_t body_size = 0;                  // bytes after the header section
  std::vector<HtmlPartInfo> html_parts;  // one per text/html part rendered
  // Header fields of every MIME entity (the message itself first, then each part, containers
  // included, depth first), for `mimeheader` rules.
  std::vector<std::vector<HeaderField>> mime_entities;
  size_t text_html_parts = 0;   // leaf parts of type text/html
  size_t text_other_parts = 0;  // other text/* leaf parts
};

// One leaf MIME part, as the adapter hands it over.
struct LeafPart {
  std::string content_type;  // lower-case "type/subtype" without parameters ("" = text/plain)
  std::string charset;       // declared charset parameter, may be empty
  std::string filename;      // from Content-Disposition/Content-Type name, may be empty
  std::string raw_text;      // body after base64/QP decoding, original charset (CRLF as LF)
  // text/* parts: raw_text converted from `charset` to UTF-8 (the adapter's decoder, e.g. gmime).
  // When empty for a text part, BuildMessageView converts raw_text itself (charset.h).
  std::optional<std::string> utf8_text;
};

struct ParsedMessage {
  std::string_view raw;  // the whole message as received (headers and body)
  std::optional<std::string> envelope_from;
  std::vector<std::string> envelope_recipients;
  std::vector<LeafPart> parts;  // leaves in MIME order (multipart containers omitted)
  // The raw header section of every MIME entity below the message itself, depth first,
  // multipart containers included (for `mimeheader` rules); may be left empty.
  std::vector<std::string_view> entity_headers;
  AuthenticationResults auth;
};

class UriContext;

struct ViewOptions {
  // Known TLDs and redirector patterns for URI extraction (RuleSet::uri_context()); nullptr
  // means none: only links with a scheme are found in text, as SpamAssassin without TLDs.
  const UriContext* uri_context = nullptr;
  size_t body_part_scan_size = 50'000;      // SpamAssassin's body_part_scan_size
  size_t rawbody_part_scan_size = 500'000;  // SpamAssassin's rawbody_part_scan_size
};

MessageView BuildMessageView(const ParsedMessage& message, const ViewOptions& options = {});

// Splits the header section of `raw` into fields as SpamAssassin does (continuation lines,
// "Name :" tolerated, stops at the blank line or a MIME boundary line). `header_block` receives
// the raw header section, `body_offset` where the body starts.
std::vector<HeaderField> ParseHeaderFields(std::string_view raw, std::string* header_block,
                                           size_t* body_offset);

}  // namespace moat::rules
