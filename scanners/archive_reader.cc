// archive_reader.cc - libarchive behind ArchiveReader.
#include "scanners/archive_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>

#include <array>
#include <vector>

namespace moat::scanners {
namespace {

using SupportFn = int (*)(struct archive*);

constexpr std::array<SupportFn, 11> kFormats = {
    archive_read_support_format_zip,     archive_read_support_format_7zip,
    archive_read_support_format_rar,     archive_read_support_format_rar5,
    archive_read_support_format_tar,     archive_read_support_format_cpio,
    archive_read_support_format_iso9660, archive_read_support_format_cab,
    archive_read_support_format_lha,     archive_read_support_format_xar,
    archive_read_support_format_ar,
};

constexpr std::array<SupportFn, 8> kFilters = {
    archive_read_support_filter_gzip, archive_read_support_filter_bzip2,
    archive_read_support_filter_xz,   archive_read_support_filter_lzma,
    archive_read_support_filter_lzip, archive_read_support_filter_zstd,
    archive_read_support_filter_lz4,  archive_read_support_filter_compress,
};

// libarchive answers ARCHIVE_WARN when it would implement a filter by running an external
// program on the data; those are never registered. Probed once per process (immutable after).
const std::vector<SupportFn>& NativeFilters() {
  static const std::vector<SupportFn> native = [] {
    std::vector<SupportFn> out;
    for (SupportFn fn : kFilters) {
      struct archive* probe = archive_read_new();
      if (probe == nullptr) continue;
      if (fn(probe) == ARCHIVE_OK) out.push_back(fn);
      archive_read_free(probe);
    }
    return out;
  }();
  return native;
}

// libarchive converts member names (UTF-16 LHA names, CP437 zip names, ...) to the charset of
// the calling thread's locale; a daemon runs in the "C" locale, where every non-ASCII name fails
// to convert and the archive reads as broken. Each call into libarchive therefore runs under a
// thread-local C.UTF-8 locale (uselocale swaps a per-thread pointer; the process locale is never
// touched). The locale object is created once and never changes.
locale_t Utf8Locale() {
  static const locale_t utf8 = newlocale(LC_ALL_MASK, "C.UTF-8", static_cast<locale_t>(0));
  return utf8;
}

class Utf8LocaleScope {
 public:
  Utf8LocaleScope() {
    if (Utf8Locale() != static_cast<locale_t>(0)) previous_ = uselocale(Utf8Locale());
  }
  ~Utf8LocaleScope() {
    if (previous_ != static_cast<locale_t>(0)) uselocale(previous_);
  }
  Utf8LocaleScope(const Utf8LocaleScope&) = delete;
  Utf8LocaleScope& operator=(const Utf8LocaleScope&) = delete;

