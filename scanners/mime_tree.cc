// mime_tree.cc - gmime behind ParseMime(): parse, walk iteratively, decode each body once.
#include "scanners/mime_tree.h"

#include <gmime/gmime.h>
#include <iconv.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include "scanners/mime_lint.h"

namespace moat::scanners {
namespace {

// g_mime_init() is not thread-safe and must run once before any other gmime call.
void EnsureGmimeInitialized() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

struct GObjectUnref {
  void operator()(gpointer object) const {
    if (object != nullptr) g_object_unref(object);
  }
};
template <typename T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

struct ParserOptionsFree {
  void operator()(GMimeParserOptions* options) const { g_mime_parser_options_free(options); }
};

struct GFree {
  void operator()(void* p) const { g_free(p); }
};
using GString = std::unique_ptr<char, GFree>;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(g_ascii_tolower(c));
  return out;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && g_ascii_isspace(s.front())) s.remove_prefix(1);
  while (!s.empty() && g_ascii_isspace(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::string OrEmpty(const char* s) { return s != nullptr ? s : ""; }

// gmime reports parser warnings through a callback with a byte offset; they are mapped to parts
// after the walk, when every part's header offset is known.
struct RawWarning {
  int64_t offset;
  GMimeParserWarning code;
  std::string item;
};

constexpr size_t kMaxWarnings = 1000;

void CollectWarning(gint64 offset, GMimeParserWarning code, const gchar* item, gpointer data) {
  auto* warnings = static_cast<std::vector<RawWarning>*>(data);
  if (warnings->size() >= kMaxWarnings) return;
  warnings->push_back({offset, code, item != nullptr ? std::string(item).substr(0, 200) : ""});
}

std::optional<AnomalyKind> AnomalyForWarning(GMimeParserWarning code) {
  switch (code) {
    case GMIME_WARN_DUPLICATED_HEADER:
      return AnomalyKind::kDuplicateHeader;
    case GMIME_WARN_DUPLICATED_PARAMETER:
      return AnomalyKind::kInvalidParameter;
    case GMIME_WARN_UNENCODED_8BIT_HEADER:
      return AnomalyKind::kEightBitHeader;
    case GMIME_WARN_INVALID_CONTENT_TYPE:
      return AnomalyKind::kInvalidContentType;
    case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE:
      return AnomalyKind::kInvalidEncodedWord;
    case GMIME_WARN_MALFORMED_MULTIPART:
      return AnomalyKind::kMissingBoundary;
    case GMIME_WARN_TRUNCATED_MESSAGE:
      return AnomalyKind::kTruncatedMessage;
    case GMIME_WARN_MALFORMED_MESSAGE:
      return AnomalyKind::kMalformedMessage;
    case GMIME_CRIT_INVALID_HEADER_NAME:
      return AnomalyKind::kInvalidHeaderName;
    case GMIME_CRIT_CONFLICTING_HEADER:
      return AnomalyKind::kConflictingHeader;
    case GMIME_CRIT_CONFLICTING_PARAMETER:
      return AnomalyKind::kInvalidParameter;
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
      return AnomalyKind::kMultipartWithoutBoundary;
    case GMIME_WARN_INVALID_PARAMETER:
      return AnomalyKind::kInvalidParameter;
    case GMIME_WARN_INVALID_ADDRESS_LIST:
      return AnomalyKind::kInvalidAddressList;
    case GMIME_CRIT_NESTING_OVERFLOW:
      return AnomalyKind::kNestingOverflow;
    case GMIME_WARN_PART_WITHOUT_CONTENT:
      return AnomalyKind::kPartWithoutContent;
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
      return AnomalyKind::kMalformedMessage;
  }
  return std::nullopt;
}

// ---- charset conversion ------------------------------------------------------------------

// Converts with iconv, replacing what does not convert by U+FFFD. nullopt: unknown charset.
std::optional<std::string> ConvertToUtf8(std::string_view bytes, const char* charset) {
  iconv_t cd = g_mime_iconv_open("UTF-8", charset);
  if (cd == reinterpret_cast<iconv_t>(-1)) return std::nullopt;
  std::string out;
  out.resize(bytes.size() * 2 + 16);
  char* in = const_cast<char*>(bytes.data());
  size_t in_left = bytes.size();
  size_t used = 0;
  while (in_left > 0) {
    char* out_ptr = out.data() + used;
    size_t out_left = out.size() - used;
    size_t rc = iconv(cd, &in, &in_left, &out_ptr, &out_left);
    used = out.size() - out_left;
    if (rc != static_cast<size_t>(-1)) break;
    if (errno == E2BIG) {
      out.resize(out.size() * 2);
      continue;
    }
    // EILSEQ or EINVAL (incomplete at the end): mark it and step over one byte.
    if (out.size() - used < 3) out.resize(out.size() * 2);
    out.replace(used, 3, "\xEF\xBF\xBD");
    used += 3;
    ++in;
    --in_left;
    iconv(cd, nullptr, nullptr, nullptr, nullptr);
  }
  // Flush any shift state.
  char* out_ptr = out.data() + used;
  size_t out_left = out.size() - used;
  iconv(cd, nullptr, nullptr, &out_ptr, &out_left);
  used = out.size() - out_left;
  g_mime_iconv_close(cd);
  out.resize(used);
  return out;
}

// ---- the walk ------------------------------------------------------------------------------

struct Builder {
  Builder(std::string_view raw_in, const GByteArray* buffer_in, const DecodeLimits& limits_in)
      : raw(raw_in), buffer(buffer_in), limits(limits_in) {}

  std::string_view raw;  // the bytes gmime parsed (offsets refer to these)
  const GByteArray* buffer;
  const DecodeLimits& limits;
  MimeTree tree;
  std::set<std::pair<AnomalyKind, std::string>> seen_anomalies;
  std::vector<std::pair<int64_t, int>> header_starts;  // (offset, part index)
  bool parts_limit_hit = false;
  std::set<int> depth_limit_parents;

  void AddAnomaly(AnomalyKind kind, const std::string& path, std::string detail) {
    if (!seen_anomalies.insert({kind, path}).second) return;
    tree.anomalies.push_back({kind, path, std::move(detail)});
  }

  // Returns the new part's index, or -1 when a limit refuses it.
  int NewPart(MimePartKind kind, int parent, std::string path, int depth) {
    if (tree.parts.size() >= limits.max_mime_parts) {
      if (!parts_limit_hit) {
        parts_limit_hit = true;
        tree.limit_events.push_back(
            {LimitKind::kMimeParts, parent >= 0 ? tree.parts[parent].path : "",
             fmt::format("more than {} MIME parts; the rest was not decoded",
                         limits.max_mime_parts)});
      }
      return -1;
    }
    if (depth > limits.max_mime_depth) {
      if (depth_limit_parents.insert(parent).second) {
        tree.limit_events.push_back(
            {LimitKind::kMimeDepth, parent >= 0 ? tree.parts[parent].path : "",
             fmt::format("MIME nesting deeper than {}; inner parts were not decoded",
                         limits.max_mime_depth)});
      }
      return -1;
    }
    MimePart part;
    part.kind = kind;
    part.path = std::move(path);
    part.depth = depth;
    part.parent = parent;
    tree.parts.push_back(std::move(part));
    int index = static_cast<int>(tree.parts.size()) - 1;
    if (parent >= 0) tree.parts[parent].children.push_back(index);
    return index;
  }
};

std::vector<MimeHeader> CollectHeaders(GMimeObject* object, std::vector<int64_t>* offsets) {
  std::vector<MimeHeader> headers;
  GMimeHeaderList* list = g_mime_object_get_header_list(object);
  if (list == nullptr) return headers;
  int count = g_mime_header_list_get_count(list);
  headers.reserve(count);
  for (int i = 0; i < count; ++i) {
    GMimeHeader* header = g_mime_header_list_get_header_at(list, i);
    MimeHeader out;
    out.name = OrEmpty(g_mime_header_get_name(header));
    out.raw_value = OrEmpty(g_mime_header_get_raw_value(header));
    out.value = OrEmpty(g_mime_header_get_value(header));
    if (!IsValidUtf8(out.value)) out.value = SanitizeUtf8(out.value);
    headers.push_back(std::move(out));
    if (offsets != nullptr) offsets->push_back(g_mime_header_get_offset(header));
  }
  return headers;
}

// A message's full header block: gmime files the Content-* headers of a message under its
// body part, so both lists are merged back into document order.
std::vector<MimeHeader> MessageHeaderBlock(GMimeMessage* message, int64_t* start) {
  std::vector<int64_t> offsets;
  std::vector<MimeHeader> headers = CollectHeaders(GMIME_OBJECT(message), &offsets);
  GMimeObject* body = g_mime_message_get_mime_part(message);
  if (body != nullptr) {
    std::vector<int64_t> body_offsets;
    std::vector<MimeHeader> body_headers = CollectHeaders(body, &body_offsets);
    std::set<int64_t> known(offsets.begin(), offsets.end());
    for (size_t i = 0; i < body_headers.size(); ++i) {
      if (known.count(body_offsets[i]) != 0) continue;
      headers.push_back(std::move(body_headers[i]));
      offsets.push_back(body_offsets[i]);
    }
  }
  std::vector<size_t> order(headers.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return offsets[a] < offsets[b]; });
  std::vector<MimeHeader> sorted;
  sorted.reserve(headers.size());
  for (size_t i : order) sorted.push_back(std::move(headers[i]));
  *start = -1;
  for (int64_t offset : offsets) {
    if (offset >= 0 && (*start < 0 || offset < *start)) *start = offset;
  }
  return sorted;
}

int64_t FirstHeaderOffset(GMimeObject* object) {
  GMimeHeaderList* list = g_mime_object_get_header_list(object);
  if (list == nullptr) return -1;
  int64_t start = -1;
  int count = g_mime_header_list_get_count(list);
  for (int i = 0; i < count; ++i) {
    int64_t offset = g_mime_header_get_offset(g_mime_header_list_get_header_at(list, i));
    if (offset >= 0 && (start < 0 || offset < start)) start = offset;
  }
  return start;
}

void FillContentType(GMimeObject* object, MimePart& part) {
  GMimeContentType* type = g_mime_object_get_content_type(object);
  if (type != nullptr) {
    GString mime(g_mime_content_type_get_mime_type(type));
    part.content_type = Lower(OrEmpty(mime.get()));
    part.charset = Lower(Trim(OrEmpty(g_mime_content_type_get_parameter(type, "charset"))));
    part.name_param = OrEmpty(g_mime_content_type_get_parameter(type, "name"));
  }
  if (part.content_type.empty()) part.content_type = "text/plain";
  GMimeContentDisposition* disposition = g_mime_object_get_content_disposition(object);
  if (disposition != nullptr) {
    part.disposition =
        Lower(Trim(OrEmpty(g_mime_content_disposition_get_disposition(disposition))));
    part.filename = OrEmpty(g_mime_content_disposition_get_parameter(disposition, "filename"));
  }
  if (!IsValidUtf8(part.name_param)) part.name_param = SanitizeUtf8(part.name_param);
  if (!IsValidUtf8(part.filename)) part.filename = SanitizeUtf8(part.filename);
}

std::string GmimeDecode(GMimeContentEncoding encoding, std::string_view in) {
  GMimeEncoding state;
  g_mime_encoding_init_decode(&state, encoding);
  std::string out;
  out.resize(g_mime_encoding_outlen(&state, in.size()) + 4);
  size_t n = g_mime_encoding_step(&state, in.data(), in.size(), out.data());
  n += g_mime_encoding_flush(&state, "", 0, out.data() + n);
  out.resize(n);
  return out;
}

// The undecoded content of a leaf: a view into gmime's copy of the message when the parser kept
// the part as a substream of it (the normal case), else read out of the stream.
std::string_view RawContent(GMimeDataWrapper* wrapper, const GByteArray* buffer,
                            std::string& storage) {
  GMimeStream* stream = g_mime_data_wrapper_get_stream(wrapper);
  if (stream == nullptr) return {};
  if (GMIME_IS_STREAM_MEM(stream) &&
      g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream)) == buffer) {
    int64_t start = std::clamp<int64_t>(stream->bound_start, 0, buffer->len);
    int64_t end = stream->bound_end < 0
                      ? buffer->len
                      : std::clamp<int64_t>(stream->bound_end, start, buffer->len);
    return std::string_view(reinterpret_cast<const char*>(buffer->data) + start, end - start);
  }
  g_mime_stream_reset(stream);
  char chunk[65536];
  while (true) {
    ssize_t got = g_mime_stream_read(stream, chunk, sizeof(chunk));
    if (got <= 0) break;
    storage.append(chunk, got);
  }
  return storage;
}

