#include "server/program/metrics.hh"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "server/core/http_date.hh"
#include "server/program/log.hh"

namespace zc {

namespace {

sys::kernel_syscall_counter& process_counter() {
  static sys::kernel_syscall_counter c;
  return c;
}

// A decimal number at the start of `s` (after blanks), or 0: a file of a
// thread that is ending may read short, and a figure must never throw.
std::uint64_t leading_number(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  std::uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// A small /proc file read whole into `buf`, with open(2) and read(2) alone.
// Not iostreams: this runs while the workers may have taken every
// descriptor, and a sanitizer's check of a virtual call needs a pipe of its
// own (UBSan's vptr check reported a false "invalid vptr" here, under
// EMFILE). Empty when the file cannot be opened: no figures this time.
std::string_view read_proc_file(const char* path, char* buf, std::size_t size) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::size_t got = 0;
  while (got < size) {
    ssize_t n = ::read(fd, buf + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return {buf, got};
}

// The text after `key` on the line that starts with it, or empty.
std::string_view field_after(std::string_view text, std::string_view key) {
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t eol = text.find('\n', at);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(at, eol - at);
    if (line.starts_with(key)) return line.substr(key.size());
    at = eol + 1;
  }
  return {};
}

// voluntary_ctxt_switches and nonvoluntary_ctxt_switches: the kernel's
// nvcsw/nivcsw, the same numbers getrusage(RUSAGE_THREAD) returns.
void read_task_status(pid_t tid, thread_figures& f) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/status", static_cast<int>(tid));
  char buf[4096];
  std::string_view text = read_proc_file(path, buf, sizeof buf);
  f.voluntary_switches = leading_number(field_after(text, "voluntary_ctxt_switches:"));
  f.involuntary_switches = leading_number(field_after(text, "nonvoluntary_ctxt_switches:"));
}

// utime and stime (fields 14 and 15), in clock ticks.
void read_task_stat(pid_t tid, thread_figures& f) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", static_cast<int>(tid));
  char buf[1024];
  std::string_view text = read_proc_file(path, buf, sizeof buf);
  // The command name may hold spaces and parentheses: fields start after
  // the last ')', with the state, field 3.
  std::size_t close = text.rfind(')');
  if (close == std::string_view::npos) return;
  std::string_view rest = text.substr(close + 1);
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15; ++i) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    std::size_t end = rest.find(' ');
    std::string_view field = rest.substr(0, end);
    if (field.empty()) return;  // read short: a thread that is ending
    if (i == 14) utime = leading_number(field);
    if (i == 15) stime = leading_number(field);
    rest.remove_prefix(field.size());
  }
  static const double tick = 1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  f.user_seconds = static_cast<double>(utime) * tick;
  f.system_seconds = static_cast<double>(stime) * tick;
}

double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

constexpr const char* class_names[5] = {"1xx", "2xx", "3xx", "4xx", "5xx"};

std::string prom_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        else
          out.push_back(c);
    }
  }
  return out;
}

// A JSON number: finite, or null.
std::string num(double v) {
  if (v != v || v == 1.0 / 0.0 || v == -1.0 / 0.0) return "null";
  return fmt::format("{:.6g}", v);
}

}  // namespace

void thread_figures::add(const thread_figures& o) {
  for (std::size_t i = 0; i < calls.size(); ++i) calls[i] += o.calls[i];
  wrapper_calls += o.wrapper_calls;
  if (o.kernel_calls) kernel_calls = kernel_calls.value_or(0) + *o.kernel_calls;
  voluntary_switches += o.voluntary_switches;
  involuntary_switches += o.involuntary_switches;
  user_seconds += o.user_seconds;
  system_seconds += o.system_seconds;
  requests += o.requests;
  for (std::size_t i = 0; i < responses.size(); ++i) responses[i] += o.responses[i];
  bytes_sent += o.bytes_sent;
  copied_to_user += o.copied_to_user;
  copied_from_user += o.copied_from_user;
  copied_in_user += o.copied_in_user;
  body_copied += o.body_copied;
  uring_submitted += o.uring_submitted;
}

void open_process_counter() {
  process_counter() = sys::kernel_syscall_counter::open_for_this_thread(true);
}

