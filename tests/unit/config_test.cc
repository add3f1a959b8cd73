#include "server/program/config_load.hh"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "backends/dpdk/dpdk_settings.hh"
#include "backends/io_uring/io_uring_settings.hh"
#include "backends/registry.hh"
#include "server/program/config_keys.hh"

namespace zc {
namespace {

using namespace std::chrono_literals;
using action = cli_result::action;

// gmock is not linked; this gives the same failure text as HasSubstr.
::testing::AssertionResult has(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

// Holds argv storage for parse_command_line, which takes C strings.
cli_result parse(std::initializer_list<std::string> args) {
  std::vector<std::string> words{"zcserve"};
  words.insert(words.end(), args);
  std::vector<const char*> argv;
  for (const std::string& w : words) argv.push_back(w.c_str());
  argv.push_back(nullptr);
  return parse_command_line(static_cast<int>(words.size()), argv.data());
}

// A config file that removes itself.
class temp_file {
 public:
  explicit temp_file(const std::string& text) {
    char name[] = "/tmp/zc_config_test_XXXXXX";
    const int fd = ::mkstemp(name);
    EXPECT_GE(fd, 0);
    ::close(fd);
    path_ = name;
    std::ofstream(path_) << text;
  }
  ~temp_file() { std::remove(path_.c_str()); }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// An error must be one line that starts with "config: ".
void expect_one_line(const std::string& e) {
  EXPECT_EQ(e.rfind("config: ", 0), 0u) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

TEST(ConfigDefaults, NoFileNoFlags) {
  const cli_result r = parse({});
  ASSERT_EQ(r.what, action::run) << r.error;
  const config& c = r.cfg;
  EXPECT_EQ(c.server.listen_host, "127.0.0.1");
  EXPECT_EQ(c.server.listen_port, 8080);
  EXPECT_EQ(c.server.root, ".");
  EXPECT_EQ(c.server.workers, 1u);
  EXPECT_TRUE(c.server.cpu_affinity.empty());
  EXPECT_EQ(c.server.max_connections, 10000u);
  EXPECT_EQ(c.server.max_request_line, 8192u);
  EXPECT_EQ(c.server.max_header_bytes, 16384u);
  EXPECT_EQ(c.server.max_headers, 64u);
  EXPECT_EQ(c.server.max_body, 1u << 20);
  EXPECT_EQ(c.server.header_timeout, 10s);
  EXPECT_EQ(c.server.idle_timeout, 60s);
  EXPECT_EQ(c.server.send_timeout, 60s);
  EXPECT_EQ(c.server.shutdown_timeout, 10s);
  EXPECT_EQ(c.server.cache_revalidate, 1s);
  EXPECT_EQ(c.server.cache_entries, 4096u);
  EXPECT_EQ(c.server.index, "index.html");
  EXPECT_EQ(c.io.engine, "epoll");
  EXPECT_EQ(c.io.sender, "");  // unset: the engine's default (backends/registry)
  EXPECT_EQ(c.io.chunk_bytes, 256u * 1024);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.access_log, "off");
  EXPECT_EQ(c.log.access_format, "combined");
  EXPECT_EQ(c.log.flush_interval, 1s);
  EXPECT_TRUE(r.config_path.empty());
}

TEST(ConfigDefaults, EmptyDocumentChangesNothing) {
  config c;
  EXPECT_EQ(apply_toml(c, "", "empty.toml"), "");
  EXPECT_EQ(c.server.workers, 1u);
  EXPECT_EQ(c.io.engine, "epoll");
}

TEST(ConfigFile, EveryKey) {
  config c;
  const std::string text = R"(
[server]
listen = "0.0.0.0:9090"
root = "/srv/www"
workers = 4
cpu_affinity = [0, 2]
max_connections = 500
max_request_line = 4096
max_header_bytes = 8192
max_headers = 32
max_body = 0
header_timeout = "500ms"
idle_timeout = "2m"
send_timeout = 1500
shutdown_timeout = "3s"
cache_revalidate = 0
cache_entries = 0
index = "default.htm"

[io]
engine = "io_uring"
sender = "splice"
chunk_bytes = 65536

[log]
level = "debug"
access_log = "/var/log/zc.log"
access_format = "common"
flush_interval = "250ms"
)";
  ASSERT_EQ(apply_toml(c, text, "full.toml"), "");
  EXPECT_EQ(c.server.listen_host, "0.0.0.0");
  EXPECT_EQ(c.server.listen_port, 9090);
  EXPECT_EQ(c.server.root, "/srv/www");
  EXPECT_EQ(c.server.workers, 4u);
  EXPECT_EQ(c.server.cpu_affinity, (std::vector<int>{0, 2}));
  EXPECT_EQ(c.server.max_connections, 500u);
  EXPECT_EQ(c.server.max_request_line, 4096u);
  EXPECT_EQ(c.server.max_header_bytes, 8192u);
  EXPECT_EQ(c.server.max_headers, 32u);
  EXPECT_EQ(c.server.max_body, 0u);
  EXPECT_EQ(c.server.header_timeout, 500ms);
  EXPECT_EQ(c.server.idle_timeout, 2min);
  EXPECT_EQ(c.server.send_timeout, 1500ms);
  EXPECT_EQ(c.server.shutdown_timeout, 3s);
  EXPECT_EQ(c.server.cache_revalidate, 0ms);
  EXPECT_EQ(c.server.cache_entries, 0u);
  EXPECT_EQ(c.server.index, "default.htm");
  EXPECT_EQ(c.io.engine, "io_uring");
  EXPECT_EQ(c.io.sender, "splice");
  EXPECT_EQ(c.io.chunk_bytes, 65536u);
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.access_log, "/var/log/zc.log");
  EXPECT_EQ(c.log.access_format, "common");
  EXPECT_EQ(c.log.flush_interval, 250ms);
}

TEST(ConfigFile, RangeEndsAreAccepted) {
  config c;
  EXPECT_EQ(apply_toml(c, "[server]\nworkers = 256\nmax_body = 1099511627776\n", "f"), "");
  EXPECT_EQ(c.server.workers, 256u);
  EXPECT_EQ(c.server.max_body, std::uint64_t{1} << 40);
  EXPECT_EQ(apply_toml(c, "[server]\nlisten = \"127.0.0.1:0\"\n", "f"), "");
  EXPECT_EQ(c.server.listen_port, 0);
  EXPECT_EQ(apply_toml(c, "[server]\nlisten = \"127.0.0.1:65535\"\n", "f"), "");
  EXPECT_EQ(c.server.listen_port, 65535);
}

TEST(ConfigFile, InlineAndDottedTablesWork) {
  config c;
  EXPECT_EQ(apply_toml(c, "server = { workers = 3 }\nio.sender = \"mmap\"\n", "f"), "");
  EXPECT_EQ(c.server.workers, 3u);
  EXPECT_EQ(c.io.sender, "mmap");
}

TEST(ConfigFile, CpuAffinityNoneAndEmpty) {
  config c;
  c.server.cpu_affinity = {1, 2};
  EXPECT_EQ(apply_toml(c, "[server]\ncpu_affinity = \"none\"\n", "f"), "");
  EXPECT_TRUE(c.server.cpu_affinity.empty());
  c.server.cpu_affinity = {1, 2};
  EXPECT_EQ(apply_toml(c, "[server]\ncpu_affinity = []\n", "f"), "");
  EXPECT_TRUE(c.server.cpu_affinity.empty());
}

TEST(ConfigErrors, UnknownSection) {
  config c;
  const std::string e = apply_toml(c, "[server]\nworkers = 2\n[colour]\nx = 1\n", "f.toml");
  expect_one_line(e);
  EXPECT_TRUE(has(e, "f.toml:3:"));
  EXPECT_TRUE(has(e, "colour"));
  EXPECT_TRUE(has(e, "unknown section"));
  EXPECT_TRUE(has(e, "[server], [io], [io.uring], [io.dpdk], [admin], [log]"));
}

TEST(ConfigErrors, UnknownKeyListsAllowedKeys) {
  config c;
  const std::string e = apply_toml(c, "[server]\ncolour = \"red\"\n", "f.toml");
  expect_one_line(e);
  EXPECT_TRUE(has(e, "f.toml:2:1: server.colour = \"red\": unknown key"));
  EXPECT_TRUE(has(e, "allowed in [server]: listen, root, pid_file, workers, cpu_affinity"));
  EXPECT_TRUE(has(e, "index"));
}

TEST(ConfigErrors, UnknownKeySuggestsNearName) {
  config c;
  const std::string e = apply_toml(c, "[server]\nwrokers = 2\n", "f.toml");
  EXPECT_TRUE(has(e, "did you mean server.workers?"));
}

TEST(ConfigErrors, KeyAboveEverySectionPointsToItsSection) {
  config c;
  const std::string e = apply_toml(c, "workers = 2\n", "f.toml");
  expect_one_line(e);
  EXPECT_TRUE(has(e, "workers = 2"));
  EXPECT_TRUE(has(e, "server.workers"));
}

TEST(ConfigErrors, SectionThatIsNotATable) {
  config c;
  const std::string e = apply_toml(c, "server = 5\n", "f.toml");
  expect_one_line(e);
  EXPECT_TRUE(has(e, "server = 5: must be a table"));
}

TEST(ConfigErrors, WrongType) {
  config c;
  std::string e = apply_toml(c, "[server]\nworkers = \"two\"\n", "f.toml");
  expect_one_line(e);
  EXPECT_TRUE(has(e, "server.workers = \"two\": must be an integer from 1 to 256, not a string"));

  e = apply_toml(c, "[server]\nroot = 5\n", "f.toml");
  EXPECT_TRUE(has(e, "server.root = 5: must be a non-empty directory path, not an integer"));

  e = apply_toml(c, "[server]\ncpu_affinity = [0, \"x\"]\n", "f.toml");
  EXPECT_TRUE(has(e, "server.cpu_affinity = [0, \"x\"]"));
  EXPECT_TRUE(has(e, "not an array holding a string"));

  e = apply_toml(c, "[io]\nchunk_bytes = 4096.0\n", "f.toml");
  EXPECT_TRUE(has(e, "not a float"));
}

TEST(ConfigErrors, OutOfRange) {
  config c;
  std::string e = apply_toml(c, "[server]\nworkers = 0\n", "f.toml");
  expect_one_line(e);
  EXPECT_EQ(e, "config: f.toml:2:11: server.workers = 0: must be an integer from 1 to 256");

  e = apply_toml(c, "[server]\nmax_headers = 129\n", "f.toml");
  EXPECT_TRUE(has(e, "server.max_headers = 129: must be an integer from 1 to 128"));
  e = apply_toml(c, "[server]\nmax_body = 1099511627777\n", "f.toml");
  EXPECT_TRUE(has(e, "server.max_body = 1099511627777"));
  e = apply_toml(c, "[io]\nchunk_bytes = 4095\n", "f.toml");
  EXPECT_TRUE(has(e, "io.chunk_bytes = 4095: must be an integer from 4096 to 67108864"));
  e = apply_toml(c, "[server]\ncpu_affinity = [-1]\n", "f.toml");
  EXPECT_TRUE(has(e, "server.cpu_affinity = [-1]"));
  e = apply_toml(c, "[log]\nlevel = \"loud\"\n", "f.toml");
  EXPECT_TRUE(has(e, "log.level = \"loud\": must be one of trace, debug, info, warn, error, off"));
  e = apply_toml(c, "[server]\nindex = \"a/b.html\"\n", "f.toml");
  EXPECT_TRUE(has(e, "server.index = \"a/b.html\""));
  e = apply_toml(c, "[io]\nengine = \"\"\n", "f.toml");
  EXPECT_TRUE(has(e, "io.engine = \"\": must be a non-empty engine name"));
}

TEST(ConfigErrors, FailedFileLeavesConfigUntouched) {
  config c;
  const std::string e =
      apply_toml(c, "[server]\nworkers = 8\nroot = \"/x\"\n[io]\nchunk_bytes = 1\n", "f");
  EXPECT_FALSE(e.empty());
  EXPECT_EQ(c.server.workers, 1u);
  EXPECT_EQ(c.server.root, ".");
}

TEST(ConfigErrors, FirstErrorInFileOrderIsReported) {
  config c;
  // toml++ iterates keys alphabetically; the report must follow the file.
  const std::string e = apply_toml(c, "[server]\nworkers = 0\nindex = \"\"\n", "f.toml");
  EXPECT_TRUE(has(e, "server.workers"));
}

TEST(ConfigErrors, BadListen) {
  for (const char* bad :
       {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:80x", ":8080", "::1:8080",
        "[::1]8080", "[::1]:", "[nothost]:80", "999.1.1.1:80", "1.2.3:80", "-bad:80", "[::1:80"}) {
    config c;
    const std::string e = apply_override(c, std::string("server.listen=\"") + bad + "\"");
    expect_one_line(e);
    EXPECT_TRUE(has(e, std::string("server.listen = \"") + bad + "\": must be HOST:PORT")) << bad;
    EXPECT_EQ(c.server.listen_host, "127.0.0.1") << bad;
  }
}

TEST(ConfigListen, HostNameAndIpv6) {
  config c;
  EXPECT_EQ(apply_override(c, "server.listen=localhost:81"), "");
  EXPECT_EQ(c.server.listen_host, "localhost");
  EXPECT_EQ(c.server.listen_port, 81);

  EXPECT_EQ(apply_toml(c, "[server]\nlisten = \"[::1]:8443\"\n", "f"), "");
  EXPECT_EQ(c.server.listen_host, "::1");  // brackets are syntax, not part of the address
  EXPECT_EQ(c.server.listen_port, 8443);

  const cli_result r = parse({"--listen", "[::]:0"});
  ASSERT_EQ(r.what, action::run) << r.error;
  EXPECT_EQ(r.cfg.server.listen_host, "::");
  EXPECT_EQ(r.cfg.server.listen_port, 0);
}

TEST(ConfigErrors, BadDuration) {
  for (const char* bad : {"\"10\"", "\"10 s\"", "\"1.5s\"", "\"10h\"", "\"s\"", "\"-1s\"", "0",
                          "\"0s\"", "-5", "\"1441m\"", "86400001", "true"}) {
    config c;
    const std::string e = apply_toml(c, std::string("[server]\nidle_timeout = ") + bad + "\n", "f");
    expect_one_line(e);
    EXPECT_TRUE(has(e, std::string("server.idle_timeout = ") + bad + ": must be a duration"))
        << bad;
  }
  config c;
  EXPECT_EQ(apply_toml(c, "[server]\nidle_timeout = \"1440m\"\n", "f"), "");
  EXPECT_EQ(c.server.idle_timeout, 24h);
}

TEST(ConfigErrors, CacheRevalidateMayBeZeroButNotNegative) {
  config c;
  EXPECT_EQ(apply_override(c, "server.cache_revalidate=\"0ms\""), "");
  EXPECT_EQ(c.server.cache_revalidate, 0ms);
  EXPECT_TRUE(has(apply_override(c, "server.cache_revalidate=-1"), "must be a duration from 0ms"));
}

TEST(ConfigErrors, TomlSyntaxNamesFileLineAndColumn) {
  config c;
  const std::string e = apply_toml(c, "[server]\nworkers = \n", "/etc/zc.toml");
  expect_one_line(e);
  EXPECT_TRUE(has(e, "config: /etc/zc.toml:2:"));
}

TEST(ConfigErrors, ValuesWithControlCharactersStayOnOneLine) {
  config c;
  const std::string e = apply_toml(c, "[log]\nlevel = \"a\\nb\"\n", "f");
  expect_one_line(e);
  EXPECT_TRUE(has(e, "\"a\\nb\""));
  // NUL would silently cut a path short in a C API.
  EXPECT_TRUE(has(apply_toml(c, "[server]\nroot = \"/a\\u0000b\"\n", "f"), "server.root"));
}

TEST(ConfigOverride, TypedValues) {
  config c;
  EXPECT_EQ(apply_override(c, "server.workers=2"), "");
  EXPECT_EQ(c.server.workers, 2u);
  EXPECT_EQ(apply_override(c, "server.cpu_affinity=[0,1]"), "");
  EXPECT_EQ(c.server.cpu_affinity, (std::vector<int>{0, 1}));
  EXPECT_EQ(apply_override(c, "io.engine=\"blocking\""), "");
  EXPECT_EQ(c.io.engine, "blocking");
  EXPECT_EQ(apply_override(c, "server.idle_timeout=250"), "");
  EXPECT_EQ(c.server.idle_timeout, 250ms);
  EXPECT_EQ(apply_override(c, " server.max_headers = 10 "), "");
  EXPECT_EQ(c.server.max_headers, 10u);
}

TEST(ConfigOverride, TypedValueIsValidatedLikeTheFile) {
  config c;
  const std::string e = apply_override(c, "server.workers=\"2\"");
  expect_one_line(e);
  EXPECT_EQ(e, "config: server.workers = \"2\": must be an integer from 1 to 256, not a string");
  EXPECT_EQ(apply_override(c, "server.workers=0"),
            "config: server.workers = 0: must be an integer from 1 to 256");
}

TEST(ConfigOverride, BareString) {
  config c;
  EXPECT_EQ(apply_override(c, "server.root=/tmp/x"), "");
  EXPECT_EQ(c.server.root, "/tmp/x");
  EXPECT_EQ(apply_override(c, "io.sender=read_write"), "");
  EXPECT_EQ(c.io.sender, "read_write");
  EXPECT_EQ(apply_override(c, "server.idle_timeout=10s"), "");
  EXPECT_EQ(c.server.idle_timeout, 10s);
  EXPECT_EQ(apply_override(c, "server.cpu_affinity=none"), "");
  EXPECT_TRUE(c.server.cpu_affinity.empty());
  EXPECT_EQ(apply_override(c, "log.access_log=/var/log/a b.log"), "");
  EXPECT_EQ(c.log.access_log, "/var/log/a b.log");
  // '=' after the first belongs to the value.
  EXPECT_EQ(apply_override(c, "server.root=/tmp/a=b"), "");
  EXPECT_EQ(c.server.root, "/tmp/a=b");
}

TEST(ConfigOverride, SmuggledSecondKeyIsJustText) {
  config c;
  EXPECT_EQ(apply_override(c, "server.root=1\nworkers = 9"), "");
  EXPECT_EQ(c.server.root, "1\nworkers = 9");
  EXPECT_EQ(c.server.workers, 1u);
}

TEST(ConfigOverride, Malformed) {
  config c;
  for (const char* bad : {"server.workers", "workers=2", "=2", ".workers=2", "server.=2", ""}) {
    const std::string e = apply_override(c, bad);
    expect_one_line(e);
    EXPECT_TRUE(has(e, "section.key=value")) << bad;
  }
}

TEST(ConfigOverride, UnknownSectionAndKey) {
  config c;
  std::string e = apply_override(c, "colour.x=1");
  expect_one_line(e);
  EXPECT_TRUE(has(e, "colour.x = 1: unknown section [colour]"));
  e = apply_override(c, "server.nope=1");
  expect_one_line(e);
  EXPECT_TRUE(has(e, "server.nope = 1: unknown key (allowed in [server]: listen,"));
}

TEST(ConfigCli, FlagsOverrideFileWhateverTheirPosition) {
  temp_file f("[server]\nworkers = 4\nroot = \"/from/file\"\n[io]\nsender = \"mmap\"\n");
  const cli_result r = parse({"--workers", "8", "--config", f.path(), "--set", "io.sender=splice"});
  ASSERT_EQ(r.what, action::run) << r.error;
  EXPECT_EQ(r.config_path, f.path());
  EXPECT_EQ(r.cfg.server.workers, 8u);
  EXPECT_EQ(r.cfg.server.root, "/from/file");
  EXPECT_EQ(r.cfg.io.sender, "splice");
}

TEST(ConfigCli, LaterFlagsWin) {
  const cli_result r = parse({"--workers", "2", "--set", "server.workers=3"});
  ASSERT_EQ(r.what, action::run) << r.error;
  EXPECT_EQ(r.cfg.server.workers, 3u);
}

TEST(ConfigCli, EqualsForm) {
  temp_file f("[server]\nworkers = 4\n");
  const cli_result r =
      parse({"--config=" + f.path(), "--root=/srv", "--listen=[::1]:9000", "--engine=epoll",
             "--sender=read_write", "--workers=16", "--set=log.level=warn"});
  ASSERT_EQ(r.what, action::run) << r.error;
  EXPECT_EQ(r.config_path, f.path());
  EXPECT_EQ(r.cfg.server.root, "/srv");
  EXPECT_EQ(r.cfg.server.listen_host, "::1");
  EXPECT_EQ(r.cfg.server.listen_port, 9000);
  EXPECT_EQ(r.cfg.io.engine, "epoll");
  EXPECT_EQ(r.cfg.io.sender, "read_write");
  EXPECT_EQ(r.cfg.server.workers, 16u);
  EXPECT_EQ(r.cfg.log.level, "warn");
}

TEST(ConfigCli, ShortConfigFlag) {
  temp_file f("[io]\nengine = \"blocking\"\n");
  const cli_result r = parse({"-c", f.path()});
  ASSERT_EQ(r.what, action::run) << r.error;
  EXPECT_EQ(r.cfg.io.engine, "blocking");
}

TEST(ConfigCli, StringFlagsTakeTheirArgumentVerbatim) {
  const cli_result r = parse({"--root", "2024", "--engine", "true"});
  ASSERT_EQ(r.what, action::run) << r.error;
  EXPECT_EQ(r.cfg.server.root, "2024");
  EXPECT_EQ(r.cfg.io.engine, "true");
}

TEST(ConfigCli, BadValueFromFlag) {
  const cli_result r = parse({"--workers", "0"});
  ASSERT_EQ(r.what, action::error);
  EXPECT_EQ(r.error, "config: server.workers = 0: must be an integer from 1 to 256");
}

TEST(ConfigCli, BadFileIsAnError) {
  temp_file f("[server\n");
  const cli_result r = parse({"--config", f.path()});
  ASSERT_EQ(r.what, action::error);
  expect_one_line(r.error);
  EXPECT_TRUE(has(r.error, f.path() + ":1:"));
}

TEST(ConfigCli, UnreadableFile) {
  const cli_result r = parse({"--config", "/nonexistent/zc.toml"});
  ASSERT_EQ(r.what, action::error);
  expect_one_line(r.error);
  EXPECT_TRUE(has(r.error, "/nonexistent/zc.toml: cannot read: No such file or directory"));

  const cli_result d = parse({"--config", "/"});
  ASSERT_EQ(d.what, action::error);
  EXPECT_TRUE(has(d.error, "Is a directory"));
}

TEST(ConfigCli, UnknownFlag) {
  const cli_result r = parse({"--frobnicate"});
  ASSERT_EQ(r.what, action::error);
  EXPECT_TRUE(has(r.error, "--frobnicate"));
  EXPECT_TRUE(has(r.error, "unknown flag"));
  EXPECT_EQ(r.error.find('\n'), std::string::npos);

  EXPECT_TRUE(has(parse({"--frob=1"}).error, "--frob=1"));
  EXPECT_TRUE(has(parse({"-x"}).error, "\"-x\": unknown flag"));
  EXPECT_TRUE(has(parse({"stray"}).error, "\"stray\": unexpected argument"));
}

TEST(ConfigCli, MissingArgument) {
  for (const char* flag :
       {"--config", "-c", "--set", "--root", "--listen", "--engine", "--sender", "--workers"}) {
    const cli_result r = parse({flag});
    ASSERT_EQ(r.what, action::error) << flag;
    EXPECT_TRUE(has(r.error, flag));
  }
}

TEST(ConfigCli, FlagWithoutValueRefusesOne) {
  const cli_result r = parse({"--list-backends=yes"});
  ASSERT_EQ(r.what, action::error);
  EXPECT_TRUE(has(r.error, "--list-backends: takes no value"));
}

TEST(ConfigCli, OnlyOneConfigFile) {
  temp_file f("");
  const cli_result r = parse({"-c", f.path(), "--config", f.path()});
  ASSERT_EQ(r.what, action::error);
  EXPECT_TRUE(has(r.error, "only one config file"));
}

TEST(ConfigCli, Actions) {
  EXPECT_EQ(parse({"--help"}).what, action::help);
  EXPECT_EQ(parse({"-h"}).what, action::help);
  EXPECT_EQ(parse({"--version"}).what, action::version);
  EXPECT_EQ(parse({"-V"}).what, action::version);
  // Help is honoured beside a mistake, and without reading the file.
  EXPECT_EQ(parse({"--bogus", "--help"}).what, action::help);
  EXPECT_EQ(parse({"--config", "/nonexistent", "-h"}).what, action::help);
}

TEST(ConfigCli, ListBackendsStillParsesOtherFlags) {
  cli_result r = parse({"--list-backends", "--engine", "io_uring"});
  ASSERT_EQ(r.what, action::list_backends) << r.error;
  EXPECT_EQ(r.cfg.io.engine, "io_uring");
  r = parse({"--list-backends", "--workers", "0"});
  EXPECT_EQ(r.what, action::error);
  r = parse({"--list-backends", "--nope"});
  EXPECT_EQ(r.what, action::error);
}

TEST(ConfigUsage, ListsEveryFlagAndKeyWithDefault) {
  const std::string u = usage_text();
  for (const char* flag : {"--config", "-c,", "--set", "--root", "--listen", "--engine", "--sender",
                           "--workers", "--list-backends", "--help", "-h,", "--version", "-V,"}) {
    EXPECT_TRUE(has(u, flag));
  }
  for (const char* line : {"listen = \"127.0.0.1:8080\"",
                           "root = \".\"",
                           "workers = 1",
                           "cpu_affinity = \"none\"",
                           "max_connections = 10000",
                           "max_request_line = 8192",
                           "max_header_bytes = 16384",
                           "max_headers = 64",
                           "max_body = 1048576",
                           "header_timeout = \"10s\"",
                           "idle_timeout = \"1m\"",
                           "send_timeout = \"1m\"",
                           "shutdown_timeout = \"10s\"",
                           "cache_revalidate = \"1s\"",
                           "cache_entries = 4096",
                           "index = \"index.html\"",
                           "engine = \"epoll\"",
                           "# sender = \"\"",
                           "chunk_bytes = 262144",
                           "level = \"info\"",
                           "access_log = \"off\""}) {
    EXPECT_TRUE(has(u, line));
  }
  EXPECT_TRUE(has(u, "[server]"));
  EXPECT_TRUE(has(u, "[io]"));
  EXPECT_TRUE(has(u, "[log]"));
}

// The key listing in --help is a TOML file of the defaults; it must read
// back as the defaults.
TEST(ConfigUsage, DefaultsRoundTrip) {
  const std::string u = usage_text();
  const std::size_t start = u.find("\n  [server]");
  ASSERT_NE(start, std::string::npos);
  const std::string doc = u.substr(start);
  config c;
  c.server.workers = 99;
  c.io.chunk_bytes = 4096;
  ASSERT_EQ(apply_toml(c, doc, "usage"), "") << doc;
  EXPECT_EQ(c.server.workers, 1u);
  EXPECT_EQ(c.io.chunk_bytes, 256u * 1024);
  EXPECT_EQ(c.server.idle_timeout, 60s);
}

}  // namespace
}  // namespace zc