void DecodeText(Builder& b, MimePart& part) {
  part.is_text = true;
  std::string_view body = part.body;
  if (body.find('\0') != std::string_view::npos) {
    b.AddAnomaly(AnomalyKind::kNulInText, part.path, "NUL bytes in a text part");
  }
  const std::string& cs = part.charset;
  bool ascii_like = cs.empty() || cs == "us-ascii" || cs == "ascii" || cs == "utf-8" ||
                    cs == "utf8" || cs == "unknown-8bit" || cs == "x-unknown";
  if (ascii_like && IsValidUtf8(body)) {
    part.text_is_body = true;
    return;
  }
  std::optional<std::string> converted;
  if (!ascii_like) {
    converted = ConvertToUtf8(body, g_mime_charset_iconv_name(cs.c_str()));
    if (!converted) {
      b.AddAnomaly(AnomalyKind::kUnknownCharset, part.path, fmt::format("charset \"{}\"", cs));
    }
  } else if (cs == "utf-8" || cs == "utf8") {
    converted = SanitizeUtf8(body);
  }
  if (!converted) {
    // Undeclared or unknown 8-bit text: what mail clients assume in practice.
    converted = IsValidUtf8(body) ? std::string(body) : ConvertToUtf8(body, "WINDOWS-1252");
  }
  part.text = converted ? SanitizeUtf8(*converted) : SanitizeUtf8(body);
}

