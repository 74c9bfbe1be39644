// dns_resolver.cc - c-ares driven by Asio. The only file that includes ares.h.
#include "core/dns_resolver.h"

#include <ares.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <utility>

#include <asio/async_result.hpp>
#include <asio/dispatch.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/ip/address_v4.hpp>
#include <asio/ip/address_v6.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

namespace moat::core {
namespace {

constexpr int kClassIn = 1;
constexpr int kTypeA = 1;
constexpr int kTypePtr = 12;
constexpr int kTypeMx = 15;
constexpr int kTypeTxt = 16;
constexpr int kTypeAaaa = 28;
constexpr int kEdnsPayloadSize = 1232;  // the DNS flag day 2020 value: no IP fragmentation

struct RawReply {
  int status = ARES_SUCCESS;
  std::vector<unsigned char> answer;
};

using RawHandler = std::move_only_function<void(RawReply)>;

void InitCaresOnce() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

// Names must be well-formed before they reach c-ares: a NUL or an overlong label in a name taken
// from a DKIM-Signature (d=, s=) is the sender's problem, not a reason to ask a server.
Status ValidateName(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return Fail(ErrorCode::kPermFail, "empty DNS name");
  if (name.size() > 253) return Fail(ErrorCode::kPermFail, "DNS name longer than 253 characters");
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return Fail(ErrorCode::kPermFail, "empty label in DNS name '{}'", name);
      label = 0;
      continue;
    }
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '\\') {
      return Fail(ErrorCode::kPermFail, "invalid character in DNS name '{}'", name);
    }
    if (++label > 63) return Fail(ErrorCode::kPermFail, "DNS label over 63 octets in '{}'", name);
  }
  return {};
}

std::string_view TypeName(int type) {
  switch (type) {
    case kTypeA: return "A";
    case kTypeAaaa: return "AAAA";
    case kTypeMx: return "MX";
    case kTypeTxt: return "TXT";
    case kTypePtr: return "PTR";
  }
  return "?";
}

// Reads an answer section with c-ares' name decompression; everything else is bounds-checked
// here because the packet comes from the network.
class AnswerReader {
 public:
  explicit AnswerReader(const std::vector<unsigned char>& packet) : packet_(packet) {}

  bool U16(size_t at, uint16_t* out) const {
    if (at + 2 > packet_.size()) return false;
    *out = static_cast<uint16_t>(packet_[at] << 8 | packet_[at + 1]);
    return true;
  }
  bool U32(size_t at, uint32_t* out) const {
    if (at + 4 > packet_.size()) return false;
    *out = static_cast<uint32_t>(packet_[at]) << 24 | static_cast<uint32_t>(packet_[at + 1]) << 16 |
           static_cast<uint32_t>(packet_[at + 2]) << 8 | packet_[at + 3];
    return true;
  }
  // Expands the (possibly compressed) name at `at`; *length is its encoded size.
  bool Name(size_t at, std::string* out, size_t* length) const {
    if (at >= packet_.size()) return false;
    char* name = nullptr;
    long encoded = 0;
    if (ares_expand_name(packet_.data() + at, packet_.data(), static_cast<int>(packet_.size()),
                         &name, &encoded) != ARES_SUCCESS) {
      return false;
    }
    *out = name;
    ares_free_string(name);
    *length = static_cast<size_t>(encoded);
    return true;
  }
  const unsigned char* data() const { return packet_.data(); }
  size_t size() const { return packet_.size(); }

 private:
  const std::vector<unsigned char>& packet_;
};

struct RawRecord {
  uint32_t ttl = 0;
  size_t rdata = 0;  // offset into the packet
  size_t rdlength = 0;
};