namespace zc {
namespace {

TEST(ConfigAdmin, ListenTakesAnAddressOrOff) {
  config c;
  EXPECT_EQ(apply_override(c, "admin.listen=127.0.0.1:9999"), "");
  EXPECT_TRUE(c.admin.enabled);
  EXPECT_EQ(c.admin.listen_port, 9999);
  EXPECT_EQ(apply_override(c, "admin.listen=off"), "");
  EXPECT_FALSE(c.admin.enabled);
  const std::string e = apply_override(c, "admin.listen=nowhere");
  EXPECT_NE(e.find("admin.listen"), std::string::npos) << e;
  EXPECT_NE(e.find("nowhere"), std::string::npos) << e;
}

TEST(ConfigAdmin, AdminFlagIsShortForAdminListen) {
  const char* argv[] = {"zcserve", "--admin", "off"};
  cli_result r = parse_command_line(3, argv);
  ASSERT_EQ(r.what, cli_result::action::run) << r.error;
  EXPECT_FALSE(r.cfg.admin.enabled);
}

TEST(ConfigAdmin, WindowIsADurationOfAtLeastOneSecond) {
  config c;
  EXPECT_EQ(apply_override(c, "admin.window=\"30s\""), "");
  EXPECT_EQ(c.admin.window.count(), 30000);
  EXPECT_NE(apply_override(c, "admin.window=\"10ms\""), "");
}

}  // namespace
}  // namespace zc

