// zcserve: an HTTP/1.1 static-file server whose I/O path is chosen by
// configuration. main() parses the command line, opens the root and the
// listeners, starts one share-nothing worker per thread, and waits for a
// signal.

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "backends/registry.hh"
#include "backends/senders/kinds.hh"
#include "backends/worker.hh"
#include "server/core/file_policy.hh"
#include "server/program/admin.hh"
#include "server/program/config_load.hh"
#include "server/program/log.hh"
#include "server/program/metrics.hh"
#include "server/sys/counted.hh"
#include "server/sys/kernel_count.hh"

#ifndef ZC_VERSION
#define ZC_VERSION "0.0.0"
#endif

namespace {

constexpr int exit_usage = 2;    // bad command line or configuration
constexpr int exit_runtime = 1;  // could not start (port in use, ...) or could not go on

// A JSON string: quotes, backslashes and control bytes escaped.
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", c);
      out += esc;
    } else {
      out += ch;
    }
  }
  return out + '"';
}

// The line a program that starts zcserve waits for (the test suites and
// loadtest read it with loadtest/zcload/launch.py): printed once every
// worker and the admin listener accept connections, with where they listen
// as JSON, on stderr and apart from the log's own format.
void print_ready_line(const zc::config& cfg, const std::string& listen_where, std::uint16_t port,
                      const std::string& admin_where, int admin_port) {
  std::string line =
      "zcserve-ready {\"version\": " + json_string(ZC_VERSION) +
      ", \"engine\": " + json_string(cfg.io.engine) +
      ", \"sender\": " + json_string(cfg.io.sender) +
      ", \"workers\": " + std::to_string(cfg.server.workers) +
      ", \"listen\": " + json_string(listen_where) + ", \"port\": " + std::to_string(port) +
      ", \"admin\": " + json_string(admin_where) +
      ", \"admin_port\": " + (admin_port < 0 ? std::string("null") : std::to_string(admin_port)) +
      ", \"root\": " + json_string(cfg.server.root) + ", \"pid\": " + std::to_string(::getpid()) +
      "}\n";
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

int die_usage(const std::string& msg) {
  std::fprintf(stderr, "zcserve: %s\n", msg.c_str());
  return exit_usage;
}

void name_and_pin(std::thread& t, int id, const zc::config& cfg) {
  char name[16];
  std::snprintf(name, sizeof name, "zc-worker-%d", id);
  pthread_setname_np(t.native_handle(), name);
  const auto& cpus = cfg.server.cpu_affinity;
  if (cpus.empty()) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  int cpu = cpus[static_cast<std::size_t>(id) % cpus.size()];
  CPU_SET(cpu, &set);
  if (int err = pthread_setaffinity_np(t.native_handle(), sizeof set, &set); err != 0)
    spdlog::warn("worker {}: cannot pin to CPU {}: {}", id, cpu, std::strerror(err));
}

// error_pages.503 is also what a connection past server.max_connections
// gets. That reply is sent before any request is read, with one
// non-blocking send from memory, so the page is read here, once, beneath
// the root as the handler would find it; the handler's own 503s still go
// through the file cache. A page that cannot be read, or too big for a new
// connection's send buffer to take at once, keeps the built-in text, and
// start-up says why.
void load_busy_page(const zc::config& cfg, int root_fd, const zc::file_policy& policy) {
  const std::string* page = cfg.error_pages.for_status(503);
  if (page == nullptr) return;
  constexpr std::size_t most = 16 * 1024;
  const std::string rel = page->substr(1);  // normalised at load: "/a/b" -> "a/b"
  ::open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  zc::sys::unique_fd fd(zc::sys::openat2(root_fd, rel.c_str(), &how));
  std::string body(most + 1, '\0');
  const ssize_t n = fd ? zc::sys::read(fd.get(), body.data(), body.size()) : -1;
  if (n < 0) {
    spdlog::warn(
        "error_pages.503 = \"{}\": {}; a connection past server.max_connections gets "
        "the built-in 503",
        *page, std::strerror(errno));
    return;
  }
  if (static_cast<std::size_t>(n) > most) {
    spdlog::warn(
        "error_pages.503 = \"{}\": over {} KiB, more than a new connection can be "
        "sure to take in one send; a connection past server.max_connections gets the "
        "built-in 503 (the handler's 503s still send the page)",
        *page, most / 1024);
    return;
  }
  body.resize(static_cast<std::size_t>(n));
  zc::set_busy_page(policy.content_type(rel), body);
}

// server.pid_file: the process id and a newline, written at start and
// removed at exit if it still names this process (a second server started
// by mistake on the same file must not lose the first one's).
class pid_file_guard {
 public:
  explicit pid_file_guard(std::string path) : path_(std::move(path)) {}
  pid_file_guard(const pid_file_guard&) = delete;
  pid_file_guard& operator=(const pid_file_guard&) = delete;
  ~pid_file_guard() {
    if (!written_) return;
    char buf[32] = {};
    zc::sys::unique_fd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return;
    const ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
    if (n > 0 && std::strtol(buf, nullptr, 10) == ::getpid()) ::unlink(path_.c_str());
  }

  // "" on success (or with no file to write), else what went wrong.
  std::string write() {
    if (path_.empty()) return "";
    const std::string text = std::to_string(::getpid()) + "\n";
    zc::sys::unique_fd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      return "server.pid_file = \"" + path_ + "\": " + std::strerror(errno);
    written_ = true;
    return "";
  }

 private:
  std::string path_;
  bool written_ = false;
};

// server.max_connections per worker needs as many descriptors (or io_uring
// file table slots, which RLIMIT_NOFILE bounds too); the default soft limit
// of 1024 is far below the default of 10000. Take what the hard limit allows.
void raise_descriptor_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur >= r.rlim_max) return;
  const rlim_t was = r.rlim_cur;
  r.rlim_cur = r.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &r) == 0)
    spdlog::debug("RLIMIT_NOFILE raised from {} to {}", was, r.rlim_cur);
}