// The answer-section records of type `type` (a CNAME chain before them is skipped).
Result<std::vector<RawRecord>> ExtractRecords(const AnswerReader& reader, int type) {
  auto broken = [] { return Fail(ErrorCode::kTempFail, "malformed DNS answer"); };
  uint16_t qdcount = 0, ancount = 0;
  if (!reader.U16(4, &qdcount) || !reader.U16(6, &ancount)) return broken();
  size_t at = 12;
  std::string name;
  size_t length = 0;
  for (uint16_t i = 0; i < qdcount; ++i) {
    if (!reader.Name(at, &name, &length)) return broken();
    at += length + 4;
  }
  std::vector<RawRecord> records;
  for (uint16_t i = 0; i < ancount; ++i) {
    uint16_t rr_type = 0, rr_class = 0, rdlength = 0;
    uint32_t ttl = 0;
    if (!reader.Name(at, &name, &length)) return broken();
    at += length;
    if (!reader.U16(at, &rr_type) || !reader.U16(at + 2, &rr_class) || !reader.U32(at + 4, &ttl) ||
        !reader.U16(at + 8, &rdlength)) {
      return broken();
    }
    at += 10;
    if (at + rdlength > reader.size()) return broken();
    if (rr_type == type && rr_class == kClassIn) {
      records.push_back({ttl > 0x7fffffffu ? 0 : ttl, at, rdlength});  // RFC 2181 8: MSB set = 0
    }
    at += rdlength;
  }
  return records;
}

Result<TxtRecord> DecodeTxt(const AnswerReader& reader, const RawRecord& raw) {
  TxtRecord txt{{}, raw.ttl};
  size_t at = raw.rdata;
  const size_t end = raw.rdata + raw.rdlength;
  while (at < end) {
    size_t n = reader.data()[at++];
    if (at + n > end) return Fail(ErrorCode::kTempFail, "malformed TXT record");
    txt.strings.emplace_back(reinterpret_cast<const char*>(reader.data()) + at, n);
    at += n;
  }
  return txt;
}

Result<AddressRecord> DecodeAddress(const AnswerReader& reader, const RawRecord& raw, int type) {
  if (type == kTypeA) {
    if (raw.rdlength != 4) return Fail(ErrorCode::kTempFail, "malformed A record");
    asio::ip::address_v4::bytes_type bytes;
    std::copy_n(reader.data() + raw.rdata, 4, bytes.begin());
    return AddressRecord{asio::ip::address_v4(bytes), raw.ttl};
  }
  if (raw.rdlength != 16) return Fail(ErrorCode::kTempFail, "malformed AAAA record");
  asio::ip::address_v6::bytes_type bytes;
  std::copy_n(reader.data() + raw.rdata, 16, bytes.begin());
  return AddressRecord{asio::ip::address_v6(bytes), raw.ttl};
}

Result<MxRecord> DecodeMx(const AnswerReader& reader, const RawRecord& raw) {
  MxRecord mx;
  size_t length = 0;
  if (raw.rdlength < 3 || !reader.U16(raw.rdata, &mx.preference) ||
      !reader.Name(raw.rdata + 2, &mx.exchange, &length)) {
    return Fail(ErrorCode::kTempFail, "malformed MX record");
  }
  mx.ttl = raw.ttl;
  return mx;
}

Result<PtrRecord> DecodePtr(const AnswerReader& reader, const RawRecord& raw) {
  PtrRecord ptr;
  size_t length = 0;
  if (!reader.Name(raw.rdata, &ptr.name, &length)) {
    return Fail(ErrorCode::kTempFail, "malformed PTR record");
  }
  ptr.ttl = raw.ttl;
  return ptr;
}

// c-ares status -> outcome or error, keeping temporary apart from permanent.
std::optional<Error> StatusError(int status, std::string_view name, int type) {
  auto error = [&](ErrorCode code, std::string_view what) {
    return Error(code, fmt::format("DNS {} {}: {}", TypeName(type), name, what));
  };
  switch (status) {
    case ARES_SUCCESS:
    case ARES_ENODATA:
    case ARES_ENOTFOUND:
      return std::nullopt;
    case ARES_ETIMEOUT: return error(ErrorCode::kTempFail, "timeout");
    case ARES_ESERVFAIL: return error(ErrorCode::kTempFail, "SERVFAIL");
    case ARES_EREFUSED: return error(ErrorCode::kTempFail, "REFUSED");
    // c-ares 1.18 moves on to the next server after a SERVFAIL or REFUSED answer and, when
    // none is left, reports ECONNREFUSED for all three causes alike.
    case ARES_ECONNREFUSED:
      return error(ErrorCode::kTempFail, "no server answered (SERVFAIL or REFUSED, or unreachable)");
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED: return error(ErrorCode::kTempFail, "resolver shut down");
    case ARES_ENOMEM: return error(ErrorCode::kTempFail, "out of memory");
    case ARES_EBADRESP: return error(ErrorCode::kTempFail, "malformed answer");
    case ARES_EFORMERR: return error(ErrorCode::kPermFail, "FORMERR");
    case ARES_ENOTIMP: return error(ErrorCode::kPermFail, "NOTIMP");
    case ARES_EBADNAME: return error(ErrorCode::kPermFail, "malformed name");
    default: return error(ErrorCode::kTempFail, ares_strerror(status));
  }
}

