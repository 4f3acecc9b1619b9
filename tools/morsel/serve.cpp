// `morsel serve`: the HTTP inference server (src/server/). Options map one-to-one onto
// ServerOptions; docs/server-api.md and docs/deploy.md describe the API and its operation.
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "commands.h"
#include "server/server.h"

namespace morsel::cli {

namespace {

struct ServeArgs {
  server::ServerOptions opt;
  double test_delay_ms = 0;
  double test_warmup_delay_ms = 0;
};

int run_serve(ServeArgs& a) {
  a.opt.registry.batch.decode = a.opt.limits.image;
  a.opt.registry.batch.test_delay_ms = a.test_delay_ms;
  a.opt.registry.batch.test_warmup_delay_ms = a.test_warmup_delay_ms;
  auto created = server::Server::create(a.opt);
  if (!created.ok()) return fail(created.status());
  server::Server& s = *created.value();
  Status st = s.start();
  if (!st.ok()) return fail(st);
  const int code = s.wait();
  if (code != 0) {
    // Startup failed or the exit timeout passed: leave now rather than wait for a batch that
    // may still be running on a worker.
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(code);
  }
  return code;
}

}  // namespace

void register_serve(CLI::App& app, Action* run) {
  auto args = std::make_shared<ServeArgs>();
  server::ServerOptions& o = args->opt;
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  o.registry.batch.workers = static_cast<int>(hw);
  o.registry.batch.max_batch = 4;
  CLI::App* c = app.add_subcommand(
      "serve",
      "Serve models over HTTP: KServe V2 inference, a simple classify endpoint, the web app and "
      "the "
      ".morsel files. Logs are JSON lines on stdout; the first says which port is listening.");
  c->add_option("-m,--model", o.registry.models,
                "[NAME=]PATH of a .morsel file (repeatable); version 1")
      ->type_name("[NAME=]PATH");
  c->add_option("--model-repo", o.registry.repo,
                "directory of <name>/<version>/model.morsel, hot-reloaded")
      ->type_name("DIR");
  c->add_option("--host", o.host,
                "address to bind (default 127.0.0.1; 0.0.0.0 for all interfaces)");
  c->add_option("-p,--port", o.port, "port (default 8080; 0 picks a free one)");
  c->add_option("--web", o.web_dir, "serve the web app's static files from DIR")->type_name("DIR");
  c->add_option(
       "--api-key", o.api_key,
       "require Authorization: Bearer KEY on the API (not on health checks or static files)")
      ->envname("MORSEL_API_KEY");
  c->add_option("--cors-origin", o.cors_origins,
                "allow cross-origin requests from ORIGIN (repeatable; '*' for any)");
  c->add_option("--default-model", o.default_model,
                "the model /api/classify uses (default: the first)");
  c->add_option("-k,--top-k", o.default_top_k,
                "predictions returned when the request gives no top_k (default 5)");

  const std::string perf = "Throughput";
  c->add_option("--workers", o.registry.batch.workers,
                "inference worker threads per model (default: CPU count)")
      ->group(perf);
  c->add_option("--threads-per-worker", o.registry.batch.threads_per_worker,
                "engine threads per worker (default 1)")
      ->group(perf);
  c->add_option("--http-threads", o.io_threads, "I/O threads (default 2)")->group(perf);
  c->add_option("--max-batch", o.registry.batch.max_batch, "images per engine run (default 4)")
      ->group(perf);
  c->add_option("--max-queue-delay", o.registry.batch.max_queue_delay_ms,
                "ms to wait for a batch to fill (default 0: never wait)")
      ->group(perf);
  c->add_option("--max-queue", o.registry.batch.max_queue,
                "queued jobs per model before 429 (default 64)")
      ->group(perf);

  const std::string lim = "Limits";
  c->add_option("--max-body", o.limits.max_body_bytes,
                "request body bytes, chunked too (default 16MiB)")
      ->transform(CLI::AsSizeValue(false))
      ->group(lim);
  c->add_option("--max-header-bytes", o.limits.max_header_bytes,
                "request line + headers (default 16KiB)")
      ->transform(CLI::AsSizeValue(false))
      ->group(lim);
  c->add_option("--max-headers", o.limits.max_header_count, "header fields (default 100)")
      ->group(lim);
  c->add_option("--max-url", o.limits.max_url_bytes, "URL bytes (default 8192)")->group(lim);
  c->add_option("--max-json-depth", o.limits.max_json_depth, "JSON nesting (default 32)")
      ->group(lim);
  c->add_option("--max-images", o.limits.max_images_per_request,
                "images per infer request (default 64)")
      ->group(lim);
  c->add_option("--max-image-width", o.limits.image.max_width,
                "image width, from its header (default 16384)")
      ->group(lim);
  c->add_option("--max-image-height", o.limits.image.max_height, "image height (default 16384)")
      ->group(lim);
  c->add_option("--max-image-pixels", o.limits.image.max_pixels,
                "width x height (default 50000000)")
      ->group(lim);
  c->add_option("--max-connections", o.limits.max_connections,
                "open connections before 503 (default 512)")
      ->group(lim);
  c->add_option("--read-timeout", o.limits.read_timeout_s,
                "seconds to receive a whole request (default 30)")
      ->group(lim);
  c->add_option("--idle-timeout", o.limits.idle_timeout_s,
                "seconds a keep-alive connection may idle (default 30)")
      ->group(lim);
  c->add_option("--write-timeout", o.limits.write_timeout_s,
                "seconds to send a response (default 300)")
      ->group(lim);
  c->add_option("--request-deadline", o.request_deadline_s,
                "seconds from received to answered before 504 (default 30)")
      ->group(lim);

  const std::string ops = "Operations";
  c->add_option("--exit-timeout", o.exit_timeout_s,
                "seconds to finish in-flight requests on SIGTERM/SIGINT (default 30)")
      ->group(ops);
  c->add_option("--drain-delay", o.drain_delay_s,
                "seconds to report not-ready before closing the listener on SIGTERM (default 0)")
      ->group(ops);
  c->add_option("--poll-interval", o.registry.poll_interval_s,
                "seconds between model file/repository re-scans; 0: only on SIGHUP (default 2)")
      ->group(ops);
  c->add_option("--keep-versions", o.registry.keep_versions,
                "newest versions served per model (default 1)")
      ->group(ops);
  c->add_flag("!--no-access-log", o.access_log, "do not log one line per request")->group(ops);
  // Fault injection for the server's own tests: every engine batch / warm-up takes this much
  // longer.
  c->add_option("--test-inference-delay-ms", args->test_delay_ms, "")->group("");
  c->add_option("--test-warmup-delay-ms", args->test_warmup_delay_ms, "")->group("");
  c->callback([args, run] { *run = [args] { return run_serve(*args); }; });
}

}  // namespace morsel::cli
