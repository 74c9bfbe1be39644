// clamav_engine.cc - libclamav behind ClamavEngine and DatabaseWatch.
#include "scanners/clamav_engine.h"

#include <clamav.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <tuple>

namespace moat::scanners {
namespace {

void LogClamavMessage(enum cl_msg severity, const char* /*fullmsg*/, const char* msg,
                      void* /*context*/) {
  std::string text = msg != nullptr ? msg : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  switch (severity) {
    case CL_MSG_ERROR:
      spdlog::error("libclamav: {}", text);
      break;
    case CL_MSG_WARN:
      spdlog::warn("libclamav: {}", text);
      break;
    default:
      spdlog::debug("libclamav: {}", text);
      break;
  }
}

// cl_init() and the message callback are process-wide and must run once, before any thread
// uses libclamav.
core::Status InitClamav() {
  static std::once_flag once;
  static cl_error_t status = CL_SUCCESS;
  std::call_once(once, [] {
    cl_set_clcb_msg(LogClamavMessage);
    status = cl_init(CL_INIT_DEFAULT);
  });
  if (status != CL_SUCCESS) {
    return core::Fail(core::ErrorCode::kTempFail, "cl_init: {}", cl_strerror(status));
  }
  return {};
}

core::ErrorCode LoadErrorCode(cl_error_t status) {
  switch (status) {
    case CL_EOPEN:
    case CL_EACCES:
    case CL_ESTAT:
    case CL_EREAD:
      return core::ErrorCode::kIo;
    case CL_EMALFDB:
    case CL_ECVD:
    case CL_EVERIFY:
    case CL_EFORMAT:
      return core::ErrorCode::kCorrupt;
    default:
      return core::ErrorCode::kTempFail;
  }
}

bool IsDatabaseFile(const std::string& name) {
  static constexpr std::string_view kExtensions[] = {
      ".cvd", ".cld", ".cud", ".hdb",  ".hsb", ".hdu", ".hsu",  ".mdb", ".msb",  ".mdu",  ".msu",
      ".ndb", ".ndu", ".ldb", ".ldu",  ".idb", ".cdb", ".cbc",  ".pdb", ".gdb",  ".wdb",  ".ftm",
      ".fp",  ".sfp", ".ign", ".ign2", ".cfg", ".crb", ".info", ".yar", ".yara", ".pwdb", ".imp"};
  for (std::string_view ext : kExtensions) {
    if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0) {
      return true;
    }
  }
  return false;
}

// The per-scan context handed to cl_scanmap_callback(). libclamav 1.4 does not always return
// the name of a heuristic alert (Heuristics.Limits.Exceeded.*) through `virname`; the
// virus-found callback always sees it.
struct ScanContext {
  std::string first_name;
};

void OnVirusFound(int /*fd*/, const char* name, void* context) {
  auto* scan = static_cast<ScanContext*>(context);
  if (scan != nullptr && scan->first_name.empty() && name != nullptr) scan->first_name = name;
}

void SetNum(struct cl_engine* engine, enum cl_engine_field field, long long value) {
  cl_error_t status = cl_engine_set_num(engine, field, value);
  if (status != CL_SUCCESS) {
    spdlog::warn("libclamav: cannot set engine field {}: {}", static_cast<int>(field),
                 cl_strerror(status));
  }
}

}  // namespace

struct ClamavEngine::Handle {
  struct cl_engine* engine = nullptr;
  ~Handle() {
    if (engine != nullptr) cl_engine_free(engine);
  }
};

ClamavEngine::ClamavEngine(std::unique_ptr<Handle> handle, ClamavDatabaseInfo info,
                           ClamavOptions options)
    : handle_(std::move(handle)), info_(std::move(info)), options_(std::move(options)) {}

ClamavEngine::~ClamavEngine() = default;

std::string ClamavEngine::LibraryVersion() { return cl_retver(); }