template <typename Record, typename Decode>
Result<DnsAnswer<Record>> BuildAnswer(const RawReply& reply, std::string_view name, int type,
                                      Decode decode) {
  if (auto error = StatusError(reply.status, name, type)) return Fail(std::move(*error));
  DnsAnswer<Record> answer;
  if (reply.status == ARES_ENOTFOUND) {
    answer.outcome = DnsOutcome::kNxDomain;
    return answer;
  }
  if (reply.status == ARES_ENODATA) return answer;
  AnswerReader reader(reply.answer);
  auto raw = ExtractRecords(reader, type);
  if (!raw) return Fail(raw.error().WithContext(fmt::format("DNS {} {}", TypeName(type), name)));
  for (const RawRecord& record : *raw) {
    auto decoded = decode(reader, record);
    if (!decoded) {
      return Fail(decoded.error().WithContext(fmt::format("DNS {} {}", TypeName(type), name)));
    }
    answer.records.push_back(std::move(*decoded));
  }
  answer.outcome = answer.records.empty() ? DnsOutcome::kNoData : DnsOutcome::kFound;
  return answer;
}

}  // namespace

std::string_view DnsOutcomeName(DnsOutcome outcome) {
  switch (outcome) {
    case DnsOutcome::kFound: return "found";
    case DnsOutcome::kNxDomain: return "NXDOMAIN";
    case DnsOutcome::kNoData: return "NODATA";
  }
  return "?";
}

std::string TxtRecord::Joined() const {
  std::string joined;
  for (const auto& s : strings) joined += s;
  return joined;
}

Result<std::vector<std::string>> ParseDnsServers(std::string_view value) {
  std::vector<std::string> servers;
  size_t at = 0;
  while (at < value.size()) {
    size_t end = value.find_first_of(", \t\r\n", at);
    if (end == std::string_view::npos) end = value.size();
    std::string_view entry = value.substr(at, end - at);
    at = end + 1;
    if (entry.empty()) continue;
    std::string_view host = entry;
    std::string_view port = "53";
    if (entry.front() == '[') {
      size_t close = entry.find(']');
      if (close == std::string_view::npos) {
        return Fail(ErrorCode::kInvalid, "dns_servers: unbalanced '[' in '{}'", entry);
      }
      host = entry.substr(1, close - 1);
      std::string_view rest = entry.substr(close + 1);
      if (!rest.empty()) {
        if (rest.front() != ':') return Fail(ErrorCode::kInvalid, "dns_servers: bad '{}'", entry);
        port = rest.substr(1);
      }
    } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
      size_t colon = entry.find(':');
      host = entry.substr(0, colon);
      port = entry.substr(colon + 1);
    }
    std::error_code ec;
    auto address = asio::ip::make_address(std::string(host), ec);
    if (ec) {
      return Fail(ErrorCode::kInvalid, "dns_servers: '{}' is not an IP address", host);
    }
    unsigned long port_number = 0;
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        (port_number = std::stoul(std::string(port))) == 0 || port_number > 65535) {
      return Fail(ErrorCode::kInvalid, "dns_servers: bad port '{}' in '{}'", port, entry);
    }
    servers.push_back(address.is_v6() ? fmt::format("[{}]:{}", address.to_string(), port_number)
                                      : fmt::format("{}:{}", address.to_string(), port_number));
  }
  return servers;
}

