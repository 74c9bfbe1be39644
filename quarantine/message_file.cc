// message_file.cc - gzip encoding of held messages with zlib; zlib's codes become core::Error here.
#include "quarantine/message_file.h"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "quarantine/entry_json.h"

namespace moat::quarantine {
namespace {

using core::ErrorCode;

constexpr int kGzipWindowBits = 15 + 16;  // deflate window 32 KiB, gzip wrapper
constexpr int kUnixOs = 3;

// zlib streams hold pointers into their own state: one owner, never copied.
class DeflateStream {
 public:
  DeflateStream() = default;
  ~DeflateStream() {
    if (initialized_) deflateEnd(&stream_);
  }
  DeflateStream(const DeflateStream&) = delete;
  DeflateStream& operator=(const DeflateStream&) = delete;
  core::Status Init(int level) {
    int rc = deflateInit2(&stream_, level, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) return ZlibFailure(rc, "deflateInit2");
    initialized_ = true;
    return {};
  }
  z_stream* get() { return &stream_; }
  core::Status ZlibFailure(int rc, std::string_view what) {
    ErrorCode code = rc == Z_MEM_ERROR ? ErrorCode::kTempFail : ErrorCode::kInvalid;
    return core::Fail(code, "zlib {}: {}", what, stream_.msg != nullptr ? stream_.msg : zError(rc));
  }

 private:
  z_stream stream_{};
  bool initialized_ = false;
};

class InflateStream {
 public:
  InflateStream() = default;
  ~InflateStream() {
    if (initialized_) inflateEnd(&stream_);
  }
  InflateStream(const InflateStream&) = delete;
  InflateStream& operator=(const InflateStream&) = delete;
  core::Status Init() {
    int rc = inflateInit2(&stream_, kGzipWindowBits);
    if (rc != Z_OK) {
      return core::Fail(rc == Z_MEM_ERROR ? ErrorCode::kTempFail : ErrorCode::kCorrupt,
                        "zlib inflateInit2: {}", zError(rc));
    }
    initialized_ = true;
    return {};
  }
  z_stream* get() { return &stream_; }
  std::string Message(int rc) const { return stream_.msg != nullptr ? stream_.msg : zError(rc); }

 private:
  z_stream stream_{};
  bool initialized_ = false;
};

// zlib counts in uInt; feed larger buffers in slices.
uInt Slice(size_t n) {
  return static_cast<uInt>(std::min<size_t>(n, std::numeric_limits<uInt>::max()));
}

}  // namespace

std::string MessageDirectoryRelativePath(std::string_view id) {
  return fmt::format("messages/{}/{}", id.substr(id.size() - 1, 1), id.substr(id.size() - 2, 1));
}

std::string MessageFileRelativePath(std::string_view id) {
  return fmt::format("{}/{}{}", MessageDirectoryRelativePath(id), id, kMessageFileSuffix);
}

core::Result<std::string> EncodeMessageFile(const QuarantineEntry& entry, std::string_view message,
                                            int level) {
  if (!IsValidQuarantineId(entry.id)) {
    return core::Fail(ErrorCode::kInvalid, "not a quarantine ID: '{}'", entry.id);
  }
  std::string comment = SidecarToJson(entry).dump(-1, ' ', /*ensure_ascii=*/true,
                                                  nlohmann::json::error_handler_t::replace);
  std::string name = entry.id + ".eml";

  DeflateStream deflater;
  if (auto s = deflater.Init(std::clamp(level, 1, 9)); !s) return core::Fail(s.error());
  gz_header header{};
  header.text = 0;
  header.time = static_cast<uLong>(std::max<int64_t>(0, ToUnixMicros(entry.time) / 1'000'000));
  header.os = kUnixOs;
  header.name = reinterpret_cast<Bytef*>(name.data());
  header.comment = reinterpret_cast<Bytef*>(comment.data());
  header.hcrc = 1;
  z_stream* z = deflater.get();
  if (int rc = deflateSetHeader(z, &header); rc != Z_OK) {
    return core::Fail(deflater.ZlibFailure(rc, "deflateSetHeader").error());
  }

  std::string out;
  out.resize(deflateBound(z, message.size()) + name.size() + comment.size() + 64);
  size_t produced = 0;
  std::string_view input = message;
  for (;;) {
    uInt in_slice = Slice(input.size());
    z->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
    z->avail_in = in_slice;
    if (produced == out.size()) out.resize(out.size() * 2);
    z->next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    z->avail_out = Slice(out.size() - produced);
    uInt out_before = z->avail_out;
    int flush = in_slice == input.size() ? Z_FINISH : Z_NO_FLUSH;
    int rc = deflate(z, flush);
    produced += out_before - z->avail_out;
    input.remove_prefix(in_slice - z->avail_in);
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return core::Fail(deflater.ZlibFailure(rc, "deflate").error());
    }
  }
  out.resize(produced);
  return out;
}

