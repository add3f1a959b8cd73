#include "server/sys/kernel_count.hh"

#include <linux/perf_event.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string_view>

namespace zc::sys {

namespace {

constexpr const char* id_paths[] = {
    "/sys/kernel/tracing/events/raw_syscalls/sys_enter/id",
    "/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id",
};

// The tracepoint's id, or the errno of the last failed attempt to read it.
std::optional<std::uint64_t> read_id(int* err) {
  *err = ENOENT;
  for (const char* p : id_paths) {
    std::ifstream in(p);
    if (!in) {
      if (errno != ENOENT) *err = errno;
      continue;
    }
    std::uint64_t id;
    if (in >> id) return id;
  }
  return std::nullopt;
}

struct probe_result {
  std::uint64_t id = 0;
  std::string why_not;
};

int perf_event_open(perf_event_attr* attr, pid_t pid, int cpu, int group, unsigned long flags) {
  // Set-up, once per thread: not on the serving path, so not a counted call.
  return static_cast<int>(::syscall(SYS_perf_event_open, attr, pid, cpu, group, flags));
}

perf_event_attr make_attr(std::uint64_t id, bool inherit) {
  perf_event_attr a{};
  a.size = sizeof a;
  a.type = PERF_TYPE_TRACEPOINT;
  a.config = id;
  a.inherit = inherit ? 1 : 0;
  a.exclude_hv = 1;
  return a;
}

const probe_result& probe() {
  static const probe_result r = [] {
    probe_result out;
    int err = 0;
    auto id = read_id(&err);
    if (!id && err == ENOENT && ::geteuid() == 0) {
      // tracefs is often not mounted until someone needs it; perf mounts it
      // the same way.
      ::mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nullptr);
      id = read_id(&err);
    }
    if (!id) {
      if (err == ENOENT)
        out.why_not =
            "the raw_syscalls:sys_enter tracepoint is not visible (tracefs is not mounted at "
            "/sys/kernel/tracing, and only root with CAP_SYS_ADMIN may mount it; in a container, "
            "bind-mount the host's: -v /sys/kernel/tracing:/sys/kernel/tracing:ro)";
      else
        out.why_not = std::string(
                          "cannot read the raw_syscalls:sys_enter tracepoint id under "
                          "/sys/kernel/tracing: ") +
                      std::strerror(err) +
                      " (tracefs is root's alone, mode 0700: run as uid 0, or grant "
                      "CAP_DAC_READ_SEARCH)";
      return out;
    }
    perf_event_attr a = make_attr(*id, false);
    int fd = perf_event_open(&a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) {
      err = errno;
      std::optional<int> paranoid;
      int v = 0;
      if (std::ifstream in("/proc/sys/kernel/perf_event_paranoid"); in >> v) paranoid = v;
      out.why_not = explain_perf_refusal(err, read_process_restrictions(), paranoid);
      return out;
    }
    ::close(fd);
    out.id = *id;
    return out;
  }();
  return r;
}

}  // namespace

process_restrictions read_process_restrictions() {
  process_restrictions r;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("Seccomp:"))
      r.seccomp_filter = line.find('2') != std::string::npos;
    else if (line.starts_with("CapEff:"))
      r.effective_caps = std::stoull(line.substr(line.find_first_not_of(" \t", 7)), nullptr, 16);
  }
  return r;
}

std::string explain_perf_refusal(int err, const process_restrictions& r,
                                 std::optional<int> paranoid) {
  std::string msg = std::string("perf_event_open(raw_syscalls:sys_enter): ") + std::strerror(err);
  if (err != EPERM && err != EACCES) return msg;
  // A tracepoint counter needs CAP_PERFMON (or CAP_SYS_ADMIN before 5.8)
  // unless kernel.perf_event_paranoid is -1. With the capability in hand
  // the kernel does not refuse, so a refusal then comes from a filter.
  //
  // Which errno says who refused: the kernel's own refusal of a process
  // without the capability is EACCES (perf_allow_kernel), while container
  // runtimes' default seccomp profiles answer EPERM (podman's, Docker's and
  // containerd's allow perf_event_open only with CAP_SYS_ADMIN). So under a
  // filter, EACCES means the filter let the call through to the kernel, and
  // the filter is named only for EPERM.
  const bool by_filter = r.seccomp_filter && err == EPERM;
  const bool capable = r.has_cap(CAP_PERFMON) || r.has_cap(CAP_SYS_ADMIN);
  const bool paranoid_allows = paranoid && *paranoid <= -1;
  const std::string level = paranoid ? std::to_string(*paranoid) : "unreadable";
  if (capable || paranoid_allows) {
    if (by_filter)
      return msg +
             ": refused by this process's seccomp filter (a container runtime's default "
             "profile allows perf_event_open only with CAP_SYS_ADMIN; "
             "docker/seccomp/zcserve-counter.json and zcserve.json allow it)";
    // EACCES under a filter: the filter let the call through, and is not named.
    return msg + " (kernel.perf_event_paranoid = " + level +
           (r.seccomp_filter ? "" : ", and no seccomp filter") +
           ": a security module such as SELinux or AppArmor?)";
  }
  msg +=
      ": the process lacks CAP_PERFMON, which a tracepoint counter needs while "
      "kernel.perf_event_paranoid (" +
      level + ") is above -1; run as root, grant CAP_PERFMON (podman: --cap-add PERFMON)";
  if (by_filter)
    msg +=
        ", and allow perf_event_open in the seccomp filter, which refused it first "
        "(docker/seccomp/zcserve-counter.json, or zcserve.json for io_uring)";
  return msg;
}

const std::string& kernel_syscall_counter::unavailable_reason() {
  return probe().why_not;
}

kernel_syscall_counter kernel_syscall_counter::open_for_this_thread(bool inherit) {
  const probe_result& p = probe();
  if (!p.why_not.empty()) return {};
  perf_event_attr a = make_attr(p.id, inherit);
  int fd = perf_event_open(&a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) return {};
  return kernel_syscall_counter(fd);
}

std::optional<std::uint64_t> kernel_syscall_counter::read() const noexcept {
  std::uint64_t v = 0;
  // Not a counted call: reading happens on the admin thread, never a worker.
  if (!fd_ || ::read(fd_.get(), &v, sizeof v) != static_cast<ssize_t>(sizeof v))
    return std::nullopt;
  return v;
}

}  // namespace zc::sys