namespace zc {
namespace {

TEST(ConfigUring, SubTableInAFileSetsItsKeys) {
  config c;
  EXPECT_EQ(apply_toml(c, "[io]\nengine = \"io_uring\"\n[io.uring]\nsqpoll = true\nentries = 64\n",
                       "f.toml"),
            "");
  EXPECT_TRUE(c.io.sections.get<uring_settings>().sqpoll);
  EXPECT_EQ(c.io.sections.get<uring_settings>().entries, 64u);
}

TEST(ConfigUring, OverrideWithThreePartKey) {
  config c;
  EXPECT_EQ(apply_override(c, "io.uring.sq_thread_idle=\"50ms\""), "");
  EXPECT_EQ(c.io.sections.get<uring_settings>().sq_thread_idle.count(), 50);
  const std::string e = apply_override(c, "io.uring.sqpoll=maybe");
  EXPECT_NE(e.find("io.uring.sqpoll"), std::string::npos) << e;
  EXPECT_NE(e.find("true or false"), std::string::npos) << e;
}

TEST(ConfigUring, FixedFilesIsABooleanOffByDefault) {
  config c;
  EXPECT_FALSE(c.io.sections.get<uring_settings>().fixed_files);
  EXPECT_EQ(apply_override(c, "io.uring.fixed_files=true"), "");
  EXPECT_TRUE(c.io.sections.get<uring_settings>().fixed_files);
  const std::string e = apply_override(c, "io.uring.fixed_files=1");
  EXPECT_NE(e.find("io.uring.fixed_files"), std::string::npos) << e;
  EXPECT_NE(e.find("true or false"), std::string::npos) << e;
}

// An engine's keys come from its own folder through the registry, and are
// there whether or not the engine is built (ZC_ENGINE_DPDK=OFF): a config
// file reads the same on every build.
TEST(ConfigEngineSections, DpdkKeysAreReadWhetherOrNotItIsBuilt) {
  config c;
  EXPECT_EQ(apply_toml(c, "[io.dpdk]\naddress = \"10.0.0.2/24\"\ntx_delay_us = 50\n", "f.toml"),
            "");
  EXPECT_EQ(c.io.sections.get<dpdk_settings>().address, "10.0.0.2/24");
  EXPECT_EQ(c.io.sections.get<dpdk_settings>().tx_delay_us, 50u);
  const std::string e = apply_override(c, "io.dpdk.gateway=10.0.0.256");
  expect_one_line(e);
  EXPECT_TRUE(has(e, "io.dpdk.gateway = \"10.0.0.256\": must be an IPv4 address, A.B.C.D, or \"\""))
      << e;
  EXPECT_EQ(c.io.sections.get<dpdk_settings>().gateway, "");
}

TEST(ConfigEngineSections, EverySectionOfTheRegistryIsKnownWithItsKeys) {
  const config defaults;
  for (const engine_info& e : engines()) {
    if (e.section == nullptr) continue;
    EXPECT_TRUE(config_keys::is_section(e.section->name)) << e.section->name;
    ASSERT_FALSE(e.section->keys.empty()) << e.section->name;
    for (const setting_key& k : e.section->keys) {
      const config_keys::key_spec* spec = config_keys::find_key(e.section->name, k.name);
      ASSERT_NE(spec, nullptr) << e.section->name << "." << k.name;
      EXPECT_FALSE(spec->show(defaults).empty()) << k.name;
    }
  }
}

TEST(ConfigEngineSections, AFailedFileLeavesTheEnginesSettingsAsTheyWere) {
  config c;
  ASSERT_EQ(apply_override(c, "io.uring.entries=64"), "");
  EXPECT_NE(apply_toml(c, "[io.uring]\nentries = 128\nsqpoll = 3\n", "f.toml"), "");
  EXPECT_EQ(c.io.sections.get<uring_settings>().entries, 64u);
}

}  // namespace
}  // namespace zc