std::string ReverseLookupName(const asio::ip::address& address) {
  std::string name;
  if (address.is_v4()) {
    auto bytes = address.to_v4().to_bytes();
    for (int i = 3; i >= 0; --i) name += fmt::format("{}.", bytes[i]);
    return name + "in-addr.arpa";
  }
  auto bytes = address.to_v6().to_bytes();
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    name += kHex[bytes[i] & 0xf];
    name += '.';
    name += kHex[bytes[i] >> 4];
    name += '.';
  }
  return name + "ip6.arpa";
}

class DnsResolver::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::any_io_executor executor, DnsResolverOptions options)
      : executor_(std::move(executor)), options_(std::move(options)), ares_timer_(executor_) {}

  ~Impl() { Shutdown(); }

  // Completes every pending query (ARES_EDESTRUCTION) and lets go of c-ares' sockets. Pending
  // awaitables may keep this object alive a little longer; they find it shut down.
  void Shutdown() {
    if (channel_ != nullptr) ares_destroy(channel_);
    channel_ = nullptr;
    for (auto& [fd, watch] : sockets_) Forget(*watch);
    sockets_.clear();
    ares_timer_.cancel();
  }

  Status Init() {
    InitCaresOnce();
    ares_options opts{};
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB |
               ARES_OPT_EDNSPSZ;
    opts.flags = ARES_FLAG_EDNS;
    opts.timeout = static_cast<int>(options_.attempt_timeout.count());
    opts.tries = std::max(1, options_.attempts);
    opts.sock_state_cb = &Impl::OnSocketState;
    opts.sock_state_cb_data = this;
    opts.ednspsz = kEdnsPayloadSize;
    int rc = ares_init_options(&channel_, &opts, mask);
    if (rc != ARES_SUCCESS) {
      channel_ = nullptr;
      return Fail(ErrorCode::kIo, "c-ares init: {}", ares_strerror(rc));
    }
    if (!options_.servers.empty()) {
      std::string csv;
      for (const auto& server : options_.servers) {
        auto parsed = ParseDnsServers(server);
        if (!parsed) return Fail(parsed.error());
        for (const auto& s : *parsed) csv += (csv.empty() ? "" : ",") + s;
      }
      rc = ares_set_servers_ports_csv(channel_, csv.c_str());
      if (rc != ARES_SUCCESS) {
        return Fail(ErrorCode::kInvalid, "dns_servers '{}': {}", csv, ares_strerror(rc));
      }
    }
    return {};
  }

  // Runs on executor_. `handler` is called exactly once.
  void StartQuery(std::string name, int type, std::chrono::milliseconds timeout,
                  RawHandler handler) {
    if (channel_ == nullptr) {
      handler(RawReply{ARES_EDESTRUCTION, {}});
      return;
    }
    if (auto valid = ValidateName(name); !valid) {
      handler(RawReply{ARES_EBADNAME, {}});
      return;
    }
    auto pending = std::make_shared<Pending>(std::move(handler), executor_);
    pending->deadline.expires_after(timeout);
    pending->deadline.async_wait([weak = std::weak_ptr<Pending>(pending)](std::error_code ec) {
      auto p = weak.lock();
      if (ec || !p || p->done) return;
      p->Complete(RawReply{ARES_ETIMEOUT, {}});
    });
    ares_query(channel_, name.c_str(), kClassIn, type, &Impl::OnQueryDone,
               new std::shared_ptr<Pending>(std::move(pending)));
    RearmTimer();
  }

  const asio::any_io_executor& executor() const { return executor_; }

 private:
  struct Pending {
    Pending(RawHandler h, const asio::any_io_executor& executor)
        : handler(std::move(h)), deadline(executor) {}
    void Complete(RawReply reply) {
      done = true;
      deadline.cancel();
      handler(std::move(reply));
    }
    RawHandler handler;
    asio::steady_timer deadline;
    bool done = false;
  };

  struct SocketWatch {
    SocketWatch(const asio::any_io_executor& executor, ares_socket_t socket)
        : fd(socket), descriptor(executor) {}
    ares_socket_t fd;
    asio::posix::stream_descriptor descriptor;
    bool want_read = false;
    bool want_write = false;
    bool reading = false;
    bool writing = false;
    bool closed = false;
  };

  static void OnQueryDone(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    std::unique_ptr<std::shared_ptr<Pending>> holder(static_cast<std::shared_ptr<Pending>*>(arg));
    Pending& pending = **holder;
    if (pending.done) return;  // the deadline answered already
    RawReply reply{status, {}};
    if (abuf != nullptr && alen > 0) reply.answer.assign(abuf, abuf + alen);
    pending.Complete(std::move(reply));
  }

  // c-ares tells us which sockets it wants watched; (0, 0) means it is about to close one.
  static void OnSocketState(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<Impl*>(data);
    auto it = self->sockets_.find(fd);
    if (!readable && !writable) {
      if (it == self->sockets_.end()) return;
      self->Forget(*it->second);
      self->sockets_.erase(it);
      return;
    }
    if (it == self->sockets_.end()) {
      auto watch = std::make_shared<SocketWatch>(self->executor_, fd);
      std::error_code ec;
      watch->descriptor.assign(fd, ec);
      if (ec) return;  // c-ares' own timeout ends the query
      it = self->sockets_.emplace(fd, std::move(watch)).first;
    }
    auto watch = it->second;
    watch->want_read = readable != 0;
    watch->want_write = writable != 0;
    if (watch->want_read && !watch->reading) self->ArmRead(watch);
    if (watch->want_write && !watch->writing) self->ArmWrite(watch);
  }

  // c-ares owns and closes the fd: cancel our waits and let go of it without closing.
  static void Forget(SocketWatch& watch) {
    watch.closed = true;
    std::error_code ec;
    watch.descriptor.cancel(ec);
    watch.descriptor.release();
  }

  void ArmRead(const std::shared_ptr<SocketWatch>& watch) {
    watch->reading = true;
    watch->descriptor.async_wait(
        asio::posix::stream_descriptor::wait_read,
        [weak = weak_from_this(), watch](std::error_code ec) {
          watch->reading = false;
          auto self = weak.lock();
          if (ec || watch->closed || !self) return;
          self->Process(watch->fd, ARES_SOCKET_BAD);
          if (!watch->closed && watch->want_read && !watch->reading) self->ArmRead(watch);
        });
  }

  void ArmWrite(const std::shared_ptr<SocketWatch>& watch) {
    watch->writing = true;
    watch->descriptor.async_wait(
        asio::posix::stream_descriptor::wait_write,
        [weak = weak_from_this(), watch](std::error_code ec) {
          watch->writing = false;
          auto self = weak.lock();
          if (ec || watch->closed || !self) return;
          self->Process(ARES_SOCKET_BAD, watch->fd);
          if (!watch->closed && watch->want_write && !watch->writing) self->ArmWrite(watch);
        });
  }

  void Process(ares_socket_t read_fd, ares_socket_t write_fd) {
    if (channel_ == nullptr) return;
    ares_process_fd(channel_, read_fd, write_fd);
    RearmTimer();
  }

  // One timer for all of c-ares' retransmissions and timeouts, set to its next deadline.
  void RearmTimer() {
    if (channel_ == nullptr) return;
    timeval tv{};
    if (ares_timeout(channel_, nullptr, &tv) == nullptr) {
      ares_timer_.cancel();
      return;
    }
    ares_timer_.expires_after(std::chrono::seconds(tv.tv_sec) +
                              std::chrono::microseconds(tv.tv_usec));
    ares_timer_.async_wait([weak = weak_from_this()](std::error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      self->Process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    });
  }

  asio::any_io_executor executor_;
  DnsResolverOptions options_;
  ares_channel channel_ = nullptr;
  std::unordered_map<ares_socket_t, std::shared_ptr<SocketWatch>> sockets_;
  asio::steady_timer ares_timer_;

  friend class DnsResolver;
};