core::Result<DecodedMessageFile> DecodeMessageFile(std::string_view file,
                                                   size_t max_message_bytes) {
  auto corrupt = [](std::string_view what) {
    return core::Fail(ErrorCode::kCorrupt, "quarantine file: {}", what);
  };
  if (file.size() < 18 || static_cast<unsigned char>(file[0]) != 0x1f ||
      static_cast<unsigned char>(file[1]) != 0x8b) {
    return corrupt("not a gzip file");
  }
  InflateStream inflater;
  if (auto s = inflater.Init(); !s) return core::Fail(s.error());
  z_stream* z = inflater.get();

  // The comment cannot be longer than the file that holds it.
  std::vector<Bytef> comment(file.size() + 1);
  std::vector<Bytef> name(256);
  gz_header header{};
  header.comment = comment.data();
  header.comm_max = Slice(comment.size());
  header.name = name.data();
  header.name_max = Slice(name.size());
  if (int rc = inflateGetHeader(z, &header); rc != Z_OK) {
    return core::Fail(ErrorCode::kCorrupt, "zlib inflateGetHeader: {}", inflater.Message(rc));
  }

  DecodedMessageFile decoded;
  std::string& message = decoded.message;
  std::string_view input = file;
  char buffer[65536];
  bool ended = false;
  while (!ended) {
    uInt in_slice = Slice(input.size());
    z->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
    z->avail_in = in_slice;
    z->next_out = reinterpret_cast<Bytef*>(buffer);
    z->avail_out = sizeof buffer;
    int rc = ::inflate(z, Z_NO_FLUSH);
    input.remove_prefix(in_slice - z->avail_in);
    size_t got = sizeof buffer - z->avail_out;
    if (message.size() + got > max_message_bytes) {
      return corrupt(fmt::format("message larger than {} bytes", max_message_bytes));
    }
    message.append(buffer, got);
    switch (rc) {
      case Z_STREAM_END:
        ended = true;
        break;
      case Z_OK:
        break;
      case Z_BUF_ERROR:
        // No progress possible: the input ran out before the end of the stream.
        if (input.empty() && got == 0) return corrupt("truncated");
        break;
      case Z_MEM_ERROR:
        return core::Fail(ErrorCode::kTempFail, "zlib inflate: out of memory");
      default:  // Z_DATA_ERROR (bad CRC, bad header CRC, bad deflate data), Z_NEED_DICT
        return corrupt(inflater.Message(rc));
    }
  }
  if (!input.empty()) return corrupt("trailing bytes after the gzip member");
  if (header.done != 1 || header.comment == Z_NULL) {  // zlib sets comment to Z_NULL if absent
    return corrupt("no metadata in the gzip header");
  }
  const char* comment_text = reinterpret_cast<const char*>(comment.data());
  nlohmann::json sidecar = nlohmann::json::parse(comment_text, nullptr, false);
  if (sidecar.is_discarded()) return corrupt("metadata is not JSON");
  auto entry = SidecarFromJson(sidecar);
  if (!entry) return core::Fail(entry.error());
  if (entry->size != message.size()) {
    return corrupt(
        fmt::format("message is {} bytes, metadata says {}", message.size(), entry->size));
  }
  decoded.entry = std::move(*entry);
  return decoded;
}

}  // namespace moat::quarantine