snapshot take_snapshot(unsigned workers) {
  snapshot s;
  s.at_ms = monotonic_ms();
  s.workers.resize(workers);
  for (const sys::thread_counters* t : sys::all_counters()) {
    thread_figures f;
    // Wrapper counts first, kernel count second: the kernel's can then only
    // be ahead, never behind, for calls made in between.
    for (std::size_t i = 0; i < sys::call_count; ++i) f.calls[i] = t->calls[i].get();
    f.wrapper_calls = t->total_calls();
    f.requests = t->requests.get();
    for (std::size_t i = 0; i < 5; ++i) f.responses[i] = t->responses[i].get();
    f.bytes_sent = t->bytes_sent.get();
    f.copied_to_user = t->copied_to_user.get();
    f.copied_from_user = t->copied_from_user.get();
    f.copied_in_user = t->copied_in_user.get();
    f.body_copied = t->body_copied.get();
    f.uring_submitted = t->uring_submitted.get();
    if (t->exited.load(std::memory_order_acquire)) {
      f.kernel_calls = t->final_kernel_calls;
      f.voluntary_switches = t->final_voluntary_switches;
      f.involuntary_switches = t->final_involuntary_switches;
      f.user_seconds = t->final_user_seconds;
      f.system_seconds = t->final_system_seconds;
    } else {
      f.kernel_calls = t->kernel.read();
      if (t->tid != 0) {
        read_task_status(t->tid, f);
        read_task_stat(t->tid, f);
      }
    }
    if (t->worker >= 0 && static_cast<unsigned>(t->worker) < workers)
      s.workers[static_cast<std::size_t>(t->worker)].add(f);
    else
      s.others.add(f);
  }
  for (const auto& w : s.workers) s.total.add(w);
  s.total.add(s.others);
  s.process.kernel_calls = process_counter().read();
  rusage ru{};
  if (::getrusage(RUSAGE_SELF, &ru) == 0) {
    s.process.voluntary_switches = static_cast<std::uint64_t>(ru.ru_nvcsw);
    s.process.involuntary_switches = static_cast<std::uint64_t>(ru.ru_nivcsw);
    s.process.user_seconds = seconds(ru.ru_utime);
    s.process.system_seconds = seconds(ru.ru_stime);
  }
  return s;
}

per_request per_request_between(const snapshot& a, const snapshot& b) {
  per_request p;
  p.seconds = static_cast<double>(b.at_ms - a.at_ms) / 1000.0;
  p.requests = b.total.requests - a.total.requests;
  const double n = p.requests > 0 ? static_cast<double>(p.requests) : 0.0;
  auto per = [n](double v) { return n > 0 ? v / n : 0.0; };
  p.syscalls = per(static_cast<double>(b.total.wrapper_calls - a.total.wrapper_calls));
  thread_figures wa, wb;
  for (const auto& w : a.workers) wa.add(w);
  for (const auto& w : b.workers) wb.add(w);
  if (wb.kernel_calls)
    p.kernel_syscalls = per(static_cast<double>(*wb.kernel_calls - wa.kernel_calls.value_or(0)));
  if (b.process.kernel_calls)
    p.process_kernel_syscalls =
        per(static_cast<double>(*b.process.kernel_calls - a.process.kernel_calls.value_or(0)));
  p.library_syscalls =
      per(static_cast<double>(wb.library_calls()) - static_cast<double>(wa.library_calls()));
  p.voluntary_switches = per(static_cast<double>(wb.voluntary_switches - wa.voluntary_switches));
  p.involuntary_switches =
      per(static_cast<double>(wb.involuntary_switches - wa.involuntary_switches));
  p.context_switches = p.voluntary_switches + p.involuntary_switches;
  p.cpu_us = per((wb.user_seconds + wb.system_seconds - wa.user_seconds - wa.system_seconds) * 1e6);
  p.process_cpu_us = per((b.process.user_seconds + b.process.system_seconds -
                          a.process.user_seconds - a.process.system_seconds) *
                         1e6);
  p.copied_bytes = per(static_cast<double>(b.total.copied_to_user + b.total.copied_from_user +
                                           b.total.copied_in_user - a.total.copied_to_user -
                                           a.total.copied_from_user - a.total.copied_in_user));
  p.body_copied_bytes = per(static_cast<double>(b.total.body_copied - a.total.body_copied));
  p.sent_bytes = per(static_cast<double>(b.total.bytes_sent - a.total.bytes_sent));
  for (std::size_t i = 0; i < sys::call_count; ++i)
    p.calls[i] = per(static_cast<double>(b.total.calls[i] - a.total.calls[i]));
  const auto enter = static_cast<std::size_t>(sys::call::io_uring_enter);
  const std::uint64_t enters = b.total.calls[enter] - a.total.calls[enter];
  if (enters > 0)
    p.uring_ops_per_enter = static_cast<double>(b.total.uring_submitted - a.total.uring_submitted) /
                            static_cast<double>(enters);
  return p;
}

