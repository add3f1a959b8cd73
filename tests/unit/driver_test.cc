// The shared connection driver (backends/driver.hh), driven through a small
// port of its own over real loopback TCP sockets and a real handler and
// sender over a temporary document root. Every test checks what the driver
// decided, as seen from outside: the bytes the client receives, which wait
// it asked the port for, which deadline list the connection is on and until
// when, and whether the socket was released. Time is never read: each call
// is given its `now`, so a deadline is tested at its exact millisecond.

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "backends/conn_timers.hh"
#include "backends/driver.hh"
#include "backends/senders/kinds.hh"
#include "backends/senders/readiness.hh"
#include "backends/worker.hh"
#include "server/core/config.hh"
#include "server/sys/unique_fd.hh"

namespace zc {
namespace {

// Long enough for any socket on a loaded machine to deliver what was
// written: a bound on a hang, never a measurement.
constexpr int patience_ms = 10'000;

// Bytes that name their own offset: a misplaced block cannot look right.
std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i / 4096 * 131 + i * 7 + (i >> 13) + seed) & 0xff);
  return s;
}

enum class waiting : std::uint8_t { none, readable, writable };

struct test_conn : driver_conn {
  using driver_conn::driver_conn;
  sys::unique_fd fd;
  waiting wait = waiting::none;  // what the last drive() asked for
  bool blocked = false;          // wait_writable() said so, and no writability since
  bool linger_started = false;
  bool released = false;
};

class test_port;
using test_driver = conn_driver<test_port, test_conn>;

// The port contract of driver.hh, with each request recorded instead of
// handed to an event loop: the test itself plays the loop.
class test_port {
 public:
  test_driver* driver = nullptr;

  read_status receive(test_conn& c) {
    // As the real ports do, no input buffer is taken for a read that would
    // find nothing: an idle connection must hold none.
    pollfd p{c.fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) == 0) return read_status::again;
    for (;;) {
      const std::span<char> space = c.proto.read_space();
      const ssize_t n = ::recv(c.fd.get(), space.data(), space.size(), MSG_DONTWAIT);
      if (n > 0) {
        c.proto.commit(static_cast<std::size_t>(n));
        return read_status::data;
      }
      if (n == 0) return read_status::eof;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return read_status::again;
      return read_status::error;
    }
  }
  void wait_readable(test_conn& c) { c.wait = waiting::readable; }
  bool write_blocked(const test_conn& c) const { return c.blocked; }
  void wait_writable(test_conn& c) {
    c.wait = waiting::writable;
    c.blocked = true;
  }
  void deadline_set(test_conn& /*c*/) { ++deadlines_set; }
  void start_linger(test_conn& c) { c.linger_started = true; }
  void release(test_conn& c) {
    c.fd.reset();
    c.released = true;
    c.wait = waiting::none;
  }
  int sock(const test_conn& c) const { return c.fd.get(); }

  // What an engine does once a lingering socket is readable: drop what
  // came, and close at the peer's EOF.
  void linger_read(test_conn& c) {
    char sink[4096];
    for (;;) {
      const ssize_t n = ::recv(c.fd.get(), sink, sizeof sink, MSG_DONTWAIT);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      return driver->close(c);
    }
  }

  int deadlines_set = 0;
};

// Waits until `fd` has something for `events`; false after patience_ms.
bool await(int fd, short events) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int r = ::poll(&p, 1, patience_ms);
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

