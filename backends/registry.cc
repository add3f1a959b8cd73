#include "backends/registry.hh"

#include "backends/senders/mmap.hh"
#include "backends/senders/read_write.hh"
#include "backends/senders/readv_writev.hh"
#include "backends/senders/sendfile.hh"
#include "backends/senders/splice.hh"
#include "server/config.hh"

#ifdef ZC_HAVE_EPOLL
#include "backends/epoll/epoll_engine.hh"
#endif

namespace zc {

namespace {

template <class S>
std::unique_ptr<sender> make_sender(const config& cfg) {
  return std::make_unique<S>(cfg);
}

// The readiness senders, shared by every engine that learns readiness.
constexpr sender_info readiness_senders[] = {
    {"read_write", &make_sender<read_write_sender>},
    {"readv_writev", &make_sender<readv_writev_sender>},
    {"mmap", &make_sender<mmap_sender>},
    {"sendfile", &make_sender<sendfile_sender>},
    {"splice", &make_sender<splice_sender>},
};

std::string always_usable() {
  return "";
}

#ifdef ZC_HAVE_EPOLL
std::unique_ptr<engine> make_epoll(worker_context ctx, std::unique_ptr<sender> s) {
  return std::make_unique<epoll_engine>(std::move(ctx), std::move(s));
}
#endif

const engine_info all_engines[] = {
#ifdef ZC_HAVE_EPOLL
    {"epoll", &make_epoll, readiness_senders, &always_usable},
#else
    {"epoll", nullptr, readiness_senders, &always_usable},
#endif
    // Designed in docs/architecture.md, not yet part of this build.
    {"blocking", nullptr, {}, &always_usable},
    {"io_uring", nullptr, {}, &always_usable},
    {"asio", nullptr, {}, &always_usable},
    {"dpdk", nullptr, {}, &always_usable},
};

std::string names_of(std::span<const sender_info> s) {
  std::string out;
  for (const auto& i : s) {
    if (!out.empty()) out += ", ";
    out += i.name;
  }
  return out;
}

}  // namespace

std::span<const engine_info> engines() noexcept {
  return all_engines;
}

const engine_info* find_engine(std::string_view name) noexcept {
  for (const auto& e : all_engines)
    if (e.name == name) return &e;
  return nullptr;
}

const sender_info* find_sender(const engine_info& e, std::string_view name) noexcept {
  for (const auto& s : e.senders)
    if (s.name == name) return &s;
  return nullptr;
}

std::string validate_backends(const config& cfg) {
  const engine_info* e = find_engine(cfg.io.engine);
  if (e == nullptr) {
    std::string built;
    for (const auto& i : all_engines) {
      if (i.make == nullptr) continue;
      if (!built.empty()) built += ", ";
      built += i.name;
    }
    return "io.engine = \"" + cfg.io.engine + "\": unknown engine (allowed: " + built + ")";
  }
  if (e->make == nullptr)
    return "io.engine = \"" + cfg.io.engine + "\": not compiled in (see --list-backends)";
  if (std::string why = e->probe(); !why.empty())
    return "io.engine = \"" + cfg.io.engine + "\": not usable here: " + why;
  if (find_sender(*e, cfg.io.sender) == nullptr)
    return "io.sender = \"" + cfg.io.sender + "\": not a sender of engine " + cfg.io.engine +
           " (allowed: " + names_of(e->senders) + ")";
  return "";
}

std::string list_backends() {
  std::string out;
  for (const auto& e : all_engines) {
    if (e.make == nullptr) {
      out += "- engine=" + std::string(e.name) + " sender=* (not compiled in)\n";
      continue;
    }
    std::string why = e.probe();
    for (const auto& s : e.senders) {
      if (why.empty())
        out += "+ engine=" + std::string(e.name) + " sender=" + std::string(s.name) + "\n";
      else
        out += "- engine=" + std::string(e.name) + " sender=" + std::string(s.name) + " (" + why +
               ")\n";
    }
  }
  return out;
}

}  // namespace zc