std::string prometheus_text(const snapshot& s, const metrics_labels& l) {
  std::string out;
  auto it = std::back_inserter(out);
  const std::string base =
      fmt::format("engine=\"{}\",sender=\"{}\"", prom_escape(l.engine), prom_escape(l.sender));
  auto family = [&](std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(it, "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  // Every per-thread family, once per worker and once for the other threads.
  auto each = [&](auto&& emit) {
    for (std::size_t w = 0; w < s.workers.size(); ++w) emit(std::to_string(w), s.workers[w]);
    emit(std::string("other"), s.others);
  };

  family("zcserve_info", "gauge", "Build and backend of this server.");
  fmt::format_to(it, "zcserve_info{{{},version=\"{}\"}} 1\n", base, prom_escape(l.version));

  family("zcserve_requests_total", "counter", "Replies sent in full.");
  each([&](const std::string& w, const thread_figures& f) {
    fmt::format_to(it, "zcserve_requests_total{{{},worker=\"{}\"}} {}\n", base, w, f.requests);
  });
  family("zcserve_responses_total", "counter", "Replies sent in full, by status class.");
  each([&](const std::string& w, const thread_figures& f) {
    for (std::size_t c = 0; c < 5; ++c)
      fmt::format_to(it, "zcserve_responses_total{{{},worker=\"{}\",class=\"{}\"}} {}\n", base, w,
                     class_names[c], f.responses[c]);
  });
  family("zcserve_sent_bytes_total", "counter", "Bytes handed to sockets, heads and bodies.");
  each([&](const std::string& w, const thread_figures& f) {
    fmt::format_to(it, "zcserve_sent_bytes_total{{{},worker=\"{}\"}} {}\n", base, w, f.bytes_sent);
  });
  family("zcserve_syscalls_total", "counter",
         "System calls made through zcserve's counted wrapper layer, by call.");
  each([&](const std::string& w, const thread_figures& f) {
    for (std::size_t i = 0; i < sys::call_count; ++i) {
      if (f.calls[i] == 0) continue;
      fmt::format_to(it, "zcserve_syscalls_total{{{},worker=\"{}\",syscall=\"{}\"}} {}\n", base, w,
                     sys::call_name(static_cast<sys::call>(i)), f.calls[i]);
    }
  });
  family("zcserve_kernel_count_available", "gauge",
         "1 if the kernel's syscall counters (perf_event_open) could be opened, else 0.");
  fmt::format_to(it, "zcserve_kernel_count_available{{{}}} {}\n", base,
                 s.process.kernel_calls ? 1 : 0);
  family("zcserve_kernel_syscalls_total", "counter",
         "System calls the kernel saw each worker thread enter (raw_syscalls:sys_enter).");
  for (std::size_t w = 0; w < s.workers.size(); ++w)
    if (s.workers[w].kernel_calls)
      fmt::format_to(it, "zcserve_kernel_syscalls_total{{{},worker=\"{}\"}} {}\n", base, w,
                     *s.workers[w].kernel_calls);
  family("zcserve_library_syscalls_total", "counter",
         "Kernel count minus wrapper count per worker: calls made inside libraries.");
  for (std::size_t w = 0; w < s.workers.size(); ++w)
    if (s.workers[w].kernel_calls)
      fmt::format_to(it, "zcserve_library_syscalls_total{{{},worker=\"{}\"}} {}\n", base, w,
                     s.workers[w].library_calls());
  family("zcserve_process_kernel_syscalls_total", "counter",
         "System calls the kernel saw the whole process enter, every thread included.");
  if (s.process.kernel_calls)
    fmt::format_to(it, "zcserve_process_kernel_syscalls_total{{{}}} {}\n", base,
                   *s.process.kernel_calls);
  family("zcserve_context_switches_total", "counter",
         "Context switches per worker thread (voluntary: it waited; involuntary: preempted).");
  each([&](const std::string& w, const thread_figures& f) {
    fmt::format_to(it, "zcserve_context_switches_total{{{},worker=\"{}\",kind=\"voluntary\"}} {}\n",
                   base, w, f.voluntary_switches);
    fmt::format_to(it,
                   "zcserve_context_switches_total{{{},worker=\"{}\",kind=\"involuntary\"}} {}\n",
                   base, w, f.involuntary_switches);
  });
  family("zcserve_process_context_switches_total", "counter",
         "Context switches of the whole process (getrusage RUSAGE_SELF).");
  fmt::format_to(it, "zcserve_process_context_switches_total{{{},kind=\"voluntary\"}} {}\n", base,
                 s.process.voluntary_switches);
  fmt::format_to(it, "zcserve_process_context_switches_total{{{},kind=\"involuntary\"}} {}\n", base,
                 s.process.involuntary_switches);
  family("zcserve_cpu_seconds_total", "counter", "CPU time per worker thread.");
  each([&](const std::string& w, const thread_figures& f) {
    fmt::format_to(it, "zcserve_cpu_seconds_total{{{},worker=\"{}\",mode=\"user\"}} {}\n", base, w,
                   num(f.user_seconds));
    fmt::format_to(it, "zcserve_cpu_seconds_total{{{},worker=\"{}\",mode=\"system\"}} {}\n", base,
                   w, num(f.system_seconds));
  });
  family("zcserve_process_cpu_seconds_total", "counter",
         "CPU time of the whole process, kernel threads working for it included.");
  fmt::format_to(it, "zcserve_process_cpu_seconds_total{{{},mode=\"user\"}} {}\n", base,
                 num(s.process.user_seconds));
  fmt::format_to(it, "zcserve_process_cpu_seconds_total{{{},mode=\"system\"}} {}\n", base,
                 num(s.process.system_seconds));
  family("zcserve_copied_bytes_total", "counter",
         "Bytes copied between user and kernel memory, or within user space into a userspace "
         "TCP stack's buffers (direction in_user), where the copy happens.");
  each([&](const std::string& w, const thread_figures& f) {
    fmt::format_to(it, "zcserve_copied_bytes_total{{{},worker=\"{}\",direction=\"to_user\"}} {}\n",
                   base, w, f.copied_to_user);
    fmt::format_to(it,
                   "zcserve_copied_bytes_total{{{},worker=\"{}\",direction=\"from_user\"}} {}\n",
                   base, w, f.copied_from_user);
    if (f.copied_in_user > 0)
      fmt::format_to(it,
                     "zcserve_copied_bytes_total{{{},worker=\"{}\",direction=\"in_user\"}} {}\n",
                     base, w, f.copied_in_user);
  });
  family("zcserve_uring_submitted_total", "counter",
         "io_uring operations handed to the kernel (divide by io_uring_enter calls for ops per "
         "enter).");
  each([&](const std::string& w, const thread_figures& f) {
    fmt::format_to(it, "zcserve_uring_submitted_total{{{},worker=\"{}\"}} {}\n", base, w,
                   f.uring_submitted);
  });
  family("zcserve_copied_body_bytes_total", "counter",
         "The part of the copied bytes that was file body.");
  each([&](const std::string& w, const thread_figures& f) {
    fmt::format_to(it, "zcserve_copied_body_bytes_total{{{},worker=\"{}\"}} {}\n", base, w,
                   f.body_copied);
  });
  if (const access_logger* log = access_log()) {
    const access_log_counts c = log->counts();
    family("zcserve_access_log_lines_total", "counter", "Access log lines formatted.");
    fmt::format_to(it, "zcserve_access_log_lines_total{{{}}} {}\n", base, c.lines);
    family("zcserve_access_log_dropped_lines_total", "counter",
           "Access log lines lost: every buffer was full or being written, or a write failed.");
    fmt::format_to(it, "zcserve_access_log_dropped_lines_total{{{}}} {}\n", base, c.dropped);
    family("zcserve_access_log_writes_total", "counter",
           "Writes (writev) of access log buffers, each carrying many lines.");
    fmt::format_to(it, "zcserve_access_log_writes_total{{{}}} {}\n", base, c.writes);
  }
  return out;
}

namespace {

void json_per_request(std::string& out, const per_request& p) {
  auto it = std::back_inserter(out);
  fmt::format_to(it,
                 "{{\"seconds\":{},\"requests\":{},\"requests_per_second\":{},\"syscalls\":{},"
                 "\"kernel_syscalls\":{},\"process_kernel_syscalls\":{},\"library_syscalls\":{},"
                 "\"context_switches\":{},\"voluntary_switches\":{},\"involuntary_switches\":{},"
                 "\"cpu_us\":{},\"process_cpu_us\":{},\"copied_bytes\":{},"
                 "\"body_copied_bytes\":{},\"sent_bytes\":{},\"uring_ops_per_enter\":{},"
                 "\"syscalls_by_call\":{{",
                 num(p.seconds), p.requests,
                 num(p.seconds > 0 ? static_cast<double>(p.requests) / p.seconds : 0.0),
                 num(p.syscalls), p.kernel_syscalls ? num(*p.kernel_syscalls) : "null",
                 p.process_kernel_syscalls ? num(*p.process_kernel_syscalls) : "null",
                 num(p.library_syscalls), num(p.context_switches), num(p.voluntary_switches),
                 num(p.involuntary_switches), num(p.cpu_us), num(p.process_cpu_us),
                 num(p.copied_bytes), num(p.body_copied_bytes), num(p.sent_bytes),
                 num(p.uring_ops_per_enter));
  bool first = true;
  for (std::size_t i = 0; i < sys::call_count; ++i) {
    if (p.calls[i] == 0) continue;
    fmt::format_to(it, "{}\"{}\":{}", first ? "" : ",", sys::call_name(static_cast<sys::call>(i)),
                   num(p.calls[i]));
    first = false;
  }
  out += "}}";
}

void json_thread(std::string& out, const thread_figures& f) {
  auto it = std::back_inserter(out);
  fmt::format_to(
      it,
      "{{\"requests\":{},\"responses\":{{\"1xx\":{},\"2xx\":{},\"3xx\":{},\"4xx\":{},"
      "\"5xx\":{}}},\"sent_bytes\":{},\"syscalls\":{},\"kernel_syscalls\":{},"
      "\"library_syscalls\":{},\"context_switches\":{{\"voluntary\":{},"
      "\"involuntary\":{}}},\"cpu_seconds\":{{\"user\":{},\"system\":{}}},"
      "\"copied_bytes\":{{\"to_user\":{},\"from_user\":{},\"in_user\":{},"
      "\"body\":{}}},"
      "\"syscalls_by_call\":{{",
      f.requests, f.responses[0], f.responses[1], f.responses[2], f.responses[3], f.responses[4],
      f.bytes_sent, f.wrapper_calls, f.kernel_calls ? std::to_string(*f.kernel_calls) : "null",
      f.library_calls(), f.voluntary_switches, f.involuntary_switches, num(f.user_seconds),
      num(f.system_seconds), f.copied_to_user, f.copied_from_user, f.copied_in_user, f.body_copied);
  bool first = true;
  for (std::size_t i = 0; i < sys::call_count; ++i) {
    if (f.calls[i] == 0) continue;
    fmt::format_to(it, "{}\"{}\":{}", first ? "" : ",", sys::call_name(static_cast<sys::call>(i)),
                   f.calls[i]);
    first = false;
  }
  out += "}}";
}

}  // namespace

std::string stats_json(const snapshot& s, const snapshot& start, const snapshot& window_start,
                       const metrics_labels& l) {
  std::string out;
  auto it = std::back_inserter(out);
  const std::string& why = sys::kernel_syscall_counter::unavailable_reason();
  fmt::format_to(it,
                 "{{\"engine\":\"{}\",\"sender\":\"{}\",\"version\":\"{}\",\"workers\":{},"
                 "\"uptime_seconds\":{},\"kernel_count_available\":{},"
                 "\"kernel_count_unavailable_reason\":\"{}\",\"process\":{{\"kernel_syscalls\":{},"
                 "\"context_switches\":{{\"voluntary\":{},\"involuntary\":{}}},"
                 "\"cpu_seconds\":{{\"user\":{},\"system\":{}}}}},\"totals\":",
                 json_escape(l.engine), json_escape(l.sender), json_escape(l.version),
                 s.workers.size(), num(static_cast<double>(s.at_ms - start.at_ms) / 1000.0),
                 s.process.kernel_calls ? "true" : "false", json_escape(why),
                 s.process.kernel_calls ? std::to_string(*s.process.kernel_calls) : "null",
                 s.process.voluntary_switches, s.process.involuntary_switches,
                 num(s.process.user_seconds), num(s.process.system_seconds));
  json_thread(out, s.total);
  out += ",\"per_request\":{\"lifetime\":";
  json_per_request(out, per_request_between(start, s));
  out += ",\"window\":";
  json_per_request(out, per_request_between(window_start, s));
  out += "},\"workers\":[";
  for (std::size_t w = 0; w < s.workers.size(); ++w) {
    if (w > 0) out.push_back(',');
    json_thread(out, s.workers[w]);
  }
  out += "],\"other_threads\":";
  json_thread(out, s.others);
  out += "}\n";
  return out;
}

std::string exit_table(const snapshot& s, const snapshot& start) {
  const per_request p = per_request_between(start, s);
  std::string out;
  auto it = std::back_inserter(out);
  fmt::format_to(it, "zcserve: {} requests in {:.1f} s, {} bytes sent\n", p.requests, p.seconds,
                 s.total.bytes_sent - start.total.bytes_sent);
  fmt::format_to(it, "  {:<16} {:>14} {:>12}\n", "syscall", "calls", "per request");
  for (std::size_t i = 0; i < sys::call_count; ++i) {
    const std::uint64_t c = s.total.calls[i] - start.total.calls[i];
    if (c == 0) continue;
    fmt::format_to(it, "  {:<16} {:>14} {:>12.3f}\n", sys::call_name(static_cast<sys::call>(i)), c,
                   p.calls[i]);
  }
  fmt::format_to(it, "  {:<16} {:>14} {:>12.3f}\n", "total (wrapper)",
                 s.total.wrapper_calls - start.total.wrapper_calls, p.syscalls);
  if (p.kernel_syscalls) {
    fmt::format_to(it, "  {:<16} {:>14} {:>12.3f}   workers, raw_syscalls:sys_enter\n",
                   "kernel count", "", *p.kernel_syscalls);
    fmt::format_to(it, "  {:<16} {:>14} {:>12.3f}   kernel minus wrapper, workers\n",
                   "in libraries", "", p.library_syscalls);
  } else {
    fmt::format_to(it, "  kernel count unavailable: {}\n",
                   sys::kernel_syscall_counter::unavailable_reason());
  }
  fmt::format_to(it,
                 "  context switches per request: {:.3f} voluntary, {:.3f} involuntary (workers)\n",
                 p.voluntary_switches, p.involuntary_switches);
  fmt::format_to(it, "  CPU per request: {:.2f} us workers, {:.2f} us process\n", p.cpu_us,
                 p.process_cpu_us);
  if (p.uring_ops_per_enter > 0)
    fmt::format_to(it, "  io_uring operations per io_uring_enter: {:.2f}\n", p.uring_ops_per_enter);
  fmt::format_to(it,
                 "  copied per request: {:.1f} bytes between user and kernel memory (and into "
                 "a userspace stack's buffers), {:.1f} of them file body\n",
                 p.copied_bytes, p.body_copied_bytes);
  return out;
}

}  // namespace zc
