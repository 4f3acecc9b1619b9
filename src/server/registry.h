// ModelRegistry: the models `morsel serve` serves, from `--model [NAME=]PATH` (version "1") and/or
// a repository directory `<repo>/<name>/<version>/model.morsel` (versions are positive integers).
// Every version is read into memory (so a file overwritten in place cannot change a loaded model),
// verified, given one warmed-up Classifier per worker and an InferenceQueue, then published.
//
// Hot reload: scan() (on a timer, on SIGHUP, or on request) loads new or changed versions in the
// background and swaps them in; a version that fails to load is logged, counted and remembered
// (not retried until its file changes), and whatever served before keeps serving. Requests hold a
// shared_ptr to the version that accepted them, so in-flight requests finish on the old version.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "format/model.h"
#include "server/batcher.h"

namespace morsel::server {

class Logger;
class Metrics;

// What identifies a file's contents cheaply: device, inode, size, modification time.
struct FileId {
  uint64_t dev = 0, ino = 0, size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileId&) const = default;
};

struct ModelVersion {
  std::string name;
  std::string version;  // "1", "2", ...
  std::string path;     // where it was loaded from (logs only; never sent to clients)
  FileId file_id;
  std::shared_ptr<const Model> model;
  std::shared_ptr<const uint8_t> bytes;  // the whole .morsel file (downloads), 64-byte aligned
  size_t size = 0;
  std::string etag;  // "\"<the file's XXH64 checksum, hex>\""
  std::string input_name, output_name;
  int64_t num_classes = 0;
  std::string loaded_at;  // ISO-8601 UTC
  std::unique_ptr<InferenceQueue> queue;
};

struct RegistryOptions {
  std::vector<std::string> models;  // "[NAME=]PATH"
  std::string repo;                 // may be empty
  double poll_interval_s = 2;       // repository/file re-scan period; 0: only on rescan()
  int keep_versions = 1;            // newest versions served per model
  BatchOptions batch;
};

class ModelRegistry {
 public:
  ModelRegistry(RegistryOptions options, Metrics* metrics, Logger* log);
  ~ModelRegistry();

  // Checks the options (names, paths) without loading anything.
  Status validate_options() const;
  // Loads every configured model (blocking). Fails when a model has no loadable version.
  Status load_initial();
  // Starts the background re-scan thread (hot reload).
  void start_watching();
  // Asks the watcher for a re-scan now (SIGHUP).
  void request_rescan();
  // Stops the watcher and every queue (queued jobs get SHUTDOWN).
  void shutdown();

  // The version to serve: `version` empty means the newest loaded one. Null if none.
  std::shared_ptr<ModelVersion> find(std::string_view name, std::string_view version = {}) const;
  // Every loaded version, by name, newest first.
  std::vector<std::shared_ptr<ModelVersion>> all() const;
  std::vector<std::shared_ptr<ModelVersion>> versions(std::string_view name) const;
  std::string default_model() const;
  void queue_depths(std::map<std::string, int64_t>* depth, int64_t* loaded) const;

  // One pass: loads what is new or changed, unloads what is gone. Serialized.
  void scan();

 private:
  struct Candidate {
    int64_t version;
    std::string path;
    FileId id;
  };
  std::map<std::string, std::vector<Candidate>> discover(
      std::vector<std::string>* vanished_ok) const;
  Result<std::shared_ptr<ModelVersion>> load_version(const std::string& name, int64_t version,
                                                     const std::string& path, const FileId& id);

  RegistryOptions opt_;
  Metrics* metrics_;
  Logger* log_;
  std::vector<std::pair<std::string, std::string>> specs_;  // (name, path) from --model

  mutable std::mutex mu_;  // guards loaded_
  std::map<std::string, std::map<int64_t, std::shared_ptr<ModelVersion>>> loaded_;

  std::mutex scan_mu_;                    // one scan at a time; guards failed_
  std::map<std::string, FileId> failed_;  // path -> the contents that failed to load

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool watch_stop_ = false;
  bool rescan_ = false;
  std::thread watcher_;
};

// Parses "[NAME=]PATH"; the name defaults to the file name without ".morsel".
bool parse_model_spec(const std::string& spec, std::string* name, std::string* path);
// Model names: 1..128 of [A-Za-z0-9._-], starting with a letter or digit.
bool valid_model_name(std::string_view name);

}  // namespace morsel::server
