// The CLI's subcommands: each file registers one with CLI11 and runs it.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <string>

#include "core/status.h"

namespace morsel::cli {

// Each register_* adds a subcommand to `app` and sets `*run` to the action to call when that
// subcommand is chosen. Actions return the process exit code.
using Action = std::function<int()>;
void register_convert(CLI::App& app, Action* run);
void register_inspect(CLI::App& app, Action* run);
void register_predict(CLI::App& app, Action* run);
void register_serve(CLI::App& app, Action* run);
void register_bench(CLI::App& app, Action* run);
void register_train(CLI::App& app, Action* run);
void register_eval(CLI::App& app, Action* run);

// Prints "morsel: error: <message>" (one line: newlines in the message become "; ").
int fail(const Status& st);
int fail(const std::string& message);

std::string read_text_file(const std::string& path, Status* st);

bool ends_with(const std::string& s, const std::string& suffix);
// "a/b/c.jpg" -> "c.jpg"; trailing slashes ignored ("a/dir/" -> "dir").
std::string base_name(const std::string& path);

}  // namespace morsel::cli
