// `morsel serve` operations, each against its own real server process: API key, connection
// limit, slow senders, idle keep-alive, deadlines (504), back-pressure (429), dynamic batching,
// hot reload under concurrent load, failed loads, graceful drain on SIGTERM/SIGINT, SIGHUP.
// Timing assertions are one-sided or generous: these run on loaded 2-core machines.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>

#include "server/server-test-util.h"
#include "util/test_util.h"

namespace morsel::test {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string str(const std::vector<uint8_t>& b) {
  return std::string(b.begin(), b.end());
}

std::string red_png() {
  static const std::string png = str(solid_png(16, 16, 250, 0, 0));
  return png;
}

std::unique_ptr<ServerProcess> start(std::vector<std::string> args, bool wait_ready = true) {
  auto s = std::make_unique<ServerProcess>(std::move(args));
  EXPECT_TRUE(s->wait_listening()) << s->log();
  if (wait_ready) {
    EXPECT_TRUE(s->wait_ready()) << s->log();
  }
  return s;
}

std::string tiny(const std::string& test) {
  const std::string dir = temp_dir(test);
  write_tiny_model(dir + "/tiny.morsel");
  return dir + "/tiny.morsel";
}

TEST(ServerOps, ApiKey) {
  auto s = start({"--model", tiny("apikey"), "--api-key", "s3cret"});
  HttpClient c(s->port());
  EXPECT_EQ(c.get("/v2/health/live").status, 200);  // probes need no key
  EXPECT_EQ(c.get("/v2/health/ready").status, 200);
  EXPECT_EQ(c.get("/openapi.json").status, 200);
  HttpResult none = c.post("/v1/models/tiny:classify", "image/png", red_png());
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.header("www-authenticate"), "Bearer");
  EXPECT_EQ(none.json()["error"]["code"], "unauthorized");
  EXPECT_EQ(c.post("/v1/models/tiny:classify", "image/png", red_png(),
                   {{"Authorization", "Bearer wrong"}})
                .status,
            401);
  EXPECT_EQ(c.get("/api/models").status, 401);
  EXPECT_EQ(c.get("/metrics").status, 401);
  HttpResult ok = c.post("/v1/models/tiny:classify", "image/png", red_png(),
                         {{"Authorization", "Bearer s3cret"}});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(c.request("GET", "/api/models", {{"Authorization", "Bearer s3cret"}}).status, 200);
}

TEST(ServerOps, ConnectionLimit) {
  auto s = start({"--model", tiny("maxconn"), "--max-connections", "2"});
  HttpClient a(s->port()), b(s->port());
  // Two connections open and counted (earlier probe connections may take a moment to close).
  ASSERT_TRUE(eventually(
      [&] {
        a.close();
        b.close();
        return a.get("/v2/health/live").status == 200 && b.get("/v2/health/live").status == 200;
      },
      20));
  HttpClient third(s->port());
  HttpResult r = third.get("/v2/health/live");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.header("retry-after"), "1");
  EXPECT_EQ(r.json()["error"]["code"], "unavailable");
  a.close();
  // Once a slot frees up, new connections are served again.
  EXPECT_TRUE(eventually(
      [&] {
        HttpClient again(s->port());
        return again.get("/v2/health/live").status == 200;
      },
      20));
}

TEST(ServerOps, SlowSenderGets408AndOthersAreServed) {
  auto s = start({"--model", tiny("slow"), "--read-timeout", "1"});
  const int fd = connect_loopback(s->port());
  ASSERT_GE(fd, 0);
  const std::string head =
      "POST /v1/models/tiny:classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
      "Content-Length: 100000\r\n\r\n";
  ASSERT_TRUE(send_all(fd, head.data(), head.size()));
  const auto t0 = Clock::now();
  HttpResult r;
  // Trickle one byte every 50 ms, as a slowloris client would, until the server answers.
  while (seconds_since(t0) < 20) {
    if (!send_all(fd, "x", 1)) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) break;
    // Meanwhile the server keeps serving others.
    if (seconds_since(t0) > 0.2 && seconds_since(t0) < 0.3) {
      HttpClient other(s->port());
      EXPECT_EQ(other.post("/v1/models/tiny:classify", "image/png", red_png()).status, 200);
    }
  }
  r = read_response(fd, 10);
  const double took = seconds_since(t0);
  ::close(fd);
  EXPECT_EQ(r.status, 408) << r.error;
  EXPECT_EQ(r.json()["error"]["code"], "request_timeout");
  EXPECT_GE(took, 0.8);
  EXPECT_LT(took, 8.0);
  // A client that sends only part of the header is cut off the same way.
  const int fd2 = connect_loopback(s->port());
  ASSERT_TRUE(send_all(fd2, "GET /v2/health/live HTTP/1.1\r\nHo", 32));
  const auto t1 = Clock::now();
  HttpResult r2 = read_response(fd2, 20);
  EXPECT_EQ(r2.status, 408);
  EXPECT_LT(seconds_since(t1), 8.0);
  ::close(fd2);
}