namespace zc {
namespace {

TEST(ConfigPrecompressed, DefaultIsBrThenGzipAndAListOfCodingsIsAccepted) {
  config c;
  EXPECT_EQ(c.server.precompressed, (std::vector<std::string>{"br", "gzip"}));
  EXPECT_EQ(apply_override(c, "server.precompressed=[\"gzip\", \"zstd\", \"br\"]"), "");
  EXPECT_EQ(c.server.precompressed, (std::vector<std::string>{"gzip", "zstd", "br"}));
  EXPECT_EQ(apply_override(c, "server.precompressed=[]"), "");
  EXPECT_TRUE(c.server.precompressed.empty());
}

TEST(ConfigPrecompressed, UnknownRepeatedOrMistypedCodingsAreRefusedByName) {
  for (const char* bad : {"server.precompressed=[\"deflate\"]",
                          "server.precompressed=[\"br\", \"br\"]", "server.precompressed=[1]",
                          "server.precompressed=true", "server.precompressed=[\"GZIP\"]"}) {
    config c;
    const std::string e = apply_override(c, bad);
    expect_one_line(e);
    EXPECT_NE(e.find("server.precompressed"), std::string::npos) << e;
    EXPECT_NE(e.find("\"br\", \"zstd\", \"gzip\""), std::string::npos) << e;
    EXPECT_EQ(c.server.precompressed, (std::vector<std::string>{"br", "gzip"}));
  }
}

TEST(ConfigAutoindex, OffByDefaultABoolean) {
  config c;
  EXPECT_FALSE(c.server.autoindex);
  EXPECT_EQ(apply_override(c, "server.autoindex=true"), "");
  EXPECT_TRUE(c.server.autoindex);
  const std::string e = apply_override(c, "server.autoindex=\"yes\"");
  EXPECT_NE(e.find("server.autoindex"), std::string::npos) << e;
  EXPECT_NE(e.find("true or false"), std::string::npos) << e;
}

TEST(ConfigErrorPages, PathsByStatusInATableOfTheirOwn) {
  config c;
  EXPECT_EQ(c.error_pages.for_status(404), nullptr);
  EXPECT_EQ(apply_toml(c, "[error_pages]\n404 = \"/errors/404.html\"\n503 = \"/busy.html\"\n", "f"),
            "");
  ASSERT_NE(c.error_pages.for_status(404), nullptr);
  EXPECT_EQ(*c.error_pages.for_status(404), "/errors/404.html");
  EXPECT_EQ(*c.error_pages.for_status(503), "/busy.html");
  EXPECT_EQ(c.error_pages.for_status(403), nullptr);
  EXPECT_EQ(apply_override(c, "error_pages.403=/e/403.html"), "");
  EXPECT_EQ(*c.error_pages.for_status(403), "/e/403.html");
  EXPECT_EQ(apply_override(c, "error_pages.404=\"\""), "");
  EXPECT_EQ(c.error_pages.for_status(404), nullptr);
}

TEST(ConfigErrorPages, BadPathsAndStatusesAreRefused) {
  for (const char* bad :
       {"error_pages.404=errors/404.html", "error_pages.404=/errors/", "error_pages.404=/a/../b",
        "error_pages.404=/a//b", "error_pages.404=/./b", "error_pages.404=4"}) {
    config c;
    const std::string e = apply_override(c, bad);
    expect_one_line(e);
    EXPECT_NE(e.find("error_pages.404"), std::string::npos) << e;
    EXPECT_NE(e.find("beneath the root"), std::string::npos) << e;
  }
  config c;
  const std::string e = apply_override(c, "error_pages.400=/x.html");
  EXPECT_NE(e.find("unknown key"), std::string::npos) << e;
  EXPECT_NE(e.find("403, 404, 405, 412, 500, 503"), std::string::npos) << e;
}

}  // namespace
}  // namespace zc