// A connection costs one descriptor (its socket); the file cache and the
// splice pipe pool have budgets of their own (zc::plan_descriptors). If the
// limit cannot give every worker server.max_connections sockets beside
// them, the connection limit is lowered to what it can give, and said: past
// it a client gets the 503 it would get past server.max_connections,
// instead of a connection accepted into a process that then cannot open
// the file it asks for. The cache is fitted the same way, so that it gives
// back idle descriptors before the process runs out, not after.
void fit_to_descriptors(zc::config& cfg) {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return;
  const std::uint64_t nofile = r.rlim_cur;
  const zc::descriptor_plan p = zc::plan_descriptors(nofile, cfg);
  if (p.connections < cfg.server.max_connections)
    spdlog::warn(
        "RLIMIT_NOFILE {} leaves room for {} connections per worker ({} worker(s), {} "
        "descriptor(s) each beside {} for cached files and {} for pipes): "
        "server.max_connections = {} lowered to {}; raise the limit (ulimit -n, LimitNOFILE=) "
        "to serve more",
        nofile, p.connections, cfg.server.workers, p.per_connection, p.files, 2 * p.pipes,
        cfg.server.max_connections, p.connections);
  if (p.files < cfg.server.cache_entries)
    spdlog::info("RLIMIT_NOFILE {}: server.cache_entries = {} lowered to {} per worker", nofile,
                 cfg.server.cache_entries, p.files);
  spdlog::debug("descriptors: {} reserved, per worker {} connections, {} files, {} pipes",
                p.reserve, p.connections, p.files, p.pipes);
  cfg.server.max_connections = p.connections;
  cfg.server.cache_entries = p.files;
}

// --- containers: what a container may withhold, said at start (issue 12) ---

// --list-backends' last line: whether the kernel's own system-call count
// (the check on the wrapper count) can be had here, and if not, why.
std::string kernel_counter_line() {
  const std::string& why = zc::sys::kernel_syscall_counter::unavailable_reason();
  return why.empty() ? "+ kernel syscall counter (perf_event_open, raw_syscalls:sys_enter)\n"
                     : "- kernel syscall counter (" + why + ")\n";
}

