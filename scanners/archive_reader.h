// archive_reader.h - one archive or compressed stream, read from memory (libarchive).
//
// ArchiveReader is the only door to libarchive. It opens bytes that are already in memory (no
// temp files), lists members one by one and reads each member's data into a caller-supplied
// buffer, never more than the caller allows. Recursion, limits and bookkeeping live in the
// ArchiveExpander (archive_expander.h); this type only translates libarchive.
//
// Formats: zip, 7z, rar, rar5, tar (all variants), cpio, iso9660, cab, lha, xar, ar; and
// the compression filters gzip, bzip2, xz, lzma, lzip, zstd, lz4 and compress (.Z) around any of
// them or around a single raw stream (foo.exe.gz), which reads as one member (also when the
// stream would read as an empty tar: zeros then data). Left out on purpose: mtree (its entries
// name files on *this* machine's disk), warc (no mail use; its reader pads member data, which
// would be flagged as a size mismatch on every archive) and the filters libarchive
// implements by running an external program (lrzip, grzip, lzop without liblzo) or that serve
// no mail use (uu: MIME decoding handles uuencode; rpm).
//
// Lifetime: the reader borrows `data` given to Open(); it must outlive the reader.
// Thread safety: none; one reader per thread at a time. Distinct readers are independent.
//
// Errors (core::Error codes):
//   Open()     kInvalid  the bytes are no archive/compressed stream we read.
//   Next()     kCorrupt  truncated data, bad checksums, impossible headers;
//              kPermFail an archive feature we cannot read (e.g. 7z/rar with encrypted headers);
//              the message names it, and archive_encrypted_headers() tells which case it was.
//   ReadData() kCorrupt  the member's data is damaged or truncated; kPermFail encrypted member.
// After any error the reader is finished: call nothing but the accessors.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace moat::scanners {

// What the caller believes the bytes are (libmagic's verdict). Only that format is offered to
// libarchive: a RAR that carries a zip inside is read as the RAR it is, not as the zip that
// libarchive's zip bidder would find within it (which would hide the RAR's other members).
// kAny and kCompressed (gzip, xz ... streams) offer every format, and raw single streams.
enum class ArchiveFamily {
  kAny,
  kCompressed,
  kZip,
  k7z,
  kRar,
  kTar,
  kCpio,
  kIso9660,
  kCab,
  kLha,
  kXar,
  kAr
};

struct ArchiveMember {
  std::string pathname;        // as stored (UTF-8 when the archive says so; raw bytes otherwise)
  int64_t declared_size = -1;  // from the header; -1 when the format does not say
  bool regular_file = true;    // false for directories, links, devices ...
  bool encrypted = false;      // data (or metadata) of this member is encrypted
};

struct ReadOutcome {
  uint64_t bytes = 0;     // bytes appended to the buffer by this call
  bool complete = false;  // the member ended within the allowance
};

class ArchiveReader {
 public:
  ~ArchiveReader();
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;

  static core::Result<std::unique_ptr<ArchiveReader>> Open(
      std::string_view data, ArchiveFamily family = ArchiveFamily::kAny);

  // The next member, or nullopt at the end of the archive.
  core::Result<std::optional<ArchiveMember>> Next();

  // Appends at most `max_bytes` of the current member's data to `out`, reading in chunks;
  // `keep_going` is polled between chunks (return false to stop, e.g. a deadline).
  template <typename KeepGoing>
  core::Result<ReadOutcome> ReadData(std::string& out, uint64_t max_bytes, KeepGoing keep_going);

  // Skips the rest of the current member. Cheap where the format knows the compressed size
  // (zip, 7z, cab, iso, tar), otherwise it decompresses; see cheap_skip().
  core::Status Skip();

  // "ZIP 2.0 (deflation)", "GNU tar format", "RAW" ...; valid after the first Next().
  std::string format_name() const;
  // "gzip", "xz" ...; empty when there is no compression filter around the archive.
  std::string filter_name() const;
  bool raw_stream() const;  // a single compressed stream, no archive format inside
  bool cheap_skip() const;  // Skip() will not decompress the skipped data
  bool encrypted_headers() const { return encrypted_headers_; }

 private:
  struct Handle;
  explicit ArchiveReader(std::unique_ptr<Handle> handle);
  core::Result<uint64_t> ReadChunk(char* buffer, size_t size);

  std::unique_ptr<Handle> handle_;
  bool encrypted_headers_ = false;
  std::string pending_error_;  // an error met while Open() read the first header
};

template <typename KeepGoing>
core::Result<ReadOutcome> ArchiveReader::ReadData(std::string& out, uint64_t max_bytes,
                                                  KeepGoing keep_going) {
  constexpr uint64_t kChunk = 64 * 1024;
  ReadOutcome outcome;
  while (true) {
    if (!keep_going()) return outcome;
    // Read one byte past the allowance so "exactly max_bytes" and "more" differ.
    uint64_t room = max_bytes - outcome.bytes;
    uint64_t want = std::min<uint64_t>(kChunk, room + 1);
    size_t old_size = out.size();
    // Grow geometrically but never past the allowance, so a limit of N bytes costs ~N bytes.
    if (out.capacity() < old_size + want) {
      uint64_t target = std::max<uint64_t>(old_size + want, out.capacity() * 2);
      out.reserve(std::min<uint64_t>(target, old_size - outcome.bytes + max_bytes + 1));
    }
    out.resize(old_size + want);
    auto got = ReadChunk(out.data() + old_size, want);
    if (!got) {
      out.resize(old_size);
      return core::Fail(got.error());
    }
    out.resize(old_size + *got);
    if (*got == 0) {
      outcome.complete = true;
      return outcome;
    }
    if (outcome.bytes + *got > max_bytes) {
      out.resize(old_size + (max_bytes - outcome.bytes));
      outcome.bytes = max_bytes;
      return outcome;
    }
    outcome.bytes += *got;
  }
}

}  // namespace moat::scanners