namespace {

// Starts a raw query on the resolver's executor and completes on the caller's executor.
template <typename Token>
auto AsyncQuery(std::shared_ptr<DnsResolver::Impl> impl, std::string name, int type,
                std::chrono::milliseconds timeout, Token&& token) {
  return asio::async_initiate<Token, void(RawReply)>(
      [impl](auto handler, std::string name, int type, std::chrono::milliseconds timeout) {
        auto work = asio::make_work_guard(asio::get_associated_executor(handler, impl->executor()));
        RawHandler complete = [handler = std::move(handler),
                               work = std::move(work)](RawReply reply) mutable {
          auto executor = work.get_executor();
          asio::post(executor, [handler = std::move(handler), reply = std::move(reply)]() mutable {
            std::move(handler)(std::move(reply));
          });
          work.reset();
        };
        asio::dispatch(impl->executor(), [impl, name = std::move(name), type, timeout,
                                          complete = std::move(complete)]() mutable {
          impl->StartQuery(std::move(name), type, timeout, std::move(complete));
        });
      },
      token, std::move(name), type, timeout);
}

}  // namespace

Result<std::unique_ptr<DnsResolver>> DnsResolver::Create(asio::any_io_executor executor,
                                                         const DnsResolverOptions& options) {
  for (const auto& server : options.servers) {
    if (auto parsed = ParseDnsServers(server); !parsed) return Fail(parsed.error());
  }
  auto impl = std::make_shared<Impl>(std::move(executor), options);
  if (auto status = impl->Init(); !status) return Fail(status.error());
  return std::unique_ptr<DnsResolver>(new DnsResolver(std::move(impl)));
}