// A sender that needs locked memory (kinds.def: send_zc) pins each reply's
// pages while the kernel sends them and counts them against RLIMIT_MEMLOCK
// unless the process has CAP_IPC_LOCK; past the limit a send fails with ENOMEM and the client sees
// a closed connection. The default limit (8 MiB; a container's is the same) covers 32 chunks of
// io.chunk_bytes' default: warn when it cannot give every connection one.
void warn_if_memlock_small(const zc::config& cfg) {
  const std::optional<zc::sender_kind> kind = zc::find_sender_kind(cfg.io.sender);
  if (!kind || zc::traits(*kind).needs != zc::sender_needs::locked_memory ||
      zc::sys::read_process_restrictions().has_cap(CAP_IPC_LOCK))
    return;
  rlimit r{};
  if (::getrlimit(RLIMIT_MEMLOCK, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return;
  const std::uint64_t want =
      std::uint64_t{cfg.server.workers} * cfg.server.max_connections * cfg.io.chunk_bytes;
  if (r.rlim_cur >= want) return;
  spdlog::warn(
      "{}: RLIMIT_MEMLOCK is {} KiB and the process lacks CAP_IPC_LOCK: zero-copy sends "
      "pin their pages against it, so sends fail (the client sees a closed connection) once "
      "more than that is in flight, up to io.chunk_bytes = {} KiB per connection; raise it "
      "(ulimit -l, podman --ulimit memlock=-1) or grant CAP_IPC_LOCK",
      cfg.io.sender, r.rlim_cur / 1024, cfg.io.chunk_bytes / 1024);
}

}  // namespace

int main(int argc, char** argv) {
  zc::cli_result cli = zc::parse_command_line(argc, argv);
  switch (cli.what) {
    case zc::cli_result::action::error:
      return die_usage(cli.error);
    case zc::cli_result::action::help:
      std::fputs(zc::usage_text().c_str(), stdout);
      return 0;
    case zc::cli_result::action::version:
      std::printf("zcserve %s\n", ZC_VERSION);
      return 0;
    case zc::cli_result::action::list_backends:
      std::fputs(zc::list_backends().c_str(), stdout);
      std::fputs(kernel_counter_line().c_str(), stdout);
      return 0;
    case zc::cli_result::action::run:
      break;
  }
  if (std::string err = zc::validate_backends(cli.cfg); !err.empty()) return die_usage(err);
  const zc::config& cfg = cli.cfg;

  // The root is held as an O_PATH descriptor: every file is opened beneath
  // it, so renaming the directory's path later changes nothing.
  zc::sys::unique_fd root(::open(cfg.server.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root)
    return die_usage("server.root = \"" + cfg.server.root + "\": " + std::strerror(errno) +
                     " (must be a readable directory)");

  // Content-Type and Cache-Control rules, read once (the system's
  // mime.types among them) and shared read-only by every worker; they live
  // until the workers are gone.
  zc::file_policy policy;
  const zc::file_policy_result policy_loaded = zc::load_file_policy(cfg, policy);
  if (!policy_loaded.error.empty()) return die_usage(policy_loaded.error);

  // SIGPIPE would kill the process when a peer vanishes mid-reply; the
  // failed call's EPIPE is all the server needs.
  ::signal(SIGPIPE, SIG_IGN);
  // Every thread inherits this mask; only sigwait() below takes these. It is
  // set before the first thread starts (the access log's writer is one): a
  // thread with SIGTERM unblocked would take the default action, killing
  // the process instead of draining it, and one with SIGHUP unblocked would
  // kill it with status 129 where logrotate only asked for a reopen.
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGTERM, SIGINT, SIGUSR1, SIGHUP}) sigaddset(&sigs, s);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  if (std::string err = zc::init_logging(cfg.log, cfg.server.workers); !err.empty())
    return die_usage(err);
  // On every way out from here, the access log's buffered lines are
  // written before the process ends.
  struct logging_guard {
    ~logging_guard() { zc::shutdown_logging(); }
  } flush_logs_at_exit;

  if (!policy_loaded.notice.empty()) spdlog::warn("{}", policy_loaded.notice);
  load_busy_page(cfg, root.get(), policy);

  // Before any other thread exists, so that every thread inherits it.
  zc::open_process_counter();
  if (const std::string& why = zc::sys::kernel_syscall_counter::unavailable_reason(); !why.empty())
    spdlog::warn("kernel syscall count unavailable, figures come from the wrapper layer only: {}",
                 why);
  warn_if_memlock_small(cfg);

  raise_descriptor_limit();
  fit_to_descriptors(cli.cfg);
  const zc::engine_info* einfo = zc::find_engine(cfg.io.engine);

  std::vector<std::unique_ptr<zc::engine>> engines;
  std::uint16_t port = cfg.server.listen_port;
  if (einfo->own_address && cfg.server.workers != 1)
    return die_usage("server.workers = " + std::to_string(cfg.server.workers) + ": engine " +
                     cfg.io.engine + " brings its own network stack, one per process: must be 1");
  if (einfo->own_address && port == 0)
    return die_usage("server.listen: engine " + cfg.io.engine +
                     " listens on its own stack and needs a port, not 0");
  for (unsigned i = 0; i < cfg.server.workers; ++i) {
    zc::worker_context ctx;
    if (!einfo->own_address) {
      zc::listen_result l = zc::make_listener(cfg.server.listen_host, port);
      if (!l.error.empty()) {
        if (l.bad_value) return die_usage(l.error);
        spdlog::error("{}", l.error);
        return exit_runtime;
      }
      port = l.port;  // with port 0, the later workers join the port the first one got
      ctx.listener = std::move(l.fd);
    }
    ctx.id = static_cast<int>(i);
    ctx.cfg = &cfg;
    ctx.root_fd = root.get();
    ctx.policy = &policy;
    try {
      engines.push_back(einfo->make(std::move(ctx), *zc::find_sender_kind(cfg.io.sender)));
    } catch (const std::exception& e) {
      spdlog::error("worker {}: {}", i, e.what());
      return exit_runtime;
    }
  }

  zc::sys::unique_fd admin_fd;
  std::string admin_where = "off";
  int admin_port = -1;
  if (cfg.admin.enabled) {
    zc::listen_result l =
        zc::make_listener(cfg.admin.listen_host, cfg.admin.listen_port, 64, "admin.listen");
    if (!l.error.empty()) {
      if (l.bad_value) return die_usage(l.error);
      spdlog::error("{}", l.error);
      return exit_runtime;
    }
    admin_fd = std::move(l.fd);
    admin_port = l.port;
    admin_where = zc::format_endpoint(cfg.admin.listen_host, l.port);
  }
  zc::admin_server admin(cfg, std::move(admin_fd), {cfg.io.engine, cfg.io.sender, ZC_VERSION});

  // Written once every listener exists, so a reader of the file finds a
  // server that takes connections; removed on the way out.
  pid_file_guard pid_file(cfg.server.pid_file);
  if (std::string err = pid_file.write(); !err.empty()) {
    spdlog::error("{}", err);
    return exit_runtime;
  }

  std::vector<std::thread> threads;
  for (unsigned i = 0; i < engines.size(); ++i) {
    threads.emplace_back([&engines, i] {
      zc::sys::bind_thread(static_cast<int>(i));
      try {
        engines[i]->run();
      } catch (const std::exception& e) {
        spdlog::critical("worker {}: {}; stopping the server", i, e.what());
        zc::stop_server_fatally();
      }
      zc::sys::record_thread_exit();
    });
    name_and_pin(threads.back(), static_cast<int>(i), cfg);
  }

  admin.start();
  // An engine with its own stack listens at the stack's address.
  const std::string listen_where = einfo->own_address
                                       ? einfo->own_address(cfg) + ":" + std::to_string(port)
                                       : zc::format_endpoint(cfg.server.listen_host, port);
  spdlog::info(
      "zcserve {} started: engine={} sender={} workers={} listen={} admin={} root={} pid={}",
      ZC_VERSION, cfg.io.engine, cfg.io.sender, cfg.server.workers, listen_where, admin_where,
      cfg.server.root, ::getpid());
  print_ready_line(cfg, listen_where, port, admin_where, admin_port);

  for (;;) {
    int sig = 0;
    if (sigwait(&sigs, &sig) != 0) continue;
    if (sig == SIGUSR1) {
      std::fputs(admin.table_now().c_str(), stderr);
      continue;
    }
    if (sig == SIGHUP) {
      // logrotate renamed the log: write to a new file by the same path.
      zc::reopen_access_log();
      continue;
    }
    spdlog::info("{}: finishing replies in flight, then exiting", strsignal(sig));
    break;
  }
  for (auto& e : engines) e->stop();
  for (auto& t : threads) t.join();
  engines.clear();
  std::fputs(admin.table_now().c_str(), stderr);
  admin.stop();
  const bool fatal = zc::stopped_fatally();
  if (fatal) spdlog::critical("exiting with status {}: a worker could not go on", exit_runtime);
  return fatal ? exit_runtime : 0;
}
