// The morsel CLI entry point: subcommands convert, inspect, predict (one file each).
#include <map>

#include "commands.h"
#include "format/model.h"

namespace morsel::cli {

int fail(const Status& st) {
  std::string msg = st.message();
  std::fprintf(stderr, "morsel: error: %s\n", msg.c_str());
  return 1;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "morsel: error: %s\n", message.c_str());
  return 1;
}

std::string read_text_file(const std::string& path, Status* st) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    *st = MORSEL_ERROR(IO_ERROR, "cannot open %s", path.c_str());
    return "";
  }
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    out.append(buf, n);
    if (out.size() > (size_t{64} << 20)) {
      std::fclose(f);
      *st = MORSEL_ERROR(LIMIT_EXCEEDED, "%s is larger than 64 MiB", path.c_str());
      return "";
    }
  }
  std::fclose(f);
  *st = Status();
  return out;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string base_name(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

}  // namespace morsel::cli

int main(int argc, char** argv) {
  CLI::App app{
      "morsel: train, convert, shrink and run image classifiers with one engine and one file.\n"};
  app.set_version_flag("--version", std::string(morsel::kConverterName));
  app.require_subcommand(1);
  morsel::cli::Action run;
  morsel::cli::register_convert(app, &run);
  morsel::cli::register_inspect(app, &run);
  morsel::cli::register_predict(app, &run);
  morsel::cli::register_serve(app, &run);
  morsel::cli::register_bench(app, &run);
  morsel::cli::register_train(app, &run);
  morsel::cli::register_eval(app, &run);
  app.footer(
      "\nExamples:\n"
      "  morsel convert models/nsfwjs/mobilenet_v2 -o mobilenet_v2.morsel\n"
      "  morsel inspect mobilenet_v2.morsel\n"
      "  morsel predict mobilenet_v2.morsel photo.jpg --top-k 5\n"
      "  morsel serve --model mobilenet_v2.morsel --port 8080\n"
      "  morsel train photos/ --backbone mobilenet_v2.morsel -o food.morsel\n"
      "  morsel eval food.morsel test-photos/\n");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    return run ? run() : 1;
  } catch (const std::exception& e) {  // a bug, never input: still exit cleanly
    return morsel::cli::fail(std::string("internal error: ") + e.what());
  }
}
