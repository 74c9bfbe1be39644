// decomposer.h - raw message -> content tree: MIME, archives, attached messages, file types.
//
// Decompose() parses the message (mime_tree.h), then looks at every part with content: detects
// its true type (file_type.h), opens archives and compressed streams (archive_reader.h) and
// encoded attached messages, recursively, under one set of DecodeLimits for the whole message.
// The result (content_tree.h) has one node per part and member with its bytes decoded once,
// the anomalies found, and a limit event for every place a limit stopped the descent.
//
// What opens as a container: zip (and zip-based: jar, docx/xlsx/pptx, odt ...), 7z, rar, tar,
// cpio, iso, cab, lha, xar, ar/deb; gzip, bzip2, xz, lzma, lzip, zstd, lz4 and compress
// streams (around an archive or a single file); message/rfc822 content that gmime left encoded,
// and parts whose bytes are a mail message. Everything else is a leaf.
//
// Limits (decode_limits.h): container nesting (max_depth), archive members in the message,
// unpacked bytes in the message and per member, expansion ratio per container, wall-clock time.
// When the time, total-bytes or member-count budget is spent, no further container is opened
// anywhere in the message; a member over max_member_bytes keeps its prefix; a container over
// its ratio stops. Every such stop is a LimitEvent naming the limit and the path.
//
// Thread safety: a Decomposer owns a libmagic handle and is NOT thread-safe; create one per
// worker thread. Decompose() calls on different Decomposers run in parallel.
// Errors: Decompose() fails only when the process cannot allocate or initialise (kTempFail);
// hostile input never produces an error.
#pragma once

#include <string_view>

#include "core/error.h"
#include "scanners/content_tree.h"
#include "scanners/decode_limits.h"
#include "scanners/file_type.h"

namespace moat::scanners {

class Decomposer {
 public:
  static core::Result<Decomposer> Create(DecodeLimits limits = {});

  core::Result<ContentTree> Decompose(std::string_view raw_message);

  const DecodeLimits& limits() const { return limits_; }

 private:
  Decomposer(FileTypeDetector detector, DecodeLimits limits);
  FileTypeDetector detector_;
  DecodeLimits limits_;
};

}  // namespace moat::scanners