TEST(ServerOps, IdleKeepAliveConnectionsAreClosed) {
  auto s = start({"--model", tiny("idle"), "--idle-timeout", "0.5"});
  const int fd = connect_loopback(s->port());
  const std::string req = "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(send_all(fd, req.data(), req.size()));
  EXPECT_EQ(read_response(fd, 10).status, 200);
  const auto t0 = Clock::now();
  EXPECT_TRUE(wait_closed(fd, 15));
  EXPECT_GE(seconds_since(t0), 0.3);
  ::close(fd);
  // A connection that never sends anything is closed too.
  const int fd2 = connect_loopback(s->port());
  EXPECT_TRUE(wait_closed(fd2, 15));
  ::close(fd2);
}

TEST(ServerOps, DeadlineGives504) {
  auto s = start({"--model", tiny("deadline"), "--request-deadline", "0.5",
                  "--test-inference-delay-ms", "2000", "--workers", "1"});
  HttpClient c(s->port());
  const auto t0 = Clock::now();
  HttpResult r = c.post("/v1/models/tiny:classify", "image/png", red_png());
  const double took = seconds_since(t0);
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_EQ(r.json()["error"]["code"], "deadline_exceeded");
  EXPECT_GE(took, 0.4);
  EXPECT_LT(took, 1.9);  // answered at the deadline, not when the slow batch finished
  EXPECT_EQ(c.get("/v2/health/live").status, 200);
}

TEST(ServerOps, FullQueueGives429) {
  auto s = start({"--model", tiny("queue"), "--workers", "1", "--max-batch", "1", "--max-queue",
                  "1", "--test-inference-delay-ms", "1500"});
  std::vector<int> statuses(6, 0);
  std::vector<std::string> retry(6);
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; i++)
    threads.emplace_back([&, i] {
      HttpClient c(s->port());
      HttpResult r = c.post("/v1/models/tiny:classify", "image/png", red_png());
      statuses[static_cast<size_t>(i)] = r.status;
      retry[static_cast<size_t>(i)] = r.header("retry-after");
    });
  for (auto& t : threads) t.join();
  int ok = 0, busy = 0;
  for (int i = 0; i < 6; i++) {
    if (statuses[static_cast<size_t>(i)] == 200) ok++;
    if (statuses[static_cast<size_t>(i)] == 429) {
      busy++;
      EXPECT_EQ(retry[static_cast<size_t>(i)], "1");
    }
  }
  EXPECT_EQ(ok + busy, 6);
  EXPECT_GE(ok, 1);
  EXPECT_GE(busy, 1);
  HttpClient c(s->port());
  EXPECT_GE(metric_value(c.get("/metrics").body,
                         "morsel_rejected_requests_total{model=\"tiny\",reason=\"queue_full\"}"),
            1);
}

TEST(ServerOps, DynamicBatching) {
  auto s = start({"--model", tiny("batch"), "--workers", "1", "--max-batch", "8",
                  "--test-inference-delay-ms", "1000"});
  std::vector<json> results(6);
  std::vector<std::thread> threads;
  const std::string colours[3] = {str(solid_png(8, 8, 250, 0, 0)), str(solid_png(8, 8, 0, 250, 0)),
                                  str(solid_png(8, 8, 0, 0, 250))};
  for (int i = 0; i < 6; i++)
    threads.emplace_back([&, i] {
      HttpClient c(s->port());
      results[static_cast<size_t>(i)] =
          c.post("/v1/models/tiny:classify?top_k=1", "image/png", colours[i % 3]).json();
    });
  for (auto& t : threads) t.join();
  int max_batch = 0;
  const char* names[3] = {"red", "green", "blue"};
  for (int i = 0; i < 6; i++) {
    const json& j = results[static_cast<size_t>(i)];
    ASSERT_TRUE(j.contains("predictions")) << j.dump();
    // Each request gets its own answer out of the batch.
    EXPECT_EQ(j["predictions"][0]["label"], names[i % 3]) << j.dump();
    max_batch = std::max(max_batch, j["batch_size"].get<int>());
  }
  // The first request runs alone; the others queue behind its 1 s and run together.
  EXPECT_GE(max_batch, 2);
  EXPECT_LE(max_batch, 8);
}

