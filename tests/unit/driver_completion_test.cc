// The connection driver (backends/driver.hh) with a completion port, as
// io_uring is one: a send that is in flight, its outcome reported later,
// and a close that waits until no operation names the connection.

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "backends/driver.hh"
#include "server/core/file_cache.hh"

namespace zc {
namespace {

struct test_conn : driver_conn {
  using driver_conn::driver_conn;
  std::string input;  // what the "kernel" received and the driver has not taken
};

struct test_sender {
  int released = 0;
  void release(send_state&) noexcept { ++released; }
};

// Records what the driver asks; a reply goes out in one step, in flight
// until complete().
struct test_port {
  static constexpr bool completion = true;
  int sends = 0;
  int readable_waits = 0;
  std::vector<test_conn*> released;

  read_status receive(test_conn& c) {
    if (c.input.empty()) return read_status::again;
    const std::span<char> space = c.proto.read_space();
    const std::size_t n = std::min(space.size(), c.input.size());
    std::memcpy(space.data(), c.input.data(), n);
    c.proto.commit(n);
    c.input.erase(0, n);
    return read_status::data;
  }
  void wait_readable(test_conn&) { ++readable_waits; }
  bool write_blocked(const test_conn&) const noexcept { return in_flight; }
  void wait_writable(test_conn&) { ADD_FAILURE() << "a completion port never waits for output"; }
  void deadline_set(test_conn&) {}
  send_result send(test_conn&, reply&) {
    ++sends;
    if (step_done) {  // what was in flight was the reply's last step
      step_done = false;
      return {send_status::done, 0, {}};
    }
    in_flight = true;
    return {send_status::in_flight, 0, {}};
  }
  bool shutdown_write(test_conn&) { return true; }
  void start_linger(test_conn&) {}
  void release(test_conn& c) { released.push_back(&c); }

  // The step's operations completed (what an engine learns from its ring).
  void complete() {
    in_flight = false;
    step_done = true;
  }
  bool in_flight = false;
  bool step_done = false;
};

class DriverCompletion : public ::testing::Test {
 protected:
  DriverCompletion()
      : root_(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)),
        cache_(root_, 16, 1000),
        handler_(cfg_, cache_),
        driver_(0, cfg_, handler_, sender_, port_) {}
  ~DriverCompletion() override {
    driver_.close_all();
    for (test_conn* c : port_.released) driver_.finished(*c);
    ::close(root_);
  }

  test_conn& open(std::string request) {
    test_conn* c = driver_.open(sockaddr_storage{}, 0);
    EXPECT_NE(c, nullptr);
    c->input = std::move(request);
    return *c;
  }

  config cfg_;
  int root_;
  file_cache cache_;
  handler handler_;
  test_sender sender_;
  test_port port_;
  conn_driver<test_port, test_conn, test_sender> driver_;
};

constexpr std::string_view get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

TEST_F(DriverCompletion, AnInFlightSendWaitsForItsOutcomeWithTheSendDeadline) {
  test_conn& c = open(std::string(get) + std::string(get));
  driver_.drive(c, 0);
  EXPECT_EQ(port_.sends, 1);
  EXPECT_TRUE(c.proto.replying());
  EXPECT_EQ(c.list, conn_timers::send);
  // Input arriving meanwhile moves nothing while the step is in flight.
  driver_.drive(c, 1);
  EXPECT_EQ(port_.sends, 1);
  EXPECT_EQ(c.proto.requests(), 1u);
}

TEST_F(DriverCompletion, SentGoesOnWhereAFinishedSendWould) {
  test_conn& c = open(std::string(get) + std::string(get));
  driver_.drive(c, 0);
  port_.complete();
  driver_.sent(c, {send_status::done, 0, {}}, 5);
  // The first reply is out, its scratch released; the pipelined second
  // request is answered at once and its send is in flight.
  EXPECT_EQ(sender_.released, 1);
  EXPECT_EQ(c.proto.requests(), 2u);
  EXPECT_EQ(port_.sends, 3);
  EXPECT_TRUE(port_.in_flight);
  port_.complete();
  driver_.sent(c, {send_status::done, 0, {}}, 6);
  // Nothing more to read: waiting for input, on the idle deadline.
  EXPECT_FALSE(c.proto.replying());
  EXPECT_EQ(c.list, conn_timers::idle);
  EXPECT_EQ(port_.readable_waits, 1);
  EXPECT_TRUE(port_.released.empty());
}

TEST_F(DriverCompletion, AFailedStepClosesTheConnection) {
  test_conn& c = open(std::string(get));
  driver_.drive(c, 0);
  driver_.sent(c, {send_status::failed, 0, "read"}, 1);  // the file ended
  ASSERT_EQ(port_.released.size(), 1u);
  EXPECT_EQ(port_.released[0], &c);
  EXPECT_FALSE(c.in_use);
  EXPECT_EQ(c.list, -1);  // no deadline left to fire
}

TEST_F(DriverCompletion, AClosedConnectionIsReusedOnlyOnceFinished) {
  test_conn& c = open(std::string(get));
  driver_.drive(c, 0);
  driver_.close(c);
  EXPECT_EQ(driver_.live(), 1u);  // operations still name it
  // Its reply and scratch are untouched until then: the kernel may still
  // be reading them.
  EXPECT_TRUE(c.proto.replying());
  EXPECT_EQ(sender_.released, 0);
  test_conn& other = open(std::string(get));
  EXPECT_NE(&other, &c);
  driver_.finished(c);
  port_.released.erase(port_.released.begin());
  EXPECT_EQ(driver_.live(), 1u);
  EXPECT_EQ(sender_.released, 1);
  EXPECT_FALSE(c.proto.replying());
  driver_.close(other);
  driver_.finished(other);
  port_.released.clear();
  EXPECT_EQ(&open(std::string(get)), &other);  // the last given back is taken first
}

TEST_F(DriverCompletion, DrainEndsWhenOnlySettledConnectionsAreLeft) {
  test_conn& c = open(std::string(get));
  driver_.drive(c, 0);
  driver_.begin_drain(0);
  EXPECT_TRUE(c.in_use);  // its reply goes out first
  driver_.close(c);
  EXPECT_FALSE(driver_.drained(1));
  EXPECT_TRUE(driver_.drained(1, 1));  // its socket closed, only notifications to come
}

}  // namespace
}  // namespace zc