void AddUuBlocks(Builder& b, int leaf_index) {
  std::vector<UuBlock> blocks =
      FindUuBlocks(b.tree.parts[leaf_index].body, b.limits.max_mime_parts);
  for (UuBlock& block : blocks) {
    const MimePart& leaf = b.tree.parts[leaf_index];
    std::string path = JoinPath(ChildPrefix(leaf.path, leaf.name()), block.filename);
    int depth = leaf.depth + 1;
    int index = b.NewPart(MimePartKind::kEmbedded, leaf_index, path, depth);
    if (index < 0) return;
    std::string_view data = std::string_view(b.tree.parts[leaf_index].body)
                                .substr(block.data_begin, block.data_end - block.data_begin);
    MimePart& part = b.tree.parts[index];
    part.filename = SanitizeUtf8(block.filename);
    part.content_type = "application/octet-stream";
    part.transfer_encoding = "x-uuencode";
    part.body = GmimeDecode(GMIME_CONTENT_ENCODING_UUENCODE, data);
    if (!block.terminated) {
      b.AddAnomaly(AnomalyKind::kBadUuencode, part.path, "uuencoded block without \"end\"");
    }
  }
}

void DecodeLeaf(Builder& b, GMimePart* gpart, int index,
                const std::vector<std::string>& boundaries) {
  MimePart& part = b.tree.parts[index];
  const MimeHeader* cte = FindHeader(part.headers, "Content-Transfer-Encoding");
  GMimeContentEncoding encoding = g_mime_part_get_content_encoding(gpart);
  if (cte != nullptr) {
    part.transfer_encoding = Lower(Trim(cte->raw_value));
    if (encoding == GMIME_CONTENT_ENCODING_DEFAULT &&
        g_mime_content_encoding_from_string(part.transfer_encoding.c_str()) ==
            GMIME_CONTENT_ENCODING_DEFAULT) {
      b.AddAnomaly(AnomalyKind::kUnknownTransferEncoding, part.path,
                   fmt::format("Content-Transfer-Encoding \"{}\"", part.transfer_encoding));
    }
  }
  GMimeDataWrapper* wrapper = g_mime_part_get_content(gpart);
  std::string storage;
  std::string_view raw = wrapper != nullptr ? RawContent(wrapper, b.buffer, storage) : "";
  if (auto line = AmbiguousBoundaryLine(raw, boundaries)) {
    b.AddAnomaly(AnomalyKind::kAmbiguousBoundary, part.path, *line);
  }
  switch (encoding) {
    case GMIME_CONTENT_ENCODING_BASE64:
      if (auto problem = Base64Problem(raw)) {
        b.AddAnomaly(AnomalyKind::kBadBase64, part.path, *problem);
      }
      part.body = GmimeDecode(encoding, raw);
      break;
    case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
      if (auto problem = QuotedPrintableProblem(raw)) {
        b.AddAnomaly(AnomalyKind::kBadQuotedPrintable, part.path, *problem);
      }
      part.body = GmimeDecode(encoding, raw);
      break;
    case GMIME_CONTENT_ENCODING_UUENCODE: {
      std::vector<UuBlock> blocks = FindUuBlocks(raw, 1);
      if (blocks.empty()) {
        b.AddAnomaly(AnomalyKind::kBadUuencode, part.path, "no \"begin\" line; kept undecoded");
        part.body = std::string(raw);
      } else {
        if (!blocks[0].terminated) {
          b.AddAnomaly(AnomalyKind::kBadUuencode, part.path, "uuencoded body without \"end\"");
        }
        if (part.filename.empty() && part.name_param.empty()) part.filename = blocks[0].filename;
        part.body = GmimeDecode(
            encoding, raw.substr(blocks[0].data_begin, blocks[0].data_end - blocks[0].data_begin));
      }
      break;
    }
    default:
      part.body = std::string(raw);
      break;
  }
  if (part.content_type.compare(0, 5, "text/") == 0) {
    DecodeText(b, part);
    AddUuBlocks(b, index);
  }
}