TEST(ServerOps, QueueDelayFillsBatches) {
  // No engine delay: without --max-queue-delay each request would likely run alone.
  auto s = start({"--model", tiny("qdelay"), "--workers", "1", "--max-batch", "4",
                  "--max-queue-delay", "1500"});
  std::vector<json> results(3);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; i++)
    threads.emplace_back([&, i] {
      HttpClient c(s->port());
      results[static_cast<size_t>(i)] =
          c.post("/v1/models/tiny:classify?top_k=1", "image/png", red_png()).json();
    });
  for (auto& t : threads) t.join();
  int max_batch = 0;
  for (const json& j : results) {
    ASSERT_TRUE(j.contains("batch_size")) << j.dump();
    max_batch = std::max(max_batch, j["batch_size"].get<int>());
  }
  EXPECT_GE(max_batch, 2);
}

TEST(ServerOps, ModelFileReplacedIsReloaded) {
  const std::string path = tiny("filereload");
  auto s = start({"--model", path, "--poll-interval", "0.1"});
  HttpClient c(s->port());
  EXPECT_EQ(c.post("/v1/models/tiny:classify?top_k=1", "image/png", red_png())
                .json()["predictions"][0]["label"],
            "red");
  write_tiny_model(path, "_new");  // written to a temporary file and renamed over the old one
  EXPECT_TRUE(eventually(
      [&] {
        return c.post("/v1/models/tiny:classify?top_k=1", "image/png", red_png())
                   .json()["predictions"][0]["label"] == "red_new";
      },
      30))
      << s->log();
  // A corrupt replacement is refused and the previous contents keep serving.
  std::ofstream(path) << "garbage";
  EXPECT_TRUE(s->wait_for_log({"model load failed", "\"model\":\"tiny\""}, 30)) << s->log();
  EXPECT_EQ(c.post("/v1/models/tiny:classify?top_k=1", "image/png", red_png())
                .json()["predictions"][0]["label"],
            "red_new");
  EXPECT_EQ(c.get("/v2/health/ready").status, 200);
}

// Writes version `v` of model `name` into the repository (the writer renames into place).
void put_version(const std::string& repo, const std::string& name, int v,
                 const std::string& suffix) {
  const std::string dir = repo + "/" + name + "/" + std::to_string(v);
  ASSERT_EQ(std::system(("mkdir -p '" + dir + "'").c_str()), 0);
  write_tiny_model(dir + "/model.morsel", suffix, name);
}