// [mime], [cache_control] and server.dotfiles: fixed keys beside open
// sections whose keys the user names (extensions, paths).
namespace zc {
namespace {

using entries = std::vector<std::pair<std::string, std::string>>;

TEST(ConfigFilePolicy, Defaults) {
  const config c;
  EXPECT_EQ(c.dotfiles, config::dotfiles_mode::deny);
  EXPECT_EQ(c.mime.types_file, "/etc/mime.types");
  EXPECT_EQ(c.mime.default_type, "application/octet-stream");
  EXPECT_EQ(c.mime.charset, "utf-8");
  EXPECT_TRUE(c.mime.types.empty());
  EXPECT_EQ(c.cache_control.default_value, "");
  EXPECT_TRUE(c.cache_control.extensions.empty());
  EXPECT_TRUE(c.cache_control.paths.empty());
}

TEST(ConfigFilePolicy, EveryKeyFromAFile) {
  config c;
  const std::string text = R"(
[server]
dotfiles = "allow"

[mime]
types_file = ""
default_type = "text/plain"
charset = "iso-8859-1"

[mime.types]
M3U8 = "application/x-mpegurl"
ts = "video/mp2t"

[cache_control]
default = "max-age=60"

[cache_control.extensions]
html = "no-cache"
txt = ""

[cache_control.paths]
"/assets/" = "max-age=31536000, immutable"
"/v1.2/sw.js" = "no-store"
"/" = "private"
)";
  ASSERT_EQ(apply_toml(c, text, "site.toml"), "");
  EXPECT_EQ(c.dotfiles, config::dotfiles_mode::allow);
  EXPECT_EQ(c.mime.types_file, "");
  EXPECT_EQ(c.mime.default_type, "text/plain");
  EXPECT_EQ(c.mime.charset, "iso-8859-1");
  // toml++ hands keys over in byte order; extensions are folded to lower case.
  EXPECT_EQ(c.mime.types, (entries{{"m3u8", "application/x-mpegurl"}, {"ts", "video/mp2t"}}));
  EXPECT_EQ(c.cache_control.default_value, "max-age=60");
  EXPECT_EQ(c.cache_control.extensions, (entries{{"html", "no-cache"}, {"txt", ""}}));
  // Paths are kept without a trailing slash.
  EXPECT_EQ(c.cache_control.paths, (entries{{"/", "private"},
                                            {"/assets", "max-age=31536000, immutable"},
                                            {"/v1.2/sw.js", "no-store"}}));
}

TEST(ConfigFilePolicy, InlineTablesWork) {
  config c;
  ASSERT_EQ(apply_toml(c,
                       "mime.types = { vtt = \"text/vtt\" }\n"
                       "[cache_control]\npaths = { \"/a\" = \"no-cache\" }\n",
                       "f"),
            "");
  EXPECT_EQ(c.mime.types, (entries{{"vtt", "text/vtt"}}));
  EXPECT_EQ(c.cache_control.paths, (entries{{"/a", "no-cache"}}));
}

TEST(ConfigFilePolicy, OverridesAddAndReplaceEntries) {
  const cli_result r =
      parse({"--set", "mime.types.m3u8=application/vnd.apple.mpegurl", "--set",
             "mime.types.M3U8=audio/mpegurl", "--set", "cache_control.default=max-age=60", "--set",
             "cache_control.extensions.html=no-cache", "--set",
             "cache_control.paths./v1.2/assets/=max-age=600", "--set",
             "cache_control.paths./v1.2/assets=immutable", "--set", "server.dotfiles=allow",
             "--set", "mime.charset="});
  ASSERT_EQ(r.what, action::run) << r.error;
  EXPECT_EQ(r.cfg.mime.types, (entries{{"m3u8", "audio/mpegurl"}}));
  EXPECT_EQ(r.cfg.cache_control.default_value, "max-age=60");
  EXPECT_EQ(r.cfg.cache_control.extensions, (entries{{"html", "no-cache"}}));
  // The key of [cache_control.paths] may hold dots: everything after the
  // section's name is the key.
  EXPECT_EQ(r.cfg.cache_control.paths, (entries{{"/v1.2/assets", "immutable"}}));
  EXPECT_EQ(r.cfg.dotfiles, config::dotfiles_mode::allow);
  EXPECT_EQ(r.cfg.mime.charset, "");
}

TEST(ConfigFilePolicy, AnOverrideWinsOverTheFile) {
  const temp_file f("[mime.types]\nyaml = \"text/yaml\"\n[cache_control.paths]\n\"/a\" = \"x\"\n");
  const cli_result r = parse({"--config", f.path(), "--set", "mime.types.yaml=application/yaml",
                              "--set", "cache_control.paths./a/=no-store"});
  ASSERT_EQ(r.what, action::run) << r.error;
  EXPECT_EQ(r.cfg.mime.types, (entries{{"yaml", "application/yaml"}}));
  EXPECT_EQ(r.cfg.cache_control.paths, (entries{{"/a", "no-store"}}));
}

struct bad_case {
  const char* assignment;
  std::vector<const char*> needles;  // each must be in the one-line error
};

TEST(ConfigFilePolicy, BadValuesNameKeyValueAndWhatIsAllowed) {
  const std::vector<bad_case> cases = {
      {"server.dotfiles=hide", {"server.dotfiles = \"hide\"", "must be \"deny\" or \"allow\""}},
      {"server.dotfiles=true", {"server.dotfiles = true", "not a boolean"}},
      {"mime.default_type=octet-stream", {"mime.default_type = \"octet-stream\"", "media type"}},
      {"mime.default_type=\"text/plain\\r\\nX-A: b\"", {"mime.default_type", "media type"}},
      {"mime.charset=\"utf 8\"", {"mime.charset = \"utf 8\"", "charset name"}},
      {"mime.charset=8", {"mime.charset = 8", "not an integer"}},
      {"mime.types_file=3", {"mime.types_file = 3", "a file path"}},
      {"mime.types.m3u8=mpegurl", {"mime.types.m3u8 = \"mpegurl\"", "media type"}},
      {"mime.types.m3u8=1", {"mime.types.m3u8 = 1", "not an integer"}},
      {"mime.types.tar.gz=application/gzip",
       {"mime.types.\"tar.gz\" = \"application/gzip\"", "key must be an extension"}},
      {"cache_control.default=\"no-cache\\r\\nSet-Cookie: a=b\"",
       {"cache_control.default", "Cache-Control value"}},
      {"cache_control.default=\" no-cache\"", {"cache_control.default = \" no-cache\"", "leading"}},
      {"cache_control.extensions..html=no-cache",
       {"cache_control.extensions.\".html\" = \"no-cache\"", "key must be an extension"}},
      {"cache_control.extensions.html=\"a\\tb\"",
       {"cache_control.extensions.html = \"a\\tb\"", "Cache-Control value"}},
      {"cache_control.paths.assets=no-cache",
       {"cache_control.paths.assets = \"no-cache\"", "key must be a path starting with '/'"}},
      {"cache_control.paths./a/../b=no-cache", {"cache_control.paths.\"/a/../b\"", "\"..\""}},
      {"cache_control.paths.//=no-cache", {"cache_control.paths.\"//\"", "empty"}},
  };
  for (const bad_case& b : cases) {
    config c;
    const std::string e = apply_override(c, b.assignment);
    expect_one_line(e);
    for (const char* n : b.needles) EXPECT_TRUE(has(e, n)) << b.assignment;
  }
}

TEST(ConfigFilePolicy, BadEntryInAFileNamesItsPlace) {
  config c;
  const std::string e =
      apply_toml(c, "[mime.types]\nvtt = \"text/vtt\"\n\"a.b\" = \"text/x\"\n", "site.toml");
  expect_one_line(e);
  EXPECT_TRUE(has(e, "site.toml:3:"));
  EXPECT_TRUE(has(e, "mime.types.\"a.b\" = \"text/x\": the key must be an extension"));
  EXPECT_TRUE(c.mime.types.empty());  // a failed file changes nothing
}

TEST(ConfigFilePolicy, AnExtensionWrittenInMimeItselfPointsAtTheSubTable) {
  config c;
  const std::string e = apply_toml(c, "[mime]\nm3u8 = \"application/x-mpegurl\"\n", "f.toml");
  expect_one_line(e);
  EXPECT_TRUE(has(e, "mime.m3u8 = \"application/x-mpegurl\": unknown key"));
  EXPECT_TRUE(
      has(e, "allowed in [mime]: types_file, default_type, charset, the table [mime.types]"));
}

TEST(ConfigFilePolicy, HelpListsTheKeysAndTheOpenSections) {
  const std::string help = usage_text();
  for (const char* s :
       {"dotfiles = \"deny\"", "[mime]", "types_file = \"/etc/mime.types\"",
        "default_type = \"application/octet-stream\"", "charset = \"utf-8\"", "[cache_control]",
        "[mime.types]", "[cache_control.extensions]", "[cache_control.paths]"})
    EXPECT_TRUE(has(help, s));
}

}  // namespace
}  // namespace zc
