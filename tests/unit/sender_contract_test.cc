// One contract, every readiness sender (backends/senders/): a reply sent
// through a socket that takes a few kilobytes at a time arrives whole and
// exactly once, resumed at the very next byte after each short write; a
// file that shrinks under its reply is reported as ended, never padded or
// sent with wrong bytes; each sender makes only the calls its anatomy says.

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/senders/readiness.hh"
#include "server/core/config.hh"
#include "server/core/file_cache.hh"
#include "server/sys/counted.hh"
#include "server/sys/unique_fd.hh"

namespace zc {
namespace {

constexpr std::size_t file_size = 3 * 1024 * 1024 + 17;

// Bytes that name their own offset: a misplaced block cannot look right.
std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i / 4096 * 131 + i * 7 + (i >> 13)) & 0xff);
  return s;
}

// A connected loopback TCP pair with a small send buffer on the server
// side, so that a reply takes many calls and many short writes.
struct tcp_pair {
  sys::unique_fd server, client;
  tcp_pair() {
    sys::unique_fd lst(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(lst.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(lst.get(), 1) != 0 ||
        ::getsockname(lst.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
      std::abort();
    client.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const int small = 16 * 1024;
    ::setsockopt(client.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    if (::connect(client.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::abort();
    server.reset(::accept4(lst.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    ::setsockopt(server.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  }
  // Reads up to `n` bytes the peer has (waits for at least one).
  std::size_t drain(std::string& into, std::size_t n) {
    std::string buf(n, '\0');
    const ssize_t got = ::recv(client.get(), buf.data(), n, 0);
    if (got <= 0) return 0;
    into.append(buf.data(), static_cast<std::size_t>(got));
    return static_cast<std::size_t>(got);
  }
  // Everything still in flight, once the sender is done.
  void drain_rest(std::string& into) {
    ::shutdown(server.get(), SHUT_WR);
    while (drain(into, 65536) > 0) {
    }
  }
};

class SenderContract : public ::testing::TestWithParam<sender_kind> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/zc-sender-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    content_ = pattern(file_size);
    write_file(content_);
    root_.reset(::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    cache_ = std::make_unique<file_cache>(root_.get(), 16, 0);
    cfg_.io.chunk_bytes = 64 * 1024;  // several chunks per reply
    sender_ = make_readiness_sender(GetParam(), cfg_);
    ASSERT_NE(sender_, nullptr);
  }
  void TearDown() override {
    sender_.reset();
    cache_.reset();
    ::unlink((dir_ + "/f").c_str());
    ::rmdir(dir_.c_str());
  }
  void write_file(const std::string& bytes) {
    sys::unique_fd fd(
        ::open((dir_ + "/f").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    ASSERT_EQ(::write(fd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  void prepare(reply& r, std::uint64_t offset, std::uint64_t length) {
    lookup_result found = cache_->lookup("f", 0);
    ASSERT_EQ(found.status, 0);
    r.status = 200;
    r.head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(length) + "\r\n\r\n";
    r.body = body_kind::file;
    r.file = found.file;
    r.offset = offset;
    r.length = length;
  }
  // Calls send() until it is done or fails, reading an odd amount from the
  // peer whenever the socket is full. Returns the final result.
  send_result pump(tcp_pair& p, reply& r, std::string& got, int* again_count) {
    for (;;) {
      const send_result res = sender_->send(p.server.get(), r, state_);
      if (res.status != send_status::again) return res;
      ++*again_count;
      p.drain(got, 7919);
    }
  }

  std::string dir_;
  std::string content_;
  sys::unique_fd root_;
  std::unique_ptr<file_cache> cache_;
  config cfg_;
  std::unique_ptr<sender> sender_;
  send_state state_;  // the connection's: splice's pipe
};

TEST_P(SenderContract, AReplyArrivesWholeThroughManyShortWrites) {
  tcp_pair p;
  reply r;
  const std::uint64_t offset = 4096 * 3 + 5, length = file_size - offset - 11;
  prepare(r, offset, length);
  std::string got;
  int agains = 0;
  const send_result res = pump(p, r, got, &agains);
  ASSERT_EQ(res.status, send_status::done) << res.op << ": " << res.err;
  EXPECT_TRUE(r.done());
  EXPECT_GT(agains, 10) << "the socket never filled: the test proved nothing";
  sender_->release(state_);
  p.drain_rest(got);
  ASSERT_EQ(got.size(), r.head.size() + length);
  EXPECT_EQ(got.substr(0, r.head.size()), r.head);
  EXPECT_TRUE(got.compare(r.head.size(), length, content_, offset, length) == 0)
      << "body bytes differ from the file's range";
}

TEST_P(SenderContract, AMemoryBodyGoesWithItsHead) {
  tcp_pair p;
  reply r;
  static const std::string page(100'000, 'x');
  r.status = 404;
  r.head = "HTTP/1.1 404 Not Found\r\nContent-Length: 100000\r\n\r\n";
  r.body = body_kind::memory;
  r.memory = page;
  r.length = page.size();
  std::string got;
  int agains = 0;
  ASSERT_EQ(pump(p, r, got, &agains).status, send_status::done);
  p.drain_rest(got);
  EXPECT_EQ(got, r.head + page);
}

TEST_P(SenderContract, AFileThatShrinksIsReportedAsEndedNeverPadded) {
  tcp_pair p;
  reply r;
  prepare(r, 0, file_size);
  std::string got;
  int agains = 0;
  // The first part of the reply goes out; then the file loses its tail.
  const send_result first = sender_->send(p.server.get(), r, state_);
  ASSERT_EQ(first.status, send_status::again);
  const std::size_t keep = file_size / 2;
  ASSERT_EQ(::truncate((dir_ + "/f").c_str(), static_cast<off_t>(keep)), 0);
  const send_result res = pump(p, r, got, &agains);
  EXPECT_EQ(res.status, send_status::failed);
  EXPECT_EQ(res.err, 0) << "a shrunk file is 'ended' (err 0), not an error: " << res.op;
  sender_->release(state_);
  p.drain_rest(got);
  // Whatever left is a prefix of the reply, and no byte past the new end.
  ASSERT_GE(got.size(), r.head.size());
  const std::size_t body = got.size() - r.head.size();
  EXPECT_LE(body, keep);
  EXPECT_TRUE(got.compare(r.head.size(), body, content_, 0, body) == 0);
}

// The calls each sender's anatomy (docs/backends/epoll.md) allows on the
// serving path, and the one it must make.
const std::map<sender_kind, std::pair<std::vector<sys::call>, sys::call>> anatomy = {
    {sender_kind::read_write,
     {{sys::call::pread, sys::call::write, sys::call::send}, sys::call::pread}},
    {sender_kind::readv_writev, {{sys::call::pread, sys::call::writev}, sys::call::writev}},
    {sender_kind::mmap,
     {{sys::call::mmap, sys::call::munmap, sys::call::writev, sys::call::fstat},
      sys::call::writev}},
    {sender_kind::sendfile, {{sys::call::send, sys::call::sendfile}, sys::call::sendfile}},
    {sender_kind::splice,
     {{sys::call::send, sys::call::splice, sys::call::pipe2, sys::call::fcntl, sys::call::close},
      sys::call::splice}},
};

TEST_P(SenderContract, MakesOnlyTheCallsItsAnatomySays) {
  tcp_pair p;
  reply r;
  prepare(r, 0, file_size);
  const auto& [allowed, must] = anatomy.at(GetParam());
  const sys::thread_counters& c = sys::counters();
  std::array<std::uint64_t, sys::call_count> before{};
  for (std::size_t i = 0; i < sys::call_count; ++i) before[i] = c.calls[i].get();
  const std::uint64_t copied_before = c.body_copied.get();
  std::string got;
  int agains = 0;
  ASSERT_EQ(pump(p, r, got, &agains).status, send_status::done);
  sender_->release(state_);
  for (std::size_t i = 0; i < sys::call_count; ++i) {
    const auto call = static_cast<sys::call>(i);
    const std::uint64_t n = c.calls[i].get() - before[i];
    if (std::find(allowed.begin(), allowed.end(), call) == allowed.end()) {
      EXPECT_EQ(n, 0u) << sender_name(GetParam()) << " made " << n << " " << sys::call_name(call)
                       << " calls";
    }
  }
  EXPECT_GT(c.calls[static_cast<std::size_t>(must)].get(), before[static_cast<std::size_t>(must)]);
  // Body bytes copied between user and kernel memory, as many times as
  // kinds.def says: into the staging buffer and out of it for the copying
  // senders, out of the mapping for mmap, none for the zero-copy ones.
  const std::uint64_t copied = c.body_copied.get() - copied_before;
  EXPECT_EQ(copied, traits(GetParam()).copies * file_size);
}

}  // namespace

// As the names were printed when the parameter was a string, so the tests
// keep their names.
void PrintTo(sender_kind k, std::ostream* os) {
  *os << '"' << sender_name(k) << '"';
}

namespace {

// Every sender kinds.def gives the readiness family, in its order.
std::vector<sender_kind> readiness_kinds() {
  std::vector<sender_kind> out;
  for (const sender_traits& t : all_senders())
    if (has(t.families, engine_family::readiness)) out.push_back(t.kind);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Readiness, SenderContract, ::testing::ValuesIn(readiness_kinds()));

}  // namespace
}  // namespace zc
