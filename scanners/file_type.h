// file_type.h - the true type of a piece of content, from its bytes (libmagic).
//
// Attachment names and declared Content-Types are chosen by the sender; the detected type is
// what the bytes are. A ".pdf" that starts with a Windows PE header is detected as
// "application/vnd.microsoft.portable-executable" with short type "exe", whatever it is called.
//
// Short types are the small vocabulary the banned-attachment rules match on: exe, dll, elf,
// macho, script, pdf, doc, docm, docx, xls, xlsm, xlsx, ppt, pptm, pptx, rtf, zip, 7z, rar, tar,
// cpio, iso, cab, lha, xar, ar, gz, bz2, xz, lzma, zst, lz4, arj, chm, eml, html, txt, image,
// data, empty, ... (ShortTypeFor() holds the full table; unknown types map to their MIME
// subtype without an "x-" prefix).
//
// Thread safety: a FileTypeDetector owns libmagic handles (magic_t), which are NOT thread-safe.
// Give each worker thread its own detector (the Decomposer owns one and is itself per worker).
// Creating one costs a few milliseconds (it maps the compiled magic database).
//
// Errors: Create() fails with kIo when the magic database cannot be loaded (libmagic-mgc not
// installed). Detect() fails with kTempFail when libmagic gives up on a buffer; callers record
// that and treat the type as unknown rather than as harmless.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"

namespace moat::scanners {

struct FileType {
  std::string mime_type;    // "application/pdf", "application/vnd.microsoft.portable-executable"
  std::string short_type;   // "pdf", "exe", "dll", ...
  std::string description;  // libmagic's text ("PE32 executable (DLL) ..."); only when consulted
};

// The short type for a MIME type as libmagic reports it; `description` (libmagic's text output)
// refines PE (exe vs dll) and OLE2 compound files (doc, xls, ppt, msi, msg).
std::string ShortTypeFor(std::string_view mime_type, std::string_view description = {});

// True when libmagic's MIME type needs the description to choose a short type.
bool NeedsDescription(std::string_view mime_type);

// True when `bytes` are text as a mail client would show them: no byte below 0x20 other than
// tab, LF, CR and form feed, no DEL. Eight-bit bytes (any charset) count as text. Linear, cheap.
bool IsPlainText(std::string_view bytes);

// True when plain text (IsPlainText) has none of what libmagic's text rules look for, so it
// can only call it text/plain: no markup or code punctuation (< > { } [ ] = ; $ @ # \ | ` %),
// no "import", and no header-like first line ("Name:" or "From "), which would make it mail.
// Such text (prose, CSV) costs libmagic 2-3 ms for every rule failing; this check microseconds.
// Over 3,473 text files of this machine, 177 qualified and libmagic called 176 of those
// text/plain (the other it took for HP-GL plotter data).
bool IsPlainProse(std::string_view text);

// What Detect() reports for plain text ("text/plain", "txt"), without consulting libmagic.
core::Result<FileType> PlainTextType();

class FileTypeDetector {
 public:
  // How many leading bytes libmagic looks at: enough for ISO 9660 (32 KiB in) and tar headers;
  // libmagic cost grows with it (text classification reads every byte).
  static constexpr size_t kDefaultInspectBytes = 64 * 1024;
  // Plain text that IsPlainProse() over this window is text/plain without asking libmagic.
  // How many of those libmagic gets when they are plain text (IsPlainText). Its text
  // classification runs dozens of regex searches whose cost grows with the window (a 40 KB
  // text: 3.9 ms at 64 KiB, 2.5 ms at 4 KiB), and its text rules look near the start: over
  // 1,863 text files of this machine, 4 KiB changed no type that maps to another short type
  // (3 files went from text/x-c to text/plain, both "txt").
  static constexpr size_t kTextInspectBytes = 4 * 1024;

  static core::Result<FileTypeDetector> Create(size_t inspect_bytes = kDefaultInspectBytes);

  FileTypeDetector(FileTypeDetector&&) noexcept;
  FileTypeDetector& operator=(FileTypeDetector&&) noexcept;
  ~FileTypeDetector();

  core::Result<FileType> Detect(std::string_view bytes);

 private:
  struct Handles;
  explicit FileTypeDetector(std::unique_ptr<Handles> handles, size_t inspect_bytes);
  std::unique_ptr<Handles> handles_;
  size_t inspect_bytes_;
};

}  // namespace moat::scanners
