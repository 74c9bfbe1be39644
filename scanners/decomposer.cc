// decomposer.cc - walks a message into a content tree under one budget.
#include "scanners/decomposer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <memory>

#include "scanners/archive_reader.h"
#include "scanners/mime_lint.h"

namespace moat::scanners {
namespace {

// Beyond this many limit events per message the rest are not recorded (one already makes the
// message UNCHECKED; a 42.zip would otherwise produce thousands).
constexpr size_t kMaxLimitEvents = 100;

bool IsArchiveType(std::string_view short_type, std::string_view mime) {
  static constexpr std::array kArchives = std::to_array<std::string_view>({
      "zip", "jar", "docx", "docm", "xlsx", "xlsm", "pptx", "pptm", "odt", "ods",
      "odp", "7z",  "rar",  "tar",  "cpio", "iso",  "cab",  "lha",  "xar", "ar",
      "deb", "gz",  "bz2",  "xz",   "lzma", "lz",   "zst",  "lz4",  "Z",
  });
  if (std::find(kArchives.begin(), kArchives.end(), short_type) != kArchives.end()) return true;
  // epub, Android packages and other zip-based types libmagic names on their own.
  return mime.ends_with("+zip") || mime == "application/vnd.android.package-archive";
}

ArchiveFamily FamilyOf(std::string_view short_type) {
  static constexpr std::array<std::pair<std::string_view, ArchiveFamily>, 17> kFamilies = {{
      {"7z", ArchiveFamily::k7z},
      {"rar", ArchiveFamily::kRar},
      {"tar", ArchiveFamily::kTar},
      {"cpio", ArchiveFamily::kCpio},
      {"iso", ArchiveFamily::kIso9660},
      {"cab", ArchiveFamily::kCab},
      {"lha", ArchiveFamily::kLha},
      {"xar", ArchiveFamily::kXar},
      {"ar", ArchiveFamily::kAr},
      {"deb", ArchiveFamily::kAr},
      {"gz", ArchiveFamily::kCompressed},
      {"bz2", ArchiveFamily::kCompressed},
      {"xz", ArchiveFamily::kCompressed},
      {"lzma", ArchiveFamily::kCompressed},
      {"zst", ArchiveFamily::kCompressed},
      {"lz4", ArchiveFamily::kCompressed},
      {"lz", ArchiveFamily::kCompressed},
  }};
  for (const auto& [name, family] : kFamilies) {
    if (name == short_type) return family;
  }
  if (short_type == "Z") return ArchiveFamily::kCompressed;
  // zip and everything built on it (jar, docx, odt, epub, apk ...).
  return ArchiveFamily::kZip;
}

bool IsMessageType(std::string_view type) {
  return type == "message/rfc822" || type == "message/global" || type == "message/news" ||
         type == "message/rfc2822";
}

std::string_view BaseName(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// The name of the single file inside "report.pdf.gz": the container's name minus the
// compression suffix.
std::string RawStreamMemberName(std::string_view container_name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 11> kSuffixes = {{
      {".tgz", ".tar"},
      {".tbz2", ".tar"},
      {".txz", ".tar"},
      {".gz", ""},
      {".bz2", ""},
      {".xz", ""},
      {".lzma", ""},
      {".zst", ""},
      {".lz4", ""},
      {".lz", ""},
      {".Z", ""},
  }};
  for (const auto& [suffix, replacement] : kSuffixes) {
    if (container_name.size() > suffix.size() && container_name.ends_with(suffix)) {
      container_name.remove_suffix(suffix.size());
      return std::string(container_name) + std::string(replacement);
    }
  }
  return container_name.empty() ? "data" : std::string(container_name) + ".data";
}

class Session {
 public:
  Session(FileTypeDetector& detector, const DecodeLimits& limits)
      : detector_(detector), limits_(limits), deadline_(limits.max_time) {}

  core::Result<ContentTree> Run(std::string_view raw) {
    auto mime = ParseMime(raw, limits_);
    if (!mime) return core::Fail(mime.error());
    tree_.mime_trees.push_back(std::move(*mime));
    ImportEvents(0, -1);
    mime_parts_ = tree_.mime_trees[0].parts.size();
    AddMimeTree(0, -1);
    return std::move(tree_);
  }

 private:
  int AddNode(ContentNode node) {
    int index = static_cast<int>(tree_.nodes.size());
    if (node.parent >= 0) {
      const ContentNode& parent = tree_.nodes[node.parent];
      node.container_chain = parent.container_chain;
      if (parent.container) {
        node.container_chain.push_back(parent.name.empty() ? parent.path : parent.name);
      }
      tree_.nodes[node.parent].children.push_back(index);
    }
    tree_.nodes.push_back(std::move(node));
    return index;
  }

  // Where the children of a node live.
  std::string ChildPrefixOf(int index) const {
    const ContentNode& node = tree_.nodes[index];
    // A MIME part's path is its number; members and uuencoded files already end in their name.
    if (node.kind == ContentNodeKind::kPart) return ChildPrefix(node.path, node.name);
    return node.path;
  }

  void AddAnomaly(AnomalyKind kind, std::string path, std::string detail) {
    tree_.anomalies.push_back({kind, std::move(path), std::move(detail)});
  }

  void AddLimit(LimitKind kind, std::string path, std::string detail) {
    if (tree_.limit_events.size() >= kMaxLimitEvents) return;
    tree_.limit_events.push_back({kind, std::move(path), std::move(detail)});
  }

  // Message-wide budgets: once one is spent no container opens anywhere.
  bool Exhausted(const std::string& path) {
    if (stop_) return true;
    if (deadline_.Expired()) {
      AddLimit(LimitKind::kTime, path,
               fmt::format("decoding time budget of {} ms spent", limits_.max_time.count()));
      stop_ = true;
    }
    return stop_;
  }

  // Copies a MimeTree's anomalies and limit events into the content tree, re-rooted under the
  // node the message was found in (anchor -1: the message itself).
  void ImportEvents(int tree_index, int anchor) {
    std::string own = anchor >= 0 ? tree_.nodes[anchor].path : "";
    std::string prefix = anchor >= 0 ? ChildPrefixOf(anchor) : "";
    auto rebase = [&](const std::string& path) {
      return path.empty() ? own : JoinPath(prefix, path);
    };
    for (const Anomaly& a : tree_.mime_trees[tree_index].anomalies) {
      AddAnomaly(a.kind, rebase(a.path), a.detail);
    }
    for (const LimitEvent& e : tree_.mime_trees[tree_index].limit_events) {
      AddLimit(e.limit, rebase(e.path), e.detail);
    }
  }

  void AddMimeTree(int tree_index, int anchor) {
    std::string prefix = anchor >= 0 ? ChildPrefixOf(anchor) : "";
    int base_depth = anchor >= 0 ? tree_.nodes[anchor].depth : 0;
    size_t count = tree_.mime_trees[tree_index].parts.size();
    std::vector<int> node_of(count, -1);
    for (size_t i = 0; i < count; ++i) {
      // Re-fetched every time: Inspect() below may add MimeTrees and nodes.
      const MimePart& part = tree_.mime_trees[tree_index].parts[i];
      if (i == 0 && anchor >= 0) {
        node_of[0] = anchor;
        continue;
      }
      ContentNode node;
      switch (part.kind) {
        case MimePartKind::kMessage:
          node.kind = ContentNodeKind::kMessage;
          break;
        case MimePartKind::kMultipart:
          node.kind = ContentNodeKind::kMultipart;
          break;
        case MimePartKind::kLeaf:
          node.kind = ContentNodeKind::kPart;
          break;
        case MimePartKind::kEmbedded:
          node.kind = ContentNodeKind::kEmbedded;
          break;
      }
      node.path = anchor >= 0 ? JoinPath(prefix, part.path) : part.path;
      node.name = part.name();
      node.declared_type = part.content_type;
      node.depth = base_depth + part.depth;
      node.parent = part.parent >= 0 ? node_of[part.parent] : -1;
      if (node.parent >= 0) {
        const ContentNode& parent = tree_.nodes[node.parent];
        node.container_depth = parent.container_depth + (parent.container ? 1 : 0);
      }
      bool has_body = part.kind == MimePartKind::kLeaf || part.kind == MimePartKind::kEmbedded;
      if (has_body) {
        node.mime_tree = tree_index;
        node.mime_part = static_cast<int>(i);
        node.size = part.body.size();
      }
      bool inline_text_body = part.kind == MimePartKind::kLeaf &&
                              part.content_type == "text/plain" && part.name().empty() &&
                              part.disposition != "attachment";
      int index = AddNode(std::move(node));
      node_of[i] = index;
      if (has_body) Inspect(index, inline_text_body);
    }
  }

  // `inline_text_body`: a text/plain MIME leaf without a file name that is not an attachment,
  // i.e. the message text, which mail clients show as text whatever its bytes are. When its
  // bytes are plainly text, libmagic is not asked: its text classification (dozens of regex
  // searches per part) costs about 0.25 us per byte, most of a small message's scan, and could
  // only rename text as another kind of text. Bytes that are not text go to libmagic as usual.
  void Inspect(int index, bool inline_text_body = false) {
    std::string_view data = tree_.bytes(tree_.nodes[index]);
    auto type = inline_text_body && IsPlainText(data) ? PlainTextType() : detector_.Detect(data);
    {
      ContentNode& node = tree_.nodes[index];
      if (type) {
        node.detected_type = std::move(type->mime_type);
        node.short_type = std::move(type->short_type);
      } else {
        node.detected_type = "application/octet-stream";
        node.short_type = "data";
        AddAnomaly(AnomalyKind::kTypeDetectionFailed, node.path, type.error().message());
      }
    }
    const ContentNode& node = tree_.nodes[index];
    if (data.empty()) return;
    bool declared_text = node.declared_type.starts_with("text/");
    bool archive = IsArchiveType(node.short_type, node.detected_type);
    bool message = !archive && (IsMessageType(node.declared_type) ||
                                (node.short_type == "eml" && !declared_text));
    if (!archive && !message) return;
    if (Exhausted(node.path)) {
      tree_.nodes[index].limit_stopped = true;
      return;
    }
    if (node.container_depth + 1 > limits_.max_depth) {
      AddLimit(LimitKind::kDepth, node.path,
               fmt::format("containers nested deeper than {}; not opened", limits_.max_depth));
      tree_.nodes[index].limit_stopped = true;
      return;
    }
    if (archive) {
      ExpandArchive(index);
    } else {
      ExpandMessage(index);
    }
  }

  void ExpandMessage(int index) {
    DecodeLimits nested = limits_;
    nested.max_mime_parts =
        mime_parts_ >= limits_.max_mime_parts ? 1 : limits_.max_mime_parts - mime_parts_;
    auto mime = ParseMime(tree_.bytes(tree_.nodes[index]), nested);
    if (!mime) {
      AddAnomaly(AnomalyKind::kMalformedMessage, tree_.nodes[index].path, mime.error().message());
      return;
    }
    mime_parts_ += mime->parts.size();
    bool complete = mime->limit_events.empty();
    tree_.mime_trees.push_back(std::move(*mime));
    int tree_index = static_cast<int>(tree_.mime_trees.size()) - 1;
    ContentNode& node = tree_.nodes[index];
    node.container = true;
    node.container_complete = complete;
    node.container_format = "MIME";
    node.nested_mime_tree = tree_index;
    ImportEvents(tree_index, index);
    AddMimeTree(tree_index, index);
  }

  void ExpandArchive(int index) {
    std::string_view data = tree_.bytes(tree_.nodes[index]);
    auto opened = ArchiveReader::Open(data, FamilyOf(tree_.nodes[index].short_type));
    if (!opened) {
      AddAnomaly(AnomalyKind::kArchiveCorrupt, tree_.nodes[index].path,
                 fmt::format("looks like {} but does not open: {}", tree_.nodes[index].short_type,
                             opened.error().message()));
      return;
    }
    ArchiveReader& reader = **opened;
    {
      ContentNode& node = tree_.nodes[index];
      node.container = true;
      std::string filter = reader.filter_name();
      node.container_format = reader.raw_stream() ? filter
                              : filter.empty()    ? reader.format_name()
                                                  : reader.format_name() + " + " + filter;
    }
    const std::string path = tree_.nodes[index].path;
    const std::string prefix = ChildPrefixOf(index);
    const std::string container_name = tree_.nodes[index].name;
    const uint64_t ratio_budget =
        std::max<uint64_t>(limits_.ratio_floor_bytes, limits_.max_compression_ratio * data.size());
    uint64_t produced = 0;
    size_t regular_members = 0;
    bool complete = false;
    bool damaged = false;
    bool limited = false;
    std::string macro_type;
    while (true) {
      if (Exhausted(path)) {
        limited = true;
        break;
      }
      auto next = reader.Next();
      if (!next) {
        if (reader.encrypted_headers()) {
          tree_.nodes[index].encrypted = true;
        } else {
          AddAnomaly(AnomalyKind::kArchiveCorrupt, path, next.error().message());
        }
        if (tree_.nodes[index].container_format.empty()) {
          tree_.nodes[index].container_format = reader.format_name();
        }
        break;
      }
      if (!next->has_value()) {
        complete = true;
        break;
      }
      ArchiveMember member = std::move(**next);
      if (tree_.nodes[index].container_format.empty()) {
        tree_.nodes[index].container_format = reader.format_name();
      }
      if (++members_ > limits_.max_members) {
        AddLimit(LimitKind::kMemberCount, path,
                 fmt::format("more than {} archive members in the message", limits_.max_members));
        stop_ = true;
        limited = true;
        break;
      }
      if (!member.regular_file) continue;
      ++regular_members;
      if (member.pathname == "word/vbaProject.bin") macro_type = "docm";
      if (member.pathname == "xl/vbaProject.bin") macro_type = "xlsm";
      if (member.pathname == "ppt/vbaProject.bin") macro_type = "pptm";

      ContentNode child;
      child.kind = ContentNodeKind::kMember;
      child.member_path = member.pathname;
      child.name = reader.raw_stream() ? RawStreamMemberName(container_name)
                                       : std::string(BaseName(member.pathname));
      child.path = JoinPath(prefix, reader.raw_stream() ? child.name : member.pathname);
      child.parent = index;
      child.depth = tree_.nodes[index].depth + 1;
      child.container_depth = tree_.nodes[index].container_depth + 1;
      child.encrypted = member.encrypted;
      if (member.encrypted) {
        AddNode(std::move(child));
        continue;
      }
      uint64_t total_left =
          limits_.max_total_bytes - std::min(limits_.max_total_bytes, tree_.unpacked_bytes);
      uint64_t ratio_left = ratio_budget - std::min(ratio_budget, produced);
      uint64_t allowance = std::min({limits_.max_member_bytes, total_left, ratio_left});
      auto bytes = std::make_shared<std::string>();
      auto read = reader.ReadData(*bytes, allowance, [this] { return !deadline_.Expired(); });
      tree_.unpacked_bytes += bytes->size();
      produced += bytes->size();
      child.size = bytes->size();
      child.owned_bytes = std::move(bytes);
      int child_index = AddNode(std::move(child));
      const std::string child_path = tree_.nodes[child_index].path;
      if (!read) {
        damaged = true;
        if (read.error().code() == core::ErrorCode::kPermFail) {
          tree_.nodes[child_index].encrypted = true;
        } else {
          AddAnomaly(AnomalyKind::kArchiveCorrupt, child_path, read.error().message());
          tree_.nodes[child_index].truncated = true;
        }
        Inspect(child_index);
        continue;
      }
      if (!read->complete) {
        tree_.nodes[child_index].truncated = true;
        limited = true;
        if (Exhausted(child_path)) break;
        if (allowance == total_left) {
          AddLimit(LimitKind::kTotalBytes, child_path,
                   fmt::format("more than {} unpacked bytes in the message; nothing more opened",
                               limits_.max_total_bytes));
          stop_ = true;
          Inspect(child_index);
          break;
        }
        if (allowance == ratio_left) {
          AddLimit(LimitKind::kCompressionRatio, path,
                   fmt::format("{} bytes expanded past {} x their size; rest skipped", data.size(),
                               limits_.max_compression_ratio));
          Inspect(child_index);
          break;
        }
        AddLimit(LimitKind::kMemberBytes, child_path,
                 fmt::format("member larger than {} bytes; first {} bytes kept",
                             limits_.max_member_bytes, limits_.max_member_bytes));
        Inspect(child_index);
        if (!reader.cheap_skip()) {
          // Skipping would decompress what the limit refused: stop this container instead.
          break;
        }
        limited = false;  // zip & co. skip the rest of the member cheaply and go on
        continue;
      }
      if (member.declared_size >= 0 &&
          static_cast<uint64_t>(member.declared_size) != tree_.nodes[child_index].size) {
        AddAnomaly(AnomalyKind::kArchiveSizeMismatch, child_path,
                   fmt::format("header says {} bytes, data has {}", member.declared_size,
                               tree_.nodes[child_index].size));
      }
      Inspect(child_index);
    }
    ContentNode& node = tree_.nodes[index];
    // An archive without a single file proves nothing about its bytes: keep them for ClamAV.
    node.container_complete = complete && !damaged && !limited && regular_members > 0;
    node.limit_stopped = limited;
    if (!macro_type.empty()) node.short_type = macro_type;
    // The members carry the content now; a member container need not keep its own copy.
    if (node.container_complete && node.owned_bytes != nullptr) node.owned_bytes.reset();
  }

  FileTypeDetector& detector_;
  const DecodeLimits& limits_;
  Deadline deadline_;
  ContentTree tree_;
  size_t members_ = 0;
  size_t mime_parts_ = 0;
  bool stop_ = false;
};

}  // namespace

Decomposer::Decomposer(FileTypeDetector detector, DecodeLimits limits)
    : detector_(std::move(detector)), limits_(limits) {}

core::Result<Decomposer> Decomposer::Create(DecodeLimits limits) {
  auto detector = FileTypeDetector::Create();
  if (!detector) return core::Fail(detector.error());
  return Decomposer(std::move(*detector), limits);
}

core::Result<ContentTree> Decomposer::Decompose(std::string_view raw_message) {
  Session session(detector_, limits_);
  return session.Run(raw_message);
}

}  // namespace moat::scanners