TEST(ServerOps, HotReloadUnderLoadDropsNothing) {
  const std::string repo = temp_dir("repo");
  put_version(repo, "tiny", 1, "");
  auto s = start({"--model-repo", repo, "--poll-interval", "0.1", "--workers", "2",
                  "--test-inference-delay-ms", "20"});
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, total{0};
  std::mutex mu;
  std::set<std::string> versions_seen;
  std::string first_failure;
  std::vector<std::thread> load;
  for (int t = 0; t < 4; t++)
    load.emplace_back([&] {
      HttpClient c(s->port());
      while (!stop) {
        HttpResult r = c.post("/v1/models/tiny:classify?top_k=1", "image/png", red_png());
        total++;
        json j = r.json();
        const bool ok =
            r.status == 200 && j.contains("version") &&
            j["predictions"][0]["label"] ==
                (j["version"] == "1" ? "red" : "red_v" + j["version"].get<std::string>());
        std::lock_guard<std::mutex> lock(mu);
        if (!ok) {
          failures++;
          if (first_failure.empty())
            first_failure = std::to_string(r.status) + " " + r.body + r.error;
        } else {
          versions_seen.insert(j["version"]);
        }
      }
    });
  auto seen = [&](const std::string& v) {
    std::lock_guard<std::mutex> lock(mu);
    return versions_seen.count(v) > 0;
  };
  ASSERT_TRUE(eventually([&] { return seen("1"); }, 30));
  put_version(repo, "tiny", 2, "_v2");
  EXPECT_TRUE(eventually([&] { return seen("2"); }, 30)) << s->log();
  // A broken version 3 fails to load; version 2 keeps serving.
  ASSERT_EQ(std::system(("mkdir -p '" + repo + "/tiny/3'").c_str()), 0);
  std::ofstream(repo + "/tiny/3/model.morsel") << "MORSEL\0\0 but truncated";
  EXPECT_TRUE(s->wait_for_log({"model load failed", "\"version\":\"3\""}, 30)) << s->log();
  const int before = total;
  ASSERT_TRUE(eventually([&] { return total > before + 20; }, 30));
  stop = true;
  for (auto& t : load) t.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_GT(total.load(), 40);
  HttpClient c(s->port());
  json meta = c.get("/v2/models/tiny").json();
  EXPECT_EQ(meta["versions"], json::array({"2"}));
  EXPECT_EQ(c.get("/v2/models/tiny/versions/1").status, 404);  // retired
  EXPECT_EQ(c.get("/v2/models/tiny/versions/3").status, 404);  // never loaded
  EXPECT_EQ(c.get("/v2/health/ready").status, 200);
  const std::string m = c.get("/metrics").body;
  EXPECT_EQ(metric_value(m, "morsel_model_load_failures_total{model=\"tiny\"}"), 1);
  EXPECT_EQ(metric_value(m, "morsel_model_loads_total{model=\"tiny\"}"), 2);
  // Fixing version 3 makes it load: the failure is remembered per file contents only.
  put_version(repo, "tiny", 3, "_v3");
  EXPECT_TRUE(eventually(
      [&] {
        return c.post("/v1/models/tiny:classify?top_k=1", "image/png", red_png())
                   .json()["version"] == "3";
      },
      30));
}

TEST(ServerOps, InFlightRequestsFinishOnTheOldVersion) {
  const std::string repo = temp_dir("inflight");
  put_version(repo, "tiny", 1, "");
  auto s = start({"--model-repo", repo, "--poll-interval", "0", "--workers", "1",
                  "--test-inference-delay-ms", "1500"});
  json slow;
  std::thread t([&] {
    HttpClient c(s->port());
    slow = c.post("/v1/models/tiny:classify?top_k=1", "image/png", red_png()).json();
  });
  HttpClient c(s->port());
  ASSERT_TRUE(eventually(
      [&] {
        return metric_value(c.get("/metrics").body, "morsel_inflight_requests") >=
               2;  // it and this scrape
      },
      20));
  put_version(repo, "tiny", 2, "_v2");
  s->signal(SIGHUP);  // --poll-interval 0: re-scan on SIGHUP only
  ASSERT_TRUE(s->wait_for_log({"model loaded", "\"version\":\"2\""}, 30)) << s->log();
  // Published right after that log line.
  EXPECT_TRUE(eventually(
      [&] { return c.get("/v2/models/tiny").json()["versions"] == json::array({"2"}); }, 30));
  t.join();
  EXPECT_EQ(slow["version"], "1") << slow.dump();
  EXPECT_EQ(slow["predictions"][0]["label"], "red") << slow.dump();
  json now = c.post("/v1/models/tiny:classify?top_k=1", "image/png", red_png()).json();
  EXPECT_EQ(now["version"], "2");
  EXPECT_EQ(now["predictions"][0]["label"], "red_v2");
}