 private:
  locale_t previous_ = static_cast<locale_t>(0);
};

std::string ErrorText(struct archive* a) {
  const char* text = archive_error_string(a);
  return text != nullptr ? text : "unknown libarchive error";
}

bool MentionsEncryption(const std::string& text) {
  return text.find("ncrypt") != std::string::npos || text.find("assphrase") != std::string::npos;
}

}  // namespace

struct ArchiveReader::Handle {
  struct archive* archive = nullptr;
  struct archive_entry* peeked = nullptr;  // the first entry, read by Open() to detect the format
  bool raw = false;
  bool finished = false;
  ~Handle() {
    if (archive != nullptr) archive_read_free(archive);
  }
};

ArchiveReader::ArchiveReader(std::unique_ptr<Handle> handle) : handle_(std::move(handle)) {}
ArchiveReader::~ArchiveReader() = default;

namespace {

struct Attempt {
  struct archive* archive = nullptr;
  struct archive_entry* first = nullptr;
  int status = ARCHIVE_FATAL;
};

void SupportFormats(struct archive* a, ArchiveFamily family) {
  switch (family) {
    case ArchiveFamily::kAny:
    case ArchiveFamily::kCompressed:
      for (SupportFn fn : kFormats) fn(a);
      return;
    case ArchiveFamily::kZip:
      archive_read_support_format_zip(a);
      return;
    case ArchiveFamily::k7z:
      archive_read_support_format_7zip(a);
      return;
    case ArchiveFamily::kRar:
      archive_read_support_format_rar(a);
      archive_read_support_format_rar5(a);
      return;
    case ArchiveFamily::kTar:
      archive_read_support_format_tar(a);
      return;
    case ArchiveFamily::kCpio:
      archive_read_support_format_cpio(a);
      return;
    case ArchiveFamily::kIso9660:
      archive_read_support_format_iso9660(a);
      return;
    case ArchiveFamily::kCab:
      archive_read_support_format_cab(a);
      return;
    case ArchiveFamily::kLha:
      archive_read_support_format_lha(a);
      return;
    case ArchiveFamily::kXar:
      archive_read_support_format_xar(a);
      return;
    case ArchiveFamily::kAr:
      archive_read_support_format_ar(a);
      return;
  }
}

Attempt TryOpen(std::string_view data, ArchiveFamily family, bool raw) {
  Attempt attempt;
  attempt.archive = archive_read_new();
  if (attempt.archive == nullptr) return attempt;
  if (raw) {
    archive_read_support_format_raw(attempt.archive);
  } else {
    SupportFormats(attempt.archive, family);
  }
  for (SupportFn fn : NativeFilters()) fn(attempt.archive);
  attempt.status = archive_read_open_memory(attempt.archive, data.data(), data.size());
  if (attempt.status == ARCHIVE_OK) {
    attempt.status = archive_read_next_header(attempt.archive, &attempt.first);
  }
  return attempt;
}

bool HasCompressionFilter(struct archive* a) {
  int count = archive_filter_count(a);
  for (int i = 0; i < count; ++i) {
    if (archive_filter_code(a, i) != ARCHIVE_FILTER_NONE) return true;
  }
  return false;
}

}  // namespace

core::Result<std::unique_ptr<ArchiveReader>> ArchiveReader::Open(std::string_view data,
                                                                 ArchiveFamily family) {
  Utf8LocaleScope locale;
  if (data.empty()) return core::Fail(core::ErrorCode::kInvalid, "empty input");
  auto handle = std::make_unique<Handle>();
  Attempt attempt = TryOpen(data, family, /*raw=*/false);
  handle->archive = attempt.archive;
  if (attempt.archive == nullptr) return core::Fail(core::ErrorCode::kTempFail, "out of memory");
  bool recognized = archive_format(attempt.archive) != 0;
  // A compressed stream of zeros reads as an empty tar archive (its first block is the tar
  // end-of-archive marker), which would hide whatever follows; read such streams raw instead.
  bool empty_tar =
      attempt.status == ARCHIVE_EOF &&
      (archive_format(attempt.archive) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_TAR;
  if ((attempt.status < ARCHIVE_WARN && !recognized) || empty_tar) {
    // No archive format: a single compressed stream (foo.exe.gz) reads as one raw member, but
    // only when a real decompression filter is involved (raw alone would "open" anything).
    bool compressed = HasCompressionFilter(attempt.archive) &&
                      (family == ArchiveFamily::kAny || family == ArchiveFamily::kCompressed);
    if (empty_tar && !compressed) {
      return core::Fail(core::ErrorCode::kInvalid, "an empty tar archive");
    }
    if (!compressed) {
      return core::Fail(core::ErrorCode::kInvalid, "not an archive: {}",
                        ErrorText(attempt.archive));
    }
    archive_read_free(attempt.archive);
    handle->archive = nullptr;
    attempt = TryOpen(data, family, /*raw=*/true);
    handle->archive = attempt.archive;
    if (attempt.archive == nullptr) return core::Fail(core::ErrorCode::kTempFail, "out of memory");
    handle->raw = true;
  }
  auto reader = std::unique_ptr<ArchiveReader>(new ArchiveReader(std::move(handle)));
  if (attempt.status == ARCHIVE_EOF) {
    reader->handle_->finished = true;
  } else if (attempt.status < ARCHIVE_WARN) {
    std::string why = ErrorText(attempt.archive);
    if (archive_format(attempt.archive) == 0) {
      return core::Fail(core::ErrorCode::kInvalid, "not an archive: {}", why);
    }
    // Recognized but unreadable from the start: keep the reader so the caller learns the format,
    // and report the error from the first Next().
    reader->encrypted_headers_ = MentionsEncryption(why);
    reader->handle_->finished = true;
    reader->handle_->peeked = nullptr;
    reader->pending_error_ = why;
  } else {
    reader->handle_->peeked = attempt.first;
  }
  return reader;
}

core::Result<std::optional<ArchiveMember>> ArchiveReader::Next() {
  Utf8LocaleScope locale;
  Handle& h = *handle_;
  if (!pending_error_.empty()) {
    std::string why = std::move(pending_error_);
    pending_error_.clear();
    if (encrypted_headers_) return core::Fail(core::ErrorCode::kPermFail, "{}", why);
    return core::Fail(core::ErrorCode::kCorrupt, "{}", why);
  }
  if (h.finished) return std::nullopt;
  struct archive_entry* entry = h.peeked;
  h.peeked = nullptr;
  if (entry == nullptr) {
    int status = archive_read_next_header(h.archive, &entry);
    if (status == ARCHIVE_EOF) {
      h.finished = true;
      return std::nullopt;
    }
    if (status < ARCHIVE_WARN) {
      h.finished = true;
      std::string why = ErrorText(h.archive);
      if (MentionsEncryption(why)) {
        encrypted_headers_ = true;
        return core::Fail(core::ErrorCode::kPermFail, "{}", why);
      }
      return core::Fail(core::ErrorCode::kCorrupt, "{}", why);
    }
  }
  ArchiveMember member;
  const char* path = archive_entry_pathname_utf8(entry);
  if (path == nullptr) path = archive_entry_pathname(entry);
  member.pathname = path != nullptr ? path : "";
  if (archive_entry_size_is_set(entry)) member.declared_size = archive_entry_size(entry);
  member.regular_file = archive_entry_filetype(entry) == AE_IFREG;
  member.encrypted = archive_entry_is_encrypted(entry) != 0;
  return member;
}

core::Result<uint64_t> ArchiveReader::ReadChunk(char* buffer, size_t size) {
  Utf8LocaleScope locale;
  la_ssize_t got = archive_read_data(handle_->archive, buffer, size);
  if (got >= 0) return static_cast<uint64_t>(got);
  std::string why = ErrorText(handle_->archive);
  if (got == ARCHIVE_FATAL) handle_->finished = true;
  if (MentionsEncryption(why)) return core::Fail(core::ErrorCode::kPermFail, "{}", why);
  return core::Fail(core::ErrorCode::kCorrupt, "{}", why);
}

core::Status ArchiveReader::Skip() {
  Utf8LocaleScope locale;
  int status = archive_read_data_skip(handle_->archive);
  if (status < ARCHIVE_WARN) {
    if (status == ARCHIVE_FATAL) handle_->finished = true;
    return core::Fail(core::ErrorCode::kCorrupt, "{}", ErrorText(handle_->archive));
  }
  return {};
}

std::string ArchiveReader::format_name() const {
  const char* name = archive_format_name(handle_->archive);
  return name != nullptr ? name : "";
}

std::string ArchiveReader::filter_name() const {
  struct archive* a = handle_->archive;
  std::string names;
  int count = archive_filter_count(a);
  for (int i = 0; i < count; ++i) {
    if (archive_filter_code(a, i) == ARCHIVE_FILTER_NONE) continue;
    const char* name = archive_filter_name(a, i);
    if (name == nullptr) continue;
    if (!names.empty()) names += "+";
    names += name;
  }
  return names;
}

bool ArchiveReader::raw_stream() const { return handle_->raw; }

bool ArchiveReader::cheap_skip() const {
  if (HasCompressionFilter(handle_->archive)) return false;
  switch (archive_format(handle_->archive) & ARCHIVE_FORMAT_BASE_MASK) {
    case ARCHIVE_FORMAT_ZIP:
    case ARCHIVE_FORMAT_TAR:
    case ARCHIVE_FORMAT_CPIO:
    case ARCHIVE_FORMAT_AR:
    case ARCHIVE_FORMAT_ISO9660:
    case ARCHIVE_FORMAT_XAR:
      return true;
    default:
      return false;
  }
}

}  // namespace moat::scanners