// The client's end: a loopback TCP socket with a small receive buffer, so
// that a large reply fills the path and the driver must wait.
class client {
 public:
  // Connects to a fresh listener and returns the accepted server side,
  // non-blocking, with a small send buffer.
  sys::unique_fd connect() {
    sys::unique_fd lst(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(lst.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(lst.get(), 1) != 0 ||
        ::getsockname(lst.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
      std::abort();
    fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const int small = 16 * 1024;
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::abort();
    sys::unique_fd server(::accept4(lst.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!server) std::abort();
    ::setsockopt(server.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    server_ = server.get();
    return server;
  }

  // Writes `bytes` and waits until the server side can read them, as an
  // engine waits for readiness before it drives.
  void send(std::string_view bytes) {
    ASSERT_EQ(::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
    ASSERT_TRUE(await(server_, POLLIN));
  }
  void shut_write() {
    ASSERT_EQ(::shutdown(fd_.get(), SHUT_WR), 0);
    ASSERT_TRUE(await(server_, POLLIN));
  }

  // Reads what is there, at most `max` bytes, waiting for at least one.
  // 0 at EOF (or after patience_ms with nothing).
  std::size_t read_some(std::size_t max) {
    if (!await(fd_.get(), POLLIN)) return 0;
    std::string buf(max, '\0');
    const ssize_t n = ::recv(fd_.get(), buf.data(), max, 0);
    if (n <= 0) return 0;
    got_.append(buf.data(), static_cast<std::size_t>(n));
    return static_cast<std::size_t>(n);
  }
  // Everything until the server's EOF.
  void read_to_eof() {
    while (read_some(65536) > 0) {
    }
  }
  // True if the server has closed its side and nothing more is unread.
  bool at_eof() {
    if (!await(fd_.get(), POLLIN)) return false;
    char b;
    return ::recv(fd_.get(), &b, 1, MSG_PEEK) == 0;
  }

  struct http_reply {
    std::string head;
    int status = 0;
    std::uint64_t content_length = 0;
    std::string body;
  };
  // One whole reply (head, then Content-Length body bytes) from what was
  // received, reading more as needed; what follows it stays for the next.
  http_reply next_reply() {
    http_reply r;
    std::size_t end;
    while ((end = got_.find("\r\n\r\n")) == std::string::npos)
      if (read_some(65536) == 0) {
        ADD_FAILURE() << "no whole head; received: " << got_;
        return r;
      }
    r.head = got_.substr(0, end + 4);
    r.status = std::atoi(r.head.c_str() + 9);
    const std::size_t cl = r.head.find("\r\nContent-Length: ");
    if (cl != std::string::npos)
      r.content_length = std::strtoull(r.head.c_str() + cl + 18, nullptr, 10);
    while (got_.size() < r.head.size() + r.content_length)
      if (read_some(65536) == 0) break;
    r.body = got_.substr(r.head.size(), r.content_length);
    got_.erase(0, r.head.size() + r.body.size());
    return r;
  }

  std::string& received() { return got_; }
  int fd() const { return fd_.get(); }

 private:
  sys::unique_fd fd_;
  int server_ = -1;  // owned by the connection under test
  std::string got_;  // received, not yet taken as a reply
};

std::string get(std::string_view path, std::string_view extra = "") {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra) + "\r\n";
}

class Driver : public ::testing::TestWithParam<sender_kind> {
 protected:
  static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }

  void SetUp() override {
    char tmpl[] = "/tmp/zc-driver-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    small_ = pattern(1000, 1);
    other_ = pattern(777, 2);
    big_ = pattern(2 * 1024 * 1024 + 13, 3);
    write_file("small.txt", small_);
    write_file("other.txt", other_);
    write_file("big.bin", big_);
    root_.reset(::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_);
    cfg_.io.chunk_bytes = 64 * 1024;  // several steps per large reply
    worker_context ctx;
    ctx.cfg = &cfg_;
    ctx.root_fd = root_.get();
    files_ = std::make_unique<worker_files>(ctx);
    sender_ = make_readiness_sender(GetParam(), cfg_);
    ASSERT_NE(sender_, nullptr);
    driver_ = std::make_unique<test_driver>(0, cfg_, files_->http, *sender_, port_);
    port_.driver = driver_.get();
  }

  void TearDown() override {
    if (driver_) driver_->close_all();
    driver_.reset();
    sender_.reset();
    files_.reset();
    for (const char* f : {"small.txt", "other.txt", "big.bin"}) ::unlink((dir_ + "/" + f).c_str());
    ::rmdir(dir_.c_str());
  }

  void write_file(const char* name, const std::string& bytes) {
    sys::unique_fd fd(
        ::open((dir_ + "/" + name).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    ASSERT_EQ(::write(fd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }

  // A connection accepted at `now`, its socket attached as an engine does.
  test_conn* open(client& cl, std::int64_t now) {
    test_conn* c = driver_->open(sockaddr_storage{}, now);
    if (c == nullptr) return nullptr;
    c->fd = cl.connect();
    c->wait = waiting::none;
    c->blocked = c->linger_started = c->released = false;
    return c;
  }

  // A connection accepted at 1000 that sent `request`, driven at `now`.
  // nullptr, and the test fails, when the driver refused it.
  test_conn* open_and_send(client& cl, std::string_view request, std::int64_t now) {
    test_conn* c = open(cl, 1000);
    if (c == nullptr) {
      ADD_FAILURE() << "the driver refused the connection";
      return nullptr;
    }
    cl.send(request);
    drive(*c, now);
    return c;
  }
  // One whose reply to GET /big.bin (with `extra` fields) filled the
  // socket at 1000: the driver waits for writability. nullptr, and the
  // test fails, if it does not.
  test_conn* stalled_on_big_reply(client& cl, std::string_view extra = "") {
    test_conn* c = open_and_send(cl, get("/big.bin", extra), 1000);
    if (c != nullptr && c->wait != waiting::writable) {
      ADD_FAILURE() << "the reply did not fill the socket: the test proves nothing";
      return nullptr;
    }
    return c;
  }

  // `c` is still open a millisecond before `deadline`; at it, it is closed,
  // its socket released, and no connection is left.
  ::testing::AssertionResult closes_exactly_at(const test_conn& c, std::int64_t deadline) {
    driver_->expire(deadline - 1);
    if (c.released) return ::testing::AssertionFailure() << "closed before " << deadline;
    driver_->expire(deadline);
    if (!c.released) return ::testing::AssertionFailure() << "still open at " << deadline;
    if (driver_->live() != 0)
      return ::testing::AssertionFailure() << driver_->live() << " connection(s) left";
    return ::testing::AssertionSuccess();
  }

  // One readiness report: what the driver asks for is recorded afresh.
  void drive(test_conn& c, std::int64_t now) {
    c.wait = waiting::none;
    driver_->drive(c, now);
  }
  // The socket became writable again (EPOLLOUT, Asio's wait_write).
  void writable(test_conn& c, std::int64_t now) {
    c.blocked = false;
    drive(c, now);
  }

  // Reads a little at a time and reports the socket writable each time,
  // `step` ms apart, until the reply in flight is out (or the connection
  // closed). Each wait must have re-armed the send deadline from its own
  // `now` when bytes moved: progress is what the send timeout measures.
  // Returns the waits.
  int pump(client& cl, test_conn& c, std::int64_t& now, std::int64_t step = 10) {
    int waits = 0;
    while (c.wait == waiting::writable && !c.released && waits < 100'000) {
      ++waits;
      if (cl.read_some(7919) == 0) {
        ADD_FAILURE() << "the client got nothing while the reply waited";
        break;
      }
      now += step;
      const std::uint64_t before = c.proto.current().progress();
      const std::int64_t deadline = c.deadline_ms;
      writable(c, now);
      // The send deadline runs from the last progress: a wake-up that
      // moved nothing (the client's read freed too little room) leaves it.
      if (c.wait == waiting::writable)
        expect_on(c, conn_timers::send,
                  c.proto.current().progress() != before ? now + send_ms() : deadline);
    }
    return waits;
  }

  static void expect_on(const test_conn& c, conn_timers::kind k, std::int64_t deadline) {
    EXPECT_EQ(c.list, static_cast<int>(k));
    EXPECT_EQ(c.deadline_ms, deadline);
  }

  std::int64_t header_ms() const { return cfg_.server.header_timeout.count(); }
  std::int64_t idle_ms() const { return cfg_.server.idle_timeout.count(); }
  std::int64_t send_ms() const { return cfg_.server.send_timeout.count(); }

  std::string dir_;
  std::string small_, other_, big_;
  sys::unique_fd root_;
  config cfg_;
  std::unique_ptr<worker_files> files_;
  std::unique_ptr<sender> sender_;
  test_port port_;
  std::unique_ptr<test_driver> driver_;
};

// 1. A whole request is answered at once; the connection then waits for
// the next on the idle deadline, holding no buffer, and serves it.
TEST_P(Driver, AWholeGetIsAnsweredThenTheConnectionIdles) {
  client cl;
  test_conn* c = open(cl, 1000);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(driver_->live(), 1u);
  expect_on(*c, conn_timers::header, 1000 + header_ms());

  cl.send(get("/small.txt"));
  drive(*c, 1100);
  const auto r = cl.next_reply();
  EXPECT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(r.content_length, small_.size());
  EXPECT_TRUE(r.body == small_);
  EXPECT_EQ(c->wait, waiting::readable);
  expect_on(*c, conn_timers::idle, 1100 + idle_ms());
  EXPECT_EQ(c->proto.buffer_capacity(), 0u) << "an idle connection holds no input buffer";
  EXPECT_FALSE(c->released);

  cl.send(get("/other.txt"));
  drive(*c, 5000);
  const auto r2 = cl.next_reply();
  EXPECT_EQ(r2.status, 200) << r2.head;
  EXPECT_TRUE(r2.body == other_);
  EXPECT_EQ(c->wait, waiting::readable);
  expect_on(*c, conn_timers::idle, 5000 + idle_ms());
  EXPECT_TRUE(cl.received().empty()) << "bytes beyond the two replies";

  // The idle deadline is exact, and closing there releases the socket.
  EXPECT_TRUE(closes_exactly_at(*c, 5000 + idle_ms()));
  EXPECT_TRUE(cl.at_eof());
}

// 2. Slowloris: the header deadline runs from the accept, and bytes
// trickling in never push it back.
TEST_P(Driver, AHeadTrickledInKeepsTheDeadlineOfItsFirstByte) {
  client cl;
  test_conn* c = open(cl, 1000);
  ASSERT_NE(c, nullptr);
  const std::int64_t deadline = 1000 + header_ms();
  const std::string head = get("/small.txt", "X-Slow: 1\r\n");
  std::int64_t now = 1000;
  for (std::size_t i = 0; i + 1 < head.size(); i += 7) {
    cl.send(std::string_view(head).substr(i, std::min<std::size_t>(7, head.size() - 1 - i)));
    now += 300;
    drive(*c, now);
    EXPECT_EQ(c->wait, waiting::readable);
    expect_on(*c, conn_timers::header, deadline);
  }
  ASSERT_LT(now, deadline) << "the head must be trickled within the deadline";
  EXPECT_TRUE(closes_exactly_at(*c, deadline));
  EXPECT_TRUE(cl.at_eof());
  EXPECT_TRUE(cl.received().empty()) << "no reply to a head that never ended";
}

// 2b. On a keep-alive connection, the header deadline of the next request
// starts at its first byte, and holds from there.
TEST_P(Driver, TheNextHeadGetsItsOwnDeadlineFromItsFirstByte) {
  client cl;
  test_conn* c = open_and_send(cl, get("/small.txt"), 1000);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(cl.next_reply().status, 200);
  expect_on(*c, conn_timers::idle, 1000 + idle_ms());

  cl.send("GET /other.txt HTTP/1.1\r\n");
  drive(*c, 30'000);
  expect_on(*c, conn_timers::header, 30'000 + header_ms());
  cl.send("Host: test\r\n");
  drive(*c, 35'000);
  expect_on(*c, conn_timers::header, 30'000 + header_ms());
  cl.send("\r\n");
  drive(*c, 36'000);
  const auto r = cl.next_reply();
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == other_);
  expect_on(*c, conn_timers::idle, 36'000 + idle_ms());
}

// 3. Requests pipelined in one write are answered in order, and a partial
// third one waits on its header deadline.
TEST_P(Driver, PipelinedRequestsAreAnsweredInOrder) {
  client cl;
  test_conn* c = open_and_send(cl, get("/small.txt") + get("/other.txt") + "GET /sm", 2000);
  ASSERT_NE(c, nullptr);
  const auto r1 = cl.next_reply();
  const auto r2 = cl.next_reply();
  EXPECT_EQ(r1.status, 200);
  EXPECT_TRUE(r1.body == small_);
  EXPECT_EQ(r2.status, 200);
  EXPECT_TRUE(r2.body == other_);
  EXPECT_EQ(c->wait, waiting::readable);
  expect_on(*c, conn_timers::header, 2000 + header_ms());

  cl.send("all.txt HTTP/1.1\r\nHost: test\r\n\r\n");
  drive(*c, 2500);
  const auto r3 = cl.next_reply();
  EXPECT_EQ(r3.status, 200);
  EXPECT_TRUE(r3.body == small_);
  expect_on(*c, conn_timers::idle, 2500 + idle_ms());
}

// 4. A reply larger than what the socket takes waits for writability on
// the send deadline, re-armed by each bit of progress, and resumes at
// exactly the next byte.
TEST_P(Driver, ALargeReplyWaitsForTheSocketAndResumesAtTheNextByte) {
  client cl;
  test_conn* c = stalled_on_big_reply(cl);
  ASSERT_NE(c, nullptr);
  expect_on(*c, conn_timers::send, 1000 + send_ms());

  // A report while the socket is still known full changes nothing: no
  // send, no deadline moved, no new wait (the one asked for still holds).
  const int armed = port_.deadlines_set;
  driver_->drive(*c, 1005);
  EXPECT_EQ(c->wait, waiting::writable);
  expect_on(*c, conn_timers::send, 1000 + send_ms());
  EXPECT_EQ(port_.deadlines_set, armed);

  std::int64_t now = 1000;
  const int waits = pump(cl, *c, now);
  EXPECT_GT(waits, 10) << "the socket never filled: the test proved nothing";
  EXPECT_FALSE(c->released);
  EXPECT_EQ(c->wait, waiting::readable);
  expect_on(*c, conn_timers::idle, now + idle_ms());

  const auto r = cl.next_reply();
  EXPECT_EQ(r.status, 200) << r.head;
  ASSERT_EQ(r.content_length, big_.size());
  ASSERT_EQ(r.body.size(), big_.size());
  std::size_t first_wrong = 0;
  while (first_wrong < big_.size() && r.body[first_wrong] == big_[first_wrong]) ++first_wrong;
  EXPECT_EQ(first_wrong, big_.size()) << "the body differs from the file at this offset";
  EXPECT_TRUE(cl.received().empty());

  // Still keep-alive: the next request is served.
  cl.send(get("/small.txt"));
  drive(*c, now + 1);
  EXPECT_TRUE(cl.next_reply().body == small_);
}

// 4b. A client that stops reading is cut at the send deadline.
TEST_P(Driver, AReplyThatMakesNoProgressClosesAtTheSendDeadline) {
  client cl;
  test_conn* c = stalled_on_big_reply(cl);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(closes_exactly_at(*c, 1000 + send_ms()));
}

// 5. Connection: close on a request read in full: the reply, then the
// socket goes at once (nothing unread, so no reset can hurt the reply).
TEST_P(Driver, ConnectionCloseEndsTheConnectionAfterTheReply) {
  client cl;
  test_conn* c = open_and_send(cl, get("/small.txt", "Connection: close\r\n"), 1000);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->released);
  EXPECT_FALSE(c->linger_started);
  EXPECT_EQ(driver_->live(), 0u);
  const auto r = cl.next_reply();
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.head.find("Connection: close\r\n"), std::string::npos) << r.head;
  EXPECT_TRUE(r.body == small_);
  EXPECT_TRUE(cl.at_eof());
}

// 5a. ... but if the peer sent more while that reply was in flight, the
// close lingers: FIN after the whole reply, on the linger deadline.
TEST_P(Driver, ACloseWithInputBehindTheReplyLingers) {
  client cl;
  test_conn* c = stalled_on_big_reply(cl, "Connection: close\r\n");
  ASSERT_NE(c, nullptr);
  cl.send(get("/small.txt"));
  std::int64_t now = 1000;
  pump(cl, *c, now);
  EXPECT_FALSE(c->released);
  EXPECT_TRUE(c->linger_started);
  expect_on(*c, conn_timers::linger, now + conn_timers::linger_ms);
  cl.read_to_eof();  // ends at the server's FIN
  const auto r = cl.next_reply();
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == big_);
  EXPECT_TRUE(cl.received().empty());
  driver_->expire(now + conn_timers::linger_ms);
  EXPECT_TRUE(c->released);
  EXPECT_EQ(driver_->live(), 0u);
}

// 5b. An error reply to a request that could not be read: FIN after the
// reply, then what the peer still sends is dropped until its EOF.
TEST_P(Driver, AnErrorReplyLingersUntilThePeerCloses) {
  client cl;
  test_conn* c = open_and_send(cl, get("/small.txt", "NoColonHere\r\n"), 3000);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->linger_started);
  EXPECT_TRUE(c->lingering);
  EXPECT_FALSE(c->released);
  expect_on(*c, conn_timers::linger, 3000 + conn_timers::linger_ms);
  const auto r = cl.next_reply();
  EXPECT_EQ(r.status, 400) << r.head;
  EXPECT_NE(r.head.find("Connection: close\r\n"), std::string::npos) << r.head;
  EXPECT_TRUE(cl.at_eof()) << "the reply must be followed by the server's FIN";

  cl.send("more bytes the server will never parse");
  port_.linger_read(*c);
  EXPECT_FALSE(c->released);
  cl.shut_write();
  port_.linger_read(*c);
  EXPECT_TRUE(c->released);
  EXPECT_EQ(driver_->live(), 0u);
}

// 5c. ... or until the linger deadline.
TEST_P(Driver, ALingerEndsAtItsDeadline) {
  client cl;
  test_conn* c = open_and_send(cl, get("/small.txt", "NoColonHere\r\n"), 3000);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->lingering);
  EXPECT_TRUE(closes_exactly_at(*c, 3000 + conn_timers::linger_ms));
}

// 6. The peer's EOF in the middle of a head: no reply, the socket goes.
TEST_P(Driver, PeerEofMidRequestCloses) {
  client cl;
  test_conn* c = open_and_send(cl, "GET /small.txt HTTP/1.1\r\nHo", 1100);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->wait, waiting::readable);
  cl.shut_write();
  drive(*c, 1200);
  EXPECT_TRUE(c->released);
  EXPECT_EQ(driver_->live(), 0u);
  EXPECT_TRUE(cl.at_eof());
  EXPECT_TRUE(cl.received().empty());
}

// 7. server.max_connections: over it open() refuses; a close makes room,
// and the object handed out again serves as new.
TEST_P(Driver, TheConnectionLimitRefusesAndRecovers) {
  cfg_.server.max_connections = 2;
  client a, b, d;
  test_conn* ca = open(a, 1000);
  test_conn* cb = open(b, 1000);
  ASSERT_NE(ca, nullptr);
  ASSERT_NE(cb, nullptr);
  EXPECT_EQ(driver_->live(), 2u);
  EXPECT_EQ(driver_->open(sockaddr_storage{}, 1000), nullptr);
  EXPECT_EQ(driver_->live(), 2u);

  a.send(get("/small.txt"));
  drive(*ca, 1100);
  EXPECT_EQ(a.next_reply().status, 200);
  driver_->close(*ca);
  EXPECT_TRUE(ca->released);
  EXPECT_EQ(driver_->live(), 1u);
  EXPECT_TRUE(a.at_eof());

  test_conn* cd = open(d, 2000);
  ASSERT_NE(cd, nullptr);
  EXPECT_EQ(driver_->live(), 2u);
  // A fresh connection, whatever object it is: the header deadline, not
  // the idle one its object had before.
  expect_on(*cd, conn_timers::header, 2000 + header_ms());
  d.send(get("/other.txt"));
  drive(*cd, 2200);
  EXPECT_TRUE(d.next_reply().body == other_);
  EXPECT_EQ(driver_->open(sockaddr_storage{}, 2300), nullptr);

  // An object whose socket could not be set up goes back without a
  // release: there is no socket to close.
  driver_->close(*cb);
  test_conn* ce = driver_->open(sockaddr_storage{}, 2400);
  ASSERT_NE(ce, nullptr);
  EXPECT_EQ(driver_->live(), 2u);
  ce->released = false;
  driver_->abandon(*ce);
  EXPECT_FALSE(ce->released);
  EXPECT_EQ(driver_->live(), 1u);
  EXPECT_EQ(ce->list, -1) << "an abandoned object keeps no deadline";
}

// 8. A drain closes the idle at once, lets a reply in flight finish and
// then closes it, reads a half-received request to its end and answers it
// with a close (as nginx does); drained() follows.
TEST_P(Driver, ADrainClosesIdleConnectionsAndFinishesRepliesInFlight) {
  client idle, busy, partial;
  test_conn* ci = open(idle, 1000);
  test_conn* cb = open(busy, 1000);
  test_conn* cp = open(partial, 1000);
  ASSERT_TRUE(ci && cb && cp);
  idle.send(get("/small.txt"));
  drive(*ci, 1000);
  EXPECT_EQ(idle.next_reply().status, 200);
  busy.send(get("/big.bin"));
  drive(*cb, 1000);
  ASSERT_EQ(cb->wait, waiting::writable);
  partial.send("GET /sma");
  drive(*cp, 1000);

  driver_->begin_drain(5000);
  EXPECT_TRUE(driver_->draining());
  EXPECT_TRUE(ci->released);
  EXPECT_FALSE(cp->released) << "a request half-received is finished, not dropped";
  EXPECT_FALSE(cb->released);
  EXPECT_EQ(driver_->live(), 2u);
  EXPECT_TRUE(idle.at_eof());
  partial.send("ll.txt HTTP/1.1\r\nHost: t\r\n\r\n");
  drive(*cp, 5000);
  EXPECT_TRUE(cp->released) << "its reply was the connection's last";
  partial.read_to_eof();
  const auto pr = partial.next_reply();
  EXPECT_EQ(pr.status, 200);
  EXPECT_TRUE(pr.body == small_);
  EXPECT_NE(pr.head.find("Connection: close"), std::string::npos) << pr.head;
  EXPECT_EQ(driver_->live(), 1u);
  const std::int64_t end = 5000 + cfg_.server.shutdown_timeout.count();
  EXPECT_EQ(driver_->drain_deadline(), end);
  EXPECT_LE(driver_->next_deadline(), end);
  EXPECT_FALSE(driver_->drained(end - 1));
  EXPECT_TRUE(driver_->drained(end)) << "the drain's time is up, replies or not";

  std::int64_t now = 5000;
  pump(busy, *cb, now);
  EXPECT_TRUE(cb->released) << "the reply in flight was the connection's last";
  EXPECT_TRUE(driver_->drained(now));
  busy.read_to_eof();
  const auto r = busy.next_reply();
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == big_) << "the reply in flight was cut or altered";
}

// 8b. A keep-alive client may have sent its next request while the last
// reply was in flight. Closing with that input unread would make the
// kernel answer with RST and drop the reply's tail still queued to send:
// the close after the drain's last reply must linger instead.
TEST_P(Driver, ADrainWithInputPipelinedBehindTheLastReplyLosesNoByte) {
  client cl;
  test_conn* c = stalled_on_big_reply(cl);
  ASSERT_NE(c, nullptr);
  cl.send(get("/small.txt"));  // unread by the server: a reply is in flight

  driver_->begin_drain(2000);
  EXPECT_FALSE(c->released);
  std::int64_t now = 2000;
  pump(cl, *c, now);
  EXPECT_FALSE(c->released) << "closed with input unread: the kernel resets the reply";
  EXPECT_TRUE(c->lingering);
  cl.read_to_eof();
  const auto r = cl.next_reply();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), big_.size());
  EXPECT_TRUE(r.body == big_) << "the reply in flight was cut or altered";
  EXPECT_TRUE(cl.received().empty()) << "the pipelined request was answered during a drain";
  if (!c->released) {
    cl.shut_write();
    port_.linger_read(*c);
  }
  EXPECT_TRUE(c->released);
  EXPECT_TRUE(driver_->drained(now));
}

// 9. A file that shrinks while its reply waits on a full socket: the
// connection closes, and the client sees a prefix of the reply, never a
// byte that is not the file's.
TEST_P(Driver, AFileThatShrinksMidReplyClosesWithoutWrongBytes) {
  client cl;
  test_conn* c = stalled_on_big_reply(cl);
  ASSERT_NE(c, nullptr);
  const std::size_t keep = big_.size() / 2;
  ASSERT_EQ(::truncate((dir_ + "/big.bin").c_str(), static_cast<off_t>(keep)), 0);

  std::int64_t now = 1000;
  pump(cl, *c, now);
  EXPECT_TRUE(c->released);
  EXPECT_EQ(driver_->live(), 0u);
  cl.read_to_eof();
  const std::string& got = cl.received();
  const std::size_t head_end = got.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  EXPECT_EQ(got.compare(0, 15, "HTTP/1.1 200 OK"), 0);
  EXPECT_NE(got.find("\r\nContent-Length: " + std::to_string(big_.size()) + "\r\n"),
            std::string::npos);
  const std::size_t body = got.size() - (head_end + 4);
  EXPECT_LT(body, big_.size());
  EXPECT_LE(body, keep) << "bytes past the file's new end";
  EXPECT_TRUE(got.compare(head_end + 4, body, big_, 0, body) == 0)
      << "the body is not a prefix of the file";
}

// Every sender the readiness engines drive, from the one table.
std::vector<sender_kind> readiness_kinds() {
  std::vector<sender_kind> out;
  for (const sender_traits& t : all_senders())
    if (has(t.families, engine_family::readiness)) out.push_back(t.kind);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Senders, Driver, ::testing::ValuesIn(readiness_kinds()),
                         [](const ::testing::TestParamInfo<sender_kind>& p) {
                           return std::string(sender_name(p.param));
                         });

}  // namespace
}  // namespace zc