DnsResolver::DnsResolver(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
DnsResolver::~DnsResolver() { impl_->Shutdown(); }

const asio::any_io_executor& DnsResolver::executor() const { return impl_->executor(); }

asio::awaitable<Result<DnsAnswer<TxtRecord>>> DnsResolver::LookupTxt(std::string name,
                                                                     Timeout timeout) {
  RawReply reply = co_await AsyncQuery(impl_, name, kTypeTxt,
                                       timeout.value_or(impl_->options_.query_timeout),
                                       asio::use_awaitable);
  co_return BuildAnswer<TxtRecord>(reply, name, kTypeTxt, DecodeTxt);
}

asio::awaitable<Result<DnsAnswer<AddressRecord>>> DnsResolver::LookupA(std::string name,
                                                                       Timeout timeout) {
  RawReply reply = co_await AsyncQuery(impl_, name, kTypeA,
                                       timeout.value_or(impl_->options_.query_timeout),
                                       asio::use_awaitable);
  co_return BuildAnswer<AddressRecord>(reply, name, kTypeA, [](const auto& r, const auto& raw) {
    return DecodeAddress(r, raw, kTypeA);
  });
}

asio::awaitable<Result<DnsAnswer<AddressRecord>>> DnsResolver::LookupAaaa(std::string name,
                                                                          Timeout timeout) {
  RawReply reply = co_await AsyncQuery(impl_, name, kTypeAaaa,
                                       timeout.value_or(impl_->options_.query_timeout),
                                       asio::use_awaitable);
  co_return BuildAnswer<AddressRecord>(reply, name, kTypeAaaa, [](const auto& r, const auto& raw) {
    return DecodeAddress(r, raw, kTypeAaaa);
  });
}

asio::awaitable<Result<DnsAnswer<MxRecord>>> DnsResolver::LookupMx(std::string name,
                                                                   Timeout timeout) {
  RawReply reply = co_await AsyncQuery(impl_, name, kTypeMx,
                                       timeout.value_or(impl_->options_.query_timeout),
                                       asio::use_awaitable);
  auto answer = BuildAnswer<MxRecord>(reply, name, kTypeMx, DecodeMx);
  if (answer) {
    std::stable_sort(answer->records.begin(), answer->records.end(),
                     [](const MxRecord& a, const MxRecord& b) { return a.preference < b.preference; });
  }
  co_return answer;
}

asio::awaitable<Result<DnsAnswer<PtrRecord>>> DnsResolver::LookupPtr(asio::ip::address address,
                                                                     Timeout timeout) {
  std::string name = ReverseLookupName(address);
  RawReply reply = co_await AsyncQuery(impl_, name, kTypePtr,
                                       timeout.value_or(impl_->options_.query_timeout),
                                       asio::use_awaitable);
  co_return BuildAnswer<PtrRecord>(reply, name, kTypePtr, DecodePtr);
}

}  // namespace moat::core