TEST(ServerOps, ReadyOnlyAfterWarmUp) {
  // The warm-up run takes 1.5 s here: live at once, ready only after it.
  ServerProcess s({"--model", tiny("warmup"), "--test-warmup-delay-ms", "1500", "--workers", "1"});
  ASSERT_TRUE(s.wait_listening()) << s.log();
  HttpClient c(s.port());
  EXPECT_EQ(c.get("/v2/health/live").status, 200);
  HttpResult ready = c.get("/v2/health/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.json()["error"]["code"], "unavailable");
  HttpResult early = c.post("/v1/models/tiny:classify", "image/png", red_png());
  EXPECT_EQ(early.status, 503) << early.body;
  EXPECT_EQ(early.header("retry-after"), "1");
  EXPECT_TRUE(s.wait_ready(30)) << s.log();
  EXPECT_TRUE(s.wait_for_log({"\"msg\":\"ready\""}, 1));
}

TEST(ServerOps, StartupFailsOnABadModel) {
  const std::string dir = temp_dir("badmodel");
  std::ofstream(dir + "/bad.morsel") << "not a model";
  ServerProcess s({"--model", dir + "/bad.morsel"});
  EXPECT_EQ(s.wait_exit(60), 1) << s.log();
  EXPECT_NE(s.log().find("startup failed"), std::string::npos) << s.log();
  EXPECT_EQ(s.log().find("terminate"), std::string::npos) << s.log();

  ServerProcess missing({"--model", dir + "/missing.morsel"});
  EXPECT_EQ(missing.wait_exit(60), 1);
  ServerProcess no_models({});
  EXPECT_EQ(no_models.wait_exit(60), 1);
  EXPECT_NE(no_models.log().find("--model"), std::string::npos) << no_models.log();
}

TEST(ServerOps, GracefulShutdownFinishesInFlightRequests) {
  auto s =
      start({"--model", tiny("drain"), "--workers", "1", "--max-batch", "4",
             "--test-inference-delay-ms", "5000", "--drain-delay", "2.5", "--exit-timeout", "30"});
  std::vector<HttpResult> results(3);
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; i++)
    clients.emplace_back([&, i] {
      HttpClient c(s->port());
      results[static_cast<size_t>(i)] = c.post("/v1/models/tiny:classify", "image/png", red_png());
    });
  {
    HttpClient c(s->port());
    ASSERT_TRUE(eventually(
        [&] {
          return metric_value(c.get("/metrics").body, "morsel_inflight_requests") >=
                 4;  // 3 + this scrape
        },
        30))
        << s->log();
  }
  const auto t0 = Clock::now();
  s->signal(SIGTERM);
  // Not ready first (while the listener is still open for --drain-delay)...
  {
    HttpClient c(s->port());
    EXPECT_TRUE(eventually([&] { return c.get("/v2/health/ready").status == 503; }, 2.4))
        << s->log();
  }
  // ...then no new connections...
  EXPECT_TRUE(eventually(
      [&] {
        const int fd = connect_loopback(s->port());
        if (fd >= 0) ::close(fd);
        return fd < 0;
      },
      20));
  // ...while the requests already in flight complete normally.
  for (auto& t : clients) t.join();
  for (const HttpResult& r : results) {
    EXPECT_EQ(r.status, 200) << r.body << r.error;
    EXPECT_EQ(r.json()["predictions"][0]["label"], "red");
  }
  EXPECT_EQ(s->wait_exit(30), 0) << s->log();
  EXPECT_LT(seconds_since(t0), 25);
  EXPECT_NE(s->log().find("drained"), std::string::npos);
}

TEST(ServerOps, ExitTimeoutAbandonsStuckRequests) {
  auto s = start({"--model", tiny("exittimeout"), "--workers", "1", "--test-inference-delay-ms",
                  "8000", "--exit-timeout", "0.5"});
  std::thread client([&] {
    HttpClient c(s->port(), 30);
    c.post("/v1/models/tiny:classify", "image/png", red_png());
  });
  HttpClient c(s->port());
  ASSERT_TRUE(eventually(
      [&] { return metric_value(c.get("/metrics").body, "morsel_inflight_requests") >= 2; }, 30));
  c.close();
  const auto t0 = Clock::now();
  s->signal(SIGTERM);
  EXPECT_EQ(s->wait_exit(30), 1) << s->log();
  EXPECT_LT(seconds_since(t0), 7.0);  // well before the 8 s batch would have finished
  client.join();
  EXPECT_NE(s->log().find("exit timeout"), std::string::npos);
}

TEST(ServerOps, SigintOnAnIdleServerExitsCleanly) {
  auto s = start({"--model", tiny("sigint")});
  HttpClient keep(s->port());
  ASSERT_EQ(keep.get("/v2/health/live").status, 200);  // an idle keep-alive connection
  s->signal(SIGINT);
  EXPECT_EQ(s->wait_exit(30), 0) << s->log();
}

TEST(ServerOps, BindsLoopbackByDefault) {
  auto s = start({"--model", tiny("bind")});
  bool found = false;
  for (const std::string& l : s->lines()) {
    if (l.find("\"msg\":\"listening\"") == std::string::npos) continue;
    found = true;
    EXPECT_NE(l.find("\"address\":\"127.0.0.1\""), std::string::npos) << l;
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace morsel::test