using Boundaries = std::shared_ptr<const std::vector<std::string>>;

struct WorkItem {
  GMimeObject* object;
  int parent;
  std::string path;
  int depth;
  Boundaries boundaries;  // of the enclosing multiparts, innermost last
};

// Checks a multipart's own text (prologue, epilogue) and queues its parts.
void PushMultipartChildren(GMimeMultipart* multipart, int index, const std::string& path, int depth,
                           const Boundaries& outer, std::vector<WorkItem>& stack, Builder& b) {
  auto boundaries = std::make_shared<std::vector<std::string>>(*outer);
  if (const char* boundary = g_mime_multipart_get_boundary(multipart)) {
    boundaries->push_back(boundary);
  }
  if (!multipart->write_end_boundary) {
    b.AddAnomaly(AnomalyKind::kMissingBoundary, path, "multipart without its closing boundary");
  }
  for (const char* text :
       {g_mime_multipart_get_prologue(multipart), g_mime_multipart_get_epilogue(multipart)}) {
    if (text == nullptr) continue;
    if (auto line = AmbiguousBoundaryLine(text, *boundaries)) {
      b.AddAnomaly(AnomalyKind::kAmbiguousBoundary, path, *line);
    }
  }
  int count = g_mime_multipart_get_count(multipart);
  if (count == 0) {
    b.AddAnomaly(AnomalyKind::kEmptyMultipart, path, "multipart without a single part");
  }
  for (int i = count - 1; i >= 0; --i) {
    stack.push_back({g_mime_multipart_get_part(multipart, i), index,
                     JoinPath(path, std::to_string(i + 1)), depth + 1, boundaries});
  }
}

