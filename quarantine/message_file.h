// message_file.h - the on-disk form of one held message (the only file that includes zlib.h is
// message_file.cc).
//
// Each held message is one gzip file (RFC 1952, a single member) that `gunzip`/`zcat` turn back
// into the message exactly as received, and whose header carries the index metadata, so a file
// whose index row was lost in a crash can be re-indexed from the file alone.
//
// Path: <quarantine_directory>/messages/<x>/<y>/<ID>.eml.gz where <y><x> are the last two hex
// digits of the ID (random, so the 256 leaf directories fill evenly; at ten million entries each
// holds about 40,000 files). A file being written is named .<ID>.tmp in the same directory and
// renamed into place after its fsync; a .tmp file never holds an acknowledged message.
//
// The gzip member, field by field:
//   ID1 ID2   0x1f 0x8b
//   CM        8 (deflate)
//   FLG       FNAME | FCOMMENT | FHCRC (0x1a)
//   MTIME     the quarantine time, Unix seconds, little-endian (`gzip -lv` shows it)
//   XFL OS    as zlib writes them; OS = 3 (Unix)
//   FNAME     "<ID>.eml", NUL-terminated (`gunzip -N` restores that name)
//   FCOMMENT  the metadata sidecar, NUL-terminated: one JSON object in pure ASCII (every non-ASCII
//             character escaped as \uXXXX, so the ISO 8859-1 rule of RFC 1952 holds and no NUL can
//             occur). Keys (entry_json.h, SidecarToJson):
//               format          1 (this layout)
//               id, time_us     the quarantine ID and its time in Unix microseconds
//               size            bytes of the message
//               class, subclass, reason, sender, recipients (array), from, subject, message_id,
//               client_address, policy_bank, score (number or null), trace_json (the trace as a
//               string, byte for byte)
//             Releases and deletions are not here: they happen after the file is written, and
//             live in the index only.
//   FHCRC     CRC-16 of the header: a damaged sidecar is detected, never half-read
//   ...       deflate data of the message bytes
//   CRC32     of the message; ISIZE: its length mod 2^32 (both checked on every read)
//
// Functions are pure (bytes in, bytes out) and thread-safe. Errors: kCorrupt for a file that is not
// such a gzip member or fails a check (bad CRC, truncated, trailing bytes, bad sidecar, larger than
// the bound); kInvalid for an entry that cannot be encoded; kTempFail when zlib is out of memory.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/error.h"
#include "quarantine/quarantine_entry.h"

namespace moat::quarantine {

// "messages/<x>/<y>/<ID>.eml.gz" for a valid ID (callers check IsValidQuarantineId first).
std::string MessageFileRelativePath(std::string_view id);
// "messages/<x>/<y>" for a valid ID.
std::string MessageDirectoryRelativePath(std::string_view id);
inline constexpr std::string_view kMessageFileSuffix = ".eml.gz";
inline constexpr std::string_view kTemporarySuffix = ".tmp";

// How large a file may be for a message of at most `max_message` bytes: deflate grows
// incompressible data a little, and the header carries the metadata and the decision trace.
inline size_t MaxMessageFileBytes(size_t max_message) {
  return max_message + max_message / 64 + (64u << 20);
}

// The gzip file for `message` held as `entry` (history ignored). `level` is zlib's 1..9.
core::Result<std::string> EncodeMessageFile(const QuarantineEntry& entry, std::string_view message,
                                            int level);

struct DecodedMessageFile {
  QuarantineEntry entry;  // from the sidecar: state kHeld, no history, no damage
  std::string message;    // the original bytes, checked against CRC32, ISIZE and the sidecar size
};

// Reads a whole file written by EncodeMessageFile. A message over `max_message_bytes` is kCorrupt
// (no honest file is larger than the filter's size limit; this bounds a tampered one).
core::Result<DecodedMessageFile> DecodeMessageFile(std::string_view file, size_t max_message_bytes);

}  // namespace moat::quarantine