core::Result<std::shared_ptr<const ClamavEngine>> ClamavEngine::Load(const ClamavOptions& options) {
  if (auto status = InitClamav(); !status) return core::Fail(status.error());
  ClamavDatabaseInfo info;
  info.directory = options.database_directory;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(options.database_directory, ec)) {
    std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && IsDatabaseFile(name)) info.files.push_back(name);
  }
  if (ec) {
    return core::Fail(core::ErrorCode::kIo, "ClamAV database directory {}: {}",
                      options.database_directory, ec.message());
  }
  std::sort(info.files.begin(), info.files.end());

  auto handle = std::make_unique<Handle>();
  handle->engine = cl_engine_new();
  if (handle->engine == nullptr) {
    return core::Fail(core::ErrorCode::kTempFail, "cl_engine_new: out of memory");
  }
  struct cl_engine* engine = handle->engine;
  std::string temp = options.temp_directory;
  if (temp.empty()) {
    const char* env = std::getenv("TMPDIR");
    temp = env != nullptr && *env != '\0' ? env : "/tmp";
  }
  cl_engine_set_str(engine, CL_ENGINE_TMPDIR, temp.c_str());
  SetNum(engine, CL_ENGINE_MAX_SCANSIZE, static_cast<long long>(options.max_scan_bytes));
  SetNum(engine, CL_ENGINE_MAX_FILESIZE, static_cast<long long>(options.max_file_bytes));
  SetNum(engine, CL_ENGINE_MAX_RECURSION, options.max_recursion);
  SetNum(engine, CL_ENGINE_MAX_FILES, options.max_files);
  SetNum(engine, CL_ENGINE_MAX_SCANTIME, options.max_scan_time_ms);
  if (!options.cache) SetNum(engine, CL_ENGINE_DISABLE_CACHE, 1);

  unsigned int signatures = 0;
  cl_error_t status =
      cl_load(options.database_directory.c_str(), engine, &signatures, CL_DB_STDOPT);
  if (status != CL_SUCCESS) {
    return core::Fail(LoadErrorCode(status), "loading ClamAV database {}: {}",
                      options.database_directory, cl_strerror(status));
  }
  if (signatures == 0) {
    return core::Fail(core::ErrorCode::kInvalid, "ClamAV database {} holds no signatures",
                      options.database_directory);
  }
  cl_engine_set_clcb_virus_found(engine, OnVirusFound);
  status = cl_engine_compile(engine);
  if (status != CL_SUCCESS) {
    return core::Fail(LoadErrorCode(status), "compiling ClamAV engine: {}", cl_strerror(status));
  }
  info.signature_count = signatures;
  int err = 0;
  info.version = static_cast<uint32_t>(cl_engine_get_num(engine, CL_ENGINE_DB_VERSION, &err));
  if (err != CL_SUCCESS) info.version = 0;
  info.built = static_cast<std::time_t>(cl_engine_get_num(engine, CL_ENGINE_DB_TIME, &err));
  if (err != CL_SUCCESS) info.built = 0;
  return std::shared_ptr<const ClamavEngine>(
      new ClamavEngine(std::move(handle), std::move(info), options));
}