// Children of a message (root or attached): its body's parts when multipart, else the body.
void PushMessageBody(GMimeObject* body, int message_index, const std::string& path, int depth,
                     const Boundaries& outer, std::vector<WorkItem>& stack, Builder& b) {
  if (body == nullptr) return;
  if (GMIME_IS_MULTIPART(body)) {
    PushMultipartChildren(GMIME_MULTIPART(body), message_index, path, depth, outer, stack, b);
    return;
  }
  stack.push_back({body, message_index, JoinPath(path, "1"), depth + 1, outer});
}

void Walk(Builder& b, GMimeMessage* message) {
  int64_t root_start = -1;
  int root = b.NewPart(MimePartKind::kMessage, -1, "", 0);
  b.tree.parts[root].headers = MessageHeaderBlock(message, &root_start);
  b.header_starts.push_back({root_start < 0 ? 0 : root_start, root});
  GMimeObject* body = g_mime_message_get_mime_part(message);
  if (body != nullptr) {
    FillContentType(body, b.tree.parts[root]);
  } else {
    b.tree.parts[root].content_type = "text/plain";
  }
  std::vector<WorkItem> stack;
  PushMessageBody(body, root, "", 0, std::make_shared<std::vector<std::string>>(), stack, b);
  while (!stack.empty()) {
    WorkItem item = std::move(stack.back());
    stack.pop_back();
    GMimeObject* object = item.object;
    MimePartKind kind = GMIME_IS_MESSAGE_PART(object) ? MimePartKind::kMessage
                        : GMIME_IS_MULTIPART(object)  ? MimePartKind::kMultipart
                                                      : MimePartKind::kLeaf;
    int index = b.NewPart(kind, item.parent, item.path, item.depth);
    if (index < 0) continue;
    MimePart& part = b.tree.parts[index];
    part.headers = CollectHeaders(object, nullptr);
    FillContentType(object, part);
    b.header_starts.push_back({FirstHeaderOffset(object), index});
    if (kind == MimePartKind::kMessage) {
      GMimeMessage* embedded = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
      if (embedded == nullptr) continue;
      int64_t start = -1;
      part.message_headers = MessageHeaderBlock(embedded, &start);
      if (start >= 0) b.header_starts.push_back({start, index});
      PushMessageBody(g_mime_message_get_mime_part(embedded), index, item.path, item.depth,
                      item.boundaries, stack, b);
    } else if (kind == MimePartKind::kMultipart) {
      PushMultipartChildren(GMIME_MULTIPART(object), index, item.path, item.depth, item.boundaries,
                            stack, b);
    } else if (GMIME_IS_PART(object)) {
      DecodeLeaf(b, GMIME_PART(object), index, *item.boundaries);
    }
  }
}

