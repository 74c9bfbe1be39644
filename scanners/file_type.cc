// file_type.cc - libmagic behind FileTypeDetector; the MIME -> short type table.
#include "scanners/file_type.h"

#include <magic.h>

#include <algorithm>
#include <array>
#include <utility>

namespace moat::scanners {
namespace {

struct ShortTypeEntry {
  std::string_view mime;
  std::string_view short_type;
};

// Sorted lookups are not worth it for ~90 entries probed once per leaf.
constexpr std::array kShortTypes = std::to_array<ShortTypeEntry>({
    {"application/vnd.microsoft.portable-executable", "exe"},
    {"application/x-dosexec", "exe"},
    {"application/x-msdownload", "exe"},
    {"application/x-ms-ne-executable", "exe"},
    {"application/x-executable", "elf"},
    {"application/x-pie-executable", "elf"},
    {"application/x-sharedlib", "elf"},
    {"application/x-object", "elf"},
    {"application/x-coredump", "elf"},
    {"application/x-mach-binary", "macho"},
    {"application/java-archive", "jar"},
    {"application/x-java-applet", "class"},
    {"application/x-bytecode.python", "pyc"},
    {"application/x-ms-shortcut", "lnk"},
    {"application/pdf", "pdf"},
    {"application/postscript", "ps"},
    {"application/msword", "doc"},
    {"application/vnd.ms-excel", "xls"},
    {"application/vnd.ms-powerpoint", "ppt"},
    {"application/vnd.ms-outlook", "msg"},
    {"application/x-msi", "msi"},
    {"application/vnd.ms-msi", "msi"},
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"},
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.template", "docx"},
    {"application/vnd.ms-word.document.macroenabled.12", "docm"},
    {"application/vnd.ms-word.template.macroenabled.12", "docm"},
    {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"},
    {"application/vnd.openxmlformats-officedocument.spreadsheetml.template", "xlsx"},
    {"application/vnd.ms-excel.sheet.macroenabled.12", "xlsm"},
    {"application/vnd.ms-excel.template.macroenabled.12", "xlsm"},
    {"application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"},
    {"application/vnd.openxmlformats-officedocument.presentationml.slideshow", "pptx"},
    {"application/vnd.ms-powerpoint.presentation.macroenabled.12", "pptm"},
    {"application/vnd.ms-powerpoint.slideshow.macroenabled.12", "pptm"},
    {"application/vnd.oasis.opendocument.text", "odt"},
    {"application/vnd.oasis.opendocument.spreadsheet", "ods"},
    {"application/vnd.oasis.opendocument.presentation", "odp"},
    {"application/rtf", "rtf"},
    {"text/rtf", "rtf"},
    {"application/zip", "zip"},
    {"application/x-zip-compressed", "zip"},
    {"application/x-7z-compressed", "7z"},
    {"application/x-rar", "rar"},
    {"application/vnd.rar", "rar"},
    {"application/x-rar-compressed", "rar"},
    {"application/x-tar", "tar"},
    {"application/x-gtar", "tar"},
    {"application/x-ustar", "tar"},
    {"application/x-cpio", "cpio"},
    {"application/x-iso9660-image", "iso"},
    {"application/vnd.ms-cab-compressed", "cab"},
    {"application/x-lha", "lha"},
    {"application/x-lharc", "lha"},
    {"application/x-lzh-compressed", "lha"},
    {"application/x-lzh", "lha"},
    {"application/x-xar", "xar"},
    {"application/x-archive", "ar"},
    {"application/vnd.debian.binary-package", "deb"},
    {"application/x-rpm", "rpm"},
    {"application/x-arj", "arj"},
    {"application/vnd.ms-htmlhelp", "chm"},
    {"application/x-ms-compress-szdd", "szdd"},
    {"application/vnd.symbian.install", "sis"},
    {"application/vnd.ms-tnef", "tnef"},
    {"application/mac-binhex40", "binhex"},
    {"application/warc", "warc"},
    {"application/gzip", "gz"},
    {"application/x-gzip", "gz"},
    {"application/x-bzip2", "bz2"},
    {"application/x-xz", "xz"},
    {"application/x-lzma", "lzma"},
    {"application/zstd", "zst"},
    {"application/x-zstd", "zst"},
    {"application/x-lz4", "lz4"},
    {"application/x-lzip", "lz"},
    {"application/x-compress", "Z"},
    {"application/javascript", "script"},
    {"text/javascript", "script"},
    {"application/x-powershell", "script"},
    {"application/x-shockwave-flash", "swf"},
    {"text/html", "html"},
    {"text/xml", "xml"},
    {"application/xml", "xml"},
    {"image/svg+xml", "svg"},
    {"text/csv", "csv"},
    {"message/rfc822", "eml"},
    {"message/news", "eml"},
    {"image/jpeg", "jpg"},
    {"image/png", "png"},
    {"image/gif", "gif"},
    {"image/bmp", "bmp"},
    {"image/tiff", "tiff"},
    {"application/octet-stream", "data"},
    {"inode/x-empty", "empty"},
    {"application/x-empty", "empty"},
});

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool Contains(std::string_view s, std::string_view part) { return s.find(part) != s.npos; }

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IsCompoundDocument(std::string_view mime) {
  return mime == "application/vnd.ms-office" || mime == "application/x-ole-storage" ||
         mime == "application/cdfv2" || mime == "application/cdfv2-unknown";
}

bool IsScriptText(std::string_view mime) {
  static constexpr std::array kScripts = std::to_array<std::string_view>({
      "text/x-shellscript",   "text/x-sh",          "text/x-python",
      "text/x-script.python", "text/x-perl",        "text/x-ruby",
      "text/x-php",           "text/x-msdos-batch", "text/x-tcl",
      "text/x-awk",           "text/x-lua",         "text/x-vbscript",
      "text/vbscript",        "text/x-powershell",  "application/x-sh",
      "application/x-csh",    "application/x-perl", "application/x-python",
      "application/x-ruby",
  });
  return std::find(kScripts.begin(), kScripts.end(), mime) != kScripts.end() ||
         StartsWith(mime, "text/x-script");
}

}  // namespace

bool NeedsDescription(std::string_view mime_type) {
  std::string mime = Lower(mime_type);
  return mime == "application/vnd.microsoft.portable-executable" ||
         mime == "application/x-dosexec" || IsCompoundDocument(mime);
}

std::string ShortTypeFor(std::string_view mime_type, std::string_view description) {
  std::string mime = Lower(mime_type);
  if (mime.empty()) return "data";
  if (IsCompoundDocument(mime)) {
    if (Contains(description, "Excel")) return "xls";
    if (Contains(description, "PowerPoint")) return "ppt";
    if (Contains(description, "Word")) return "doc";
    if (Contains(description, "Installer") || Contains(description, "MSI")) return "msi";
    if (Contains(description, "Outlook")) return "msg";
    return "ole";
  }
  if (IsScriptText(mime)) return "script";
  for (const ShortTypeEntry& entry : kShortTypes) {
    if (entry.mime != mime) continue;
    if (entry.short_type == "exe" && Contains(description, "(DLL)")) return "dll";
    return std::string(entry.short_type);
  }
  if (StartsWith(mime, "image/")) return "image";
  if (StartsWith(mime, "audio/")) return "audio";
  if (StartsWith(mime, "video/")) return "video";
  if (StartsWith(mime, "font/")) return "font";
  if (StartsWith(mime, "text/")) return "txt";
  size_t slash = mime.find('/');
  std::string subtype = slash == std::string::npos ? mime : mime.substr(slash + 1);
  if (StartsWith(subtype, "x-")) subtype.erase(0, 2);
  return subtype.empty() ? "data" : subtype;
}

bool IsPlainText(std::string_view bytes) {
  if (bytes.empty()) return false;
  for (unsigned char c : bytes) {
    if (c >= 0x20) {
      if (c == 0x7f) return false;
    } else if (c != '\t' && c != '\n' && c != '\r' && c != '\f') {
      return false;
    }
  }
  return true;
}

bool IsPlainProse(std::string_view text) {
  if (text.find_first_of("<>{}[]=;$@#\\|`%") != std::string_view::npos) return false;
  if (text.find("import") != std::string_view::npos) return false;
  if (text.starts_with("From ")) return false;
  // A first line "Name: ..." (RFC 5322 field name characters) may be the start of a message.
  size_t colon = text.find(':');
  size_t line_end = text.find('\n');
  if (colon != std::string_view::npos && colon > 0 && colon < line_end) {
    std::string_view name = text.substr(0, colon);
    bool field = std::all_of(name.begin(), name.end(), [](unsigned char c) {
      return c > 0x20 && c < 0x7f;
    });
    if (field) return false;
  }
  return true;
}

core::Result<FileType> PlainTextType() {
  FileType type;
  type.mime_type = "text/plain";
  type.short_type = "txt";
  return type;
}

// `mime` is libmagic as it comes. `binary` skips its text-encoding pass, which reads the whole
// window looking for a charset (half a millisecond on a 64 KiB PDF), for content that is not
// plain text: the binary rules it runs are the same, so it names every format `mime` names, and
// only what it leaves unknown goes to `mime` for the text-encoding verdicts (UTF-16, Latin-1
// with control characters). Over 2,089 binary files of this machine both gave the same type.
// `text` gives libmagic's description, only needed for PE and OLE2 files.
struct FileTypeDetector::Handles {
  magic_t mime = nullptr;
  magic_t binary = nullptr;
  magic_t text = nullptr;
  ~Handles() {
    if (mime != nullptr) magic_close(mime);
    if (binary != nullptr) magic_close(binary);
    if (text != nullptr) magic_close(text);
  }
};

namespace {

// MAGIC_NO_COMPRESS_FORK: libmagic never runs a decompressor program on hostile input. CSV and
// JSON detection cost time on every text part and no rule needs them.
constexpr int kBaseFlags =
    MAGIC_NO_COMPRESS_FORK | MAGIC_ERROR | MAGIC_NO_CHECK_CSV | MAGIC_NO_CHECK_JSON;

core::Result<magic_t> OpenMagic(int flags, size_t inspect_bytes) {
  magic_t handle = magic_open(kBaseFlags | flags);
  if (handle == nullptr) return core::Fail(core::ErrorCode::kIo, "magic_open failed");
  size_t bytes_max = inspect_bytes;
  magic_setparam(handle, MAGIC_PARAM_BYTES_MAX, &bytes_max);
  if (magic_load(handle, nullptr) != 0) {
    std::string why = magic_error(handle) != nullptr ? magic_error(handle) : "unknown error";
    magic_close(handle);
    return core::Fail(core::ErrorCode::kIo,
                      "loading the libmagic database (Debian package libmagic-mgc): {}", why);
  }
  return handle;
}

}  // namespace

core::Result<FileTypeDetector> FileTypeDetector::Create(size_t inspect_bytes) {
  auto handles = std::make_unique<Handles>();
  auto mime = OpenMagic(MAGIC_MIME_TYPE, inspect_bytes);
  if (!mime) return core::Fail(mime.error());
  handles->mime = *mime;
  auto binary = OpenMagic(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_ENCODING, inspect_bytes);
  if (!binary) return core::Fail(binary.error());
  handles->binary = *binary;
  auto text = OpenMagic(MAGIC_NO_CHECK_ENCODING, inspect_bytes);
  if (!text) return core::Fail(text.error());
  handles->text = *text;
  return FileTypeDetector(std::move(handles), inspect_bytes);
}

FileTypeDetector::FileTypeDetector(std::unique_ptr<Handles> handles, size_t inspect_bytes)
    : handles_(std::move(handles)), inspect_bytes_(inspect_bytes) {}
FileTypeDetector::FileTypeDetector(FileTypeDetector&&) noexcept = default;
FileTypeDetector& FileTypeDetector::operator=(FileTypeDetector&&) noexcept = default;
FileTypeDetector::~FileTypeDetector() = default;

core::Result<FileType> FileTypeDetector::Detect(std::string_view bytes) {
  FileType type;
  if (bytes.empty()) {
    type.mime_type = "application/x-empty";
    type.short_type = "empty";
    return type;
  }
  std::string_view head = bytes.substr(0, inspect_bytes_);
  bool plain_text = IsPlainText(head);
  if (plain_text) {
    head = head.substr(0, kTextInspectBytes);
    if (IsPlainProse(head)) return PlainTextType();
  }
  magic_t used = plain_text ? handles_->mime : handles_->binary;
  const char* mime = magic_buffer(used, head.data(), head.size());
  if (!plain_text && mime != nullptr && std::string_view(mime) == "application/octet-stream") {
    used = handles_->mime;
    mime = magic_buffer(used, head.data(), head.size());
  }
  if (mime == nullptr) {
    const char* why = magic_error(used);
    return core::Fail(core::ErrorCode::kTempFail, "libmagic: {}", why != nullptr ? why : "failed");
  }
  type.mime_type = Lower(mime);
  if (NeedsDescription(type.mime_type)) {
    const char* text = magic_buffer(handles_->text, head.data(), head.size());
    if (text != nullptr) type.description = text;
  }
  type.short_type = ShortTypeFor(type.mime_type, type.description);
  return type;
}

}  // namespace moat::scanners