core::Result<ClamavScanOutcome> ClamavEngine::Scan(std::string_view bytes, std::string_view name,
                                                   ClamavScanMode mode) const {
  ClamavScanOutcome outcome;
  if (bytes.empty()) return outcome;
  struct cl_scan_options scan_options;
  std::memset(&scan_options, 0, sizeof(scan_options));
  scan_options.general = CL_SCAN_GENERAL_HEURISTICS;
  scan_options.heuristic = CL_SCAN_HEURISTIC_EXCEEDS_MAX;
  if (mode != ClamavScanMode::kRawMessage) {
    scan_options.parse = ~0u;
    if (!options_.archive_parsing)
      scan_options.parse &= ~static_cast<uint32_t>(CL_SCAN_PARSE_ARCHIVE);
  }
  cl_fmap_t* map = cl_fmap_open_memory(bytes.data(), bytes.size());
  if (map == nullptr) return core::Fail(core::ErrorCode::kTempFail, "cl_fmap_open_memory failed");
  std::string filename(name);
  const char* virus = nullptr;
  unsigned long scanned = 0;
  ScanContext context;
  cl_error_t status =
      cl_scanmap_callback(map, filename.empty() ? nullptr : filename.c_str(), &virus, &scanned,
                          handle_->engine, &scan_options, &context);
  cl_fmap_close(map);
  switch (status) {
    case CL_CLEAN:
      return outcome;
    case CL_VIRUS: {
      outcome.signature = virus != nullptr              ? std::string(virus)
                          : !context.first_name.empty() ? context.first_name
                                                        : "unknown";
      bool limit = outcome.signature.rfind("Heuristics.Limits.Exceeded", 0) == 0;
      outcome.kind =
          limit ? ClamavScanOutcome::Kind::kLimitExceeded : ClamavScanOutcome::Kind::kInfected;
      return outcome;
    }
    default:
      return core::Fail(core::ErrorCode::kTempFail, "ClamAV scan failed: {}", cl_strerror(status));
  }
}

std::string ClamavDatabaseInfo::Describe() const {
  if (version > 0) {
    char date[32] = "";
    std::tm tm{};
    if (built > 0 && gmtime_r(&built, &tm) != nullptr)
      std::strftime(date, sizeof(date), " (%F)", &tm);
    return fmt::format("daily {}{}, {} signatures", version, date, signature_count);
  }
  std::string names;
  for (const std::string& file : files) names += (names.empty() ? "" : " ") + file;
  return fmt::format("local: {}, {} signatures", names, signature_count);
}

// ---- DatabaseWatch -------------------------------------------------------------------------

// cl_statchkdir() notices new and modified files by whole-second mtime, but not removals or a
// change within the same second; a snapshot of (name, size, mtime in ns, inode) covers both.
struct DatabaseWatch::State {
  struct cl_stat stat;
  std::string directory;
  std::vector<std::tuple<std::string, uintmax_t, int64_t, uint64_t>> snapshot;
  ~State() { cl_statfree(&stat); }
};

namespace {

std::vector<std::tuple<std::string, uintmax_t, int64_t, uint64_t>> Snapshot(
    const std::string& directory) {
  std::vector<std::tuple<std::string, uintmax_t, int64_t, uint64_t>> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
    std::string name = entry.path().filename().string();
    if (!IsDatabaseFile(name)) continue;
    struct stat st;
    if (::stat(entry.path().c_str(), &st) != 0) continue;
    out.emplace_back(name, static_cast<uintmax_t>(st.st_size),
                     static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
                     static_cast<uint64_t>(st.st_ino));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

DatabaseWatch::DatabaseWatch(std::unique_ptr<State> state) : state_(std::move(state)) {}
DatabaseWatch::DatabaseWatch(DatabaseWatch&&) noexcept = default;
DatabaseWatch& DatabaseWatch::operator=(DatabaseWatch&&) noexcept = default;
DatabaseWatch::~DatabaseWatch() = default;

core::Result<DatabaseWatch> DatabaseWatch::Start(const std::string& directory) {
  if (auto status = InitClamav(); !status) return core::Fail(status.error());
  auto state = std::make_unique<State>();
  std::memset(&state->stat, 0, sizeof(state->stat));
  cl_error_t status = cl_statinidir(directory.c_str(), &state->stat);
  if (status != CL_SUCCESS) {
    return core::Fail(core::ErrorCode::kIo, "watching {}: {}", directory, cl_strerror(status));
  }
  state->directory = directory;
  state->snapshot = Snapshot(directory);
  return DatabaseWatch(std::move(state));
}

bool DatabaseWatch::Changed() const {
  return cl_statchkdir(&state_->stat) == 1 || Snapshot(state_->directory) != state_->snapshot;
}

}  // namespace moat::scanners