// Header-block bytes gmime normalises away: NULs and unencoded 8-bit.
void CheckHeaderBytes(Builder& b) {
  for (const auto& [start, index] : b.header_starts) {
    if (start < 0 || static_cast<size_t>(start) >= b.raw.size()) continue;
    size_t end = HeaderBlockEnd(b.raw, start);
    std::string_view block = b.raw.substr(start, end - start);
    const std::string& path = b.tree.parts[index].path;
    if (block.find('\0') != std::string_view::npos) {
      b.AddAnomaly(AnomalyKind::kNulInHeader, path, "NUL byte in the header block");
    }
    if (std::any_of(block.begin(), block.end(),
                    [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
      b.AddAnomaly(AnomalyKind::kEightBitHeader, path, "unencoded 8-bit bytes in the header block");
    }
  }
}

void MapWarnings(Builder& b, const std::vector<RawWarning>& warnings) {
  std::vector<std::pair<int64_t, int>> starts = b.header_starts;
  std::sort(starts.begin(), starts.end());
  for (const RawWarning& w : warnings) {
    std::optional<AnomalyKind> kind = AnomalyForWarning(w.code);
    if (!kind) continue;
    std::string path;
    if (w.offset >= 0) {
      auto it = std::upper_bound(starts.begin(), starts.end(),
                                 std::make_pair(w.offset, std::numeric_limits<int>::max()));
      if (it != starts.begin()) path = b.tree.parts[std::prev(it)->second].path;
    }
    b.AddAnomaly(*kind, path, w.item.empty() ? std::string(AnomalyKindName(*kind)) : w.item);
  }
}

}  // namespace

const MimeHeader* FindHeader(const std::vector<MimeHeader>& headers, std::string_view name) {
  for (const MimeHeader& header : headers) {
    if (header.name.size() == name.size() &&
        g_ascii_strncasecmp(header.name.data(), name.data(), name.size()) == 0) {
      return &header;
    }
  }
  return nullptr;
}

core::Result<MimeTree> ParseMime(std::string_view raw, const DecodeLimits& limits) {
  EnsureGmimeInitialized();
  // Each gmime part needs a boundary line, so cutting the input there bounds gmime's part count
  // (and its boundary checks, which cost O(depth) per "--" line) whatever the structure.
  size_t boundary_budget = std::max<size_t>(16, 4 * limits.max_mime_parts);
  size_t cut = CutBeforeBoundaryLine(raw, boundary_budget);
  std::string_view input = raw.substr(0, cut);

  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(input.data(), input.size()));
  if (!stream) return core::Fail(core::ErrorCode::kTempFail, "gmime: cannot allocate a stream");
  std::vector<RawWarning> warnings;
  std::unique_ptr<GMimeParserOptions, ParserOptionsFree> options(g_mime_parser_options_new());
  g_mime_parser_options_set_warning_callback(options.get(), CollectWarning, &warnings);
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  g_mime_parser_set_persist_stream(parser.get(), TRUE);
  GPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), options.get()));

  const GByteArray* buffer = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(stream.get()));
  Builder b(std::string_view(reinterpret_cast<const char*>(buffer->data), buffer->len), buffer,
            limits);
  if (cut < raw.size()) {
    b.tree.limit_events.push_back(
        {LimitKind::kMimeParts, "",
         fmt::format("more than {} boundary lines; MIME decoding stopped at byte {} of {}",
                     boundary_budget, cut, raw.size())});
  }
  if (message) {
    Walk(b, message.get());
  } else {
    // Not even a header block gmime accepts: the whole input is one opaque leaf, so the bytes
    // still reach every scanner.
    b.AddAnomaly(AnomalyKind::kMalformedMessage, "", "no parsable message header");
    int root = b.NewPart(MimePartKind::kMessage, -1, "", 0);
    b.tree.parts[root].content_type = "text/plain";
    int leaf = b.NewPart(MimePartKind::kLeaf, root, "1", 1);
    b.tree.parts[leaf].content_type = "application/octet-stream";
    b.tree.parts[leaf].body = std::string(raw);
    b.header_starts.push_back({0, root});
  }
  CheckHeaderBytes(b);
  MapWarnings(b, warnings);
  return std::move(b.tree);
}

}  // namespace moat::scanners
