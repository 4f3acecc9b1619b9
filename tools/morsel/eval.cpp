// `morsel eval`: a model on a labelled dataset: top-1 / top-k accuracy, per-class precision and
// recall, the confusion matrix (text, and PNG with --confusion-image) and mean latency.
// --compare B.morsel ...: the same data through several models (e.g. f32, fp16, int8 copies), as
// one table: file size, latency at 1 and 2 threads, top-1 agreement with the first model,
// accuracy.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "format/model.h"
#include "image/decode/decode.h"
#include "runtime/classifier.h"
#include "train/dataset.h"
#include "train/trainer.h"

namespace morsel::cli {

namespace {

struct EvalArgs {
  std::string model, data, format = "auto", split = "test", labels, confusion_image;
  std::vector<std::string> compare;
  int top_k = 5, threads = 0, min_per_class = 1, max_per_class = 0, latency_runs = 30;
  bool json = false, quiet = false, dedup = false;
};

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

struct Entry {
  std::string path;
  std::shared_ptr<const Model> model;
  std::unique_ptr<Classifier> clf;
  std::vector<int> class_of_output;  // model output -> dataset class (-1: none)
  std::unique_ptr<train::Metrics> metrics;
  int64_t agree = 0;
  double latency_sum = 0;
  int64_t file_size = 0;
  double lat1 = 0, lat2 = 0;
};

// Maps model outputs to dataset classes by name (or by position when the model or an IDX dataset
// has no names). Error when a dataset class has no output.
Status map_classes(const Model& m, int outputs, const train::Dataset& d, std::vector<int>* out) {
  const auto& labels = m.meta.labels;
  out->assign(static_cast<size_t>(outputs), -1);
  const bool numeric = d.format == train::DatasetFormat::IDX && d.classes[0] == "0";
  if (labels.empty() || numeric) {
    if (static_cast<size_t>(outputs) != d.classes.size())
      return MORSEL_ERROR(INVALID_ARGUMENT, "model has %d outputs and no matching labels; the data has %zu classes",
                          outputs, d.classes.size());
    for (int i = 0; i < outputs; i++) (*out)[static_cast<size_t>(i)] = i;
    return Status();
  }
  for (size_t c = 0; c < d.classes.size(); c++) {
    auto it = std::find(labels.begin(), labels.end(), d.classes[c]);
    if (it == labels.end())
      return MORSEL_ERROR(INVALID_ARGUMENT, "data class '%s' is not one of the model's labels",
                          d.classes[c].c_str());
    (*out)[static_cast<size_t>(it - labels.begin())] = static_cast<int>(c);
  }
  return Status();
}

int run_eval(const EvalArgs& a) {
  using nlohmann::json;
  train::DatasetOptions dopt;
  if (!train::dataset_format_from_name(a.format, &dopt.format))
    return fail("--format must be auto, folder, food101 or idx");
  dopt.split = a.split;
  dopt.labels_file = a.labels;
  dopt.max_per_class = a.max_per_class;
  dopt.min_per_class = a.min_per_class;
  dopt.dedup = a.dedup;
  auto ds = train::load_dataset(a.data, dopt);
  if (!ds.ok()) return fail(ds.status());
  const train::Dataset& data = *ds;
  const int classes = static_cast<int>(data.classes.size());

  std::vector<std::string> paths = {a.model};
  paths.insert(paths.end(), a.compare.begin(), a.compare.end());
  std::vector<Entry> models(paths.size());
  for (size_t i = 0; i < paths.size(); i++) {
    Entry& e = models[i];
    e.path = paths[i];
    auto loaded = model_load_file(e.path);
    if (!loaded.ok()) return fail(loaded.status().with_context(e.path));
    e.model = std::make_shared<const Model>(std::move(loaded.value()));
    SessionOptions so;
    so.threads = a.threads;
    auto clf = Classifier::create(e.model, so);
    if (!clf.ok()) return fail(clf.status().with_context(e.path));
    e.clf = std::move(clf.value());
    if (Status st = map_classes(*e.model, e.clf->num_classes(), data, &e.class_of_output); !st.ok())
      return fail(st.with_context(e.path));
    e.metrics = std::make_unique<train::Metrics>(classes, a.top_k);
    struct stat sb;
    if (::stat(e.path.c_str(), &sb) == 0) e.file_size = sb.st_size;
  }

  // Accuracy and agreement: every image through every model, one image at a time (as served).
  std::vector<std::string> skipped;
  std::vector<float> probs(static_cast<size_t>(classes));
  int64_t evaluated = 0;
  const double t0 = now_ms();
  for (size_t i = 0; i < data.samples.size(); i++) {
    auto img = data.load(i);
    if (!img.ok()) {
      skipped.push_back(img.status().message());
      continue;
    }
    int first_pred = -1;
    for (size_t mi = 0; mi < models.size(); mi++) {
      Entry& e = models[mi];
      const double s = now_ms();
      auto x = e.clf->preprocess_image(img->rgb.data(), img->width, img->height, 3,
                                       int64_t{img->width} * 3);
      if (!x.ok()) return fail(x.status().with_context(data.samples[i].path));
      auto y = e.clf->run_batch(*x);
      if (!y.ok()) return fail(y.status());
      e.latency_sum += now_ms() - s;
      std::fill(probs.begin(), probs.end(), 0.0f);
      const float* p = y->data<float>();
      for (int o = 0; o < e.clf->num_classes(); o++)
        if (e.class_of_output[static_cast<size_t>(o)] >= 0) probs[static_cast<size_t>(e.class_of_output[static_cast<size_t>(o)])] = p[o];
      e.metrics->add(probs.data(), data.samples[i].label);
      const int pred = static_cast<int>(std::max_element(probs.begin(), probs.end()) - probs.begin());
      if (mi == 0) first_pred = pred;
      if (pred == first_pred) e.agree++;
    }
    evaluated++;
    if (!a.quiet && isatty(2) && (evaluated % 200 == 0 || i + 1 == data.samples.size()))
      std::fprintf(stderr, "\reval %zu/%zu  %.0f img/s", i + 1, data.samples.size(),
                   evaluated / std::max(1e-9, (now_ms() - t0) / 1000));
  }
  if (!a.quiet && isatty(2)) std::fprintf(stderr, "\n");
  for (const auto& s : skipped) std::fprintf(stderr, "skipped   %s\n", s.c_str());
  if (evaluated == 0) return fail("no image of " + a.data + " could be read");

  // Latency at 1 and 2 threads: the same preprocessed image, models alternating, medians.
  if (models.size() > 1) {
    auto img = data.load(0);
    for (int threads : {1, 2}) {
      std::vector<std::unique_ptr<Classifier>> cl;
      std::vector<Tensor> xs;
      for (Entry& e : models) {
        SessionOptions so;
        so.threads = threads;
        auto c = Classifier::create(e.model, so);
        if (!c.ok()) return fail(c.status());
        auto x = (*c)->preprocess_image(img->rgb.data(), img->width, img->height, 3, int64_t{img->width} * 3);
        if (!x.ok()) return fail(x.status());
        xs.push_back(std::move(x.value()));
        for (int w = 0; w < 3; w++) (void)(*c)->run_batch(xs.back());
        cl.push_back(std::move(c.value()));
      }
      std::vector<std::vector<double>> t(models.size());
      for (int r = 0; r < a.latency_runs; r++)
        for (size_t mi = 0; mi < models.size(); mi++) {
          const double s = now_ms();
          (void)cl[mi]->run_batch(xs[mi]);
          t[mi].push_back(now_ms() - s);
        }
      for (size_t mi = 0; mi < models.size(); mi++)
        (threads == 1 ? models[mi].lat1 : models[mi].lat2) = median(t[mi]);
    }
  }

  const Entry& m0 = models[0];
  if (a.json) {
    json out = {{"data", a.data}, {"images", evaluated}, {"skipped", skipped}, {"classes", data.classes}};
    json ms = json::array();
    for (const Entry& e : models) {
      json per_class = json::array();
      for (int c = 0; c < classes; c++)
        per_class.push_back({{"class", data.classes[static_cast<size_t>(c)]}, {"precision", e.metrics->precision(c)},
                             {"recall", e.metrics->recall(c)}, {"support", e.metrics->support(c)}});
      json conf = json::array();
      for (int t = 0; t < classes; t++) {
        json row = json::array();
        for (int p = 0; p < classes; p++) row.push_back(e.metrics->confusion(t, p));
        conf.push_back(row);
      }
      json j = {{"model", e.path}, {"file_bytes", e.file_size}, {"top1", e.metrics->top1()},
                {"top_k", e.metrics->k()}, {"topk", e.metrics->topk()},
                {"mean_latency_ms", e.latency_sum / double(evaluated)},
                {"top1_agreement", double(e.agree) / double(evaluated)},
                {"quantization", e.model->meta.provenance.quantization},
                {"per_class", per_class}, {"confusion", conf}};
      if (models.size() > 1) {
        j["latency_ms_1_thread"] = e.lat1;
        j["latency_ms_2_threads"] = e.lat2;
      }
      ms.push_back(j);
    }
    out["models"] = ms;
    std::printf("%s\n", out.dump(2).c_str());
  } else if (models.size() == 1) {
    std::printf("%s on %s: %lld images, %d classes\n", a.model.c_str(), a.data.c_str(),
                (long long)evaluated, classes);
    std::printf("top-1 %.4f   top-%d %.4f   mean latency %.2f ms (preprocess + inference)\n\n",
                m0.metrics->top1(), m0.metrics->k(), m0.metrics->topk(), m0.latency_sum / double(evaluated));
    std::printf("%s", m0.metrics->report(data.classes).c_str());
  } else {
    std::printf("%lld images of %s, %d classes; latency: median of %d runs, batch 1, models alternating\n\n",
                (long long)evaluated, a.data.c_str(), classes, a.latency_runs);
    std::printf("%-36s %10s %7s %9s %9s %10s %8s %8s\n", "model", "size", "size %", "1T ms", "2T ms",
                "agreement", "top-1", "top-k");
    for (const Entry& e : models) {
      std::printf("%-36s %8.2fMB %6.1f%% %9.2f %9.2f %9.2f%% %8.4f %8.4f\n", base_name(e.path).c_str(),
                  e.file_size / 1e6, 100.0 * double(e.file_size) / double(std::max<int64_t>(1, m0.file_size)),
                  e.lat1, e.lat2, 100.0 * double(e.agree) / double(evaluated), e.metrics->top1(),
                  e.metrics->topk());
    }
  }
  if (!a.confusion_image.empty()) {
    Status st = image_write_png(a.confusion_image, m0.metrics->confusion_image());
    if (!st.ok()) return fail(st);
    if (!a.json) std::printf("\nconfusion matrix image: %s\n", a.confusion_image.c_str());
  }
  return 0;
}

}  // namespace

void register_eval(CLI::App& app, Action* run) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* c = app.add_subcommand("eval", "Accuracy, per-class precision/recall, confusion matrix "
                                   "and latency of a model on a labelled dataset");
  c->add_option("model", a->model, ".morsel classifier")->required();
  c->add_option("data", a->data, "labelled images: a folder of class folders, Food-101 or IDX")->required();
  c->add_option("--compare", a->compare, "more models to run on the same data, shown in one table")
      ->expected(1, 64);
  c->add_option("--format", a->format, "dataset layout: auto, folder, food101, idx");
  c->add_option("--split", a->split, "Food-101 / IDX split: test (default) or train");
  c->add_option("--labels", a->labels, "class names, one per line (names IDX classes)");
  c->add_flag("--dedup", a->dedup, "drop images whose bytes repeat an earlier image's");
  c->add_option("--min-per-class", a->min_per_class, "drop classes with fewer images (after --dedup)");
  c->add_option("--max-per-class", a->max_per_class, "at most this many images per class");
  c->add_option("--top-k", a->top_k, "k for top-k accuracy (default 5)");
  c->add_option("--threads", a->threads, "threads (default: physical cores)");
  c->add_option("--latency-runs", a->latency_runs, "--compare: timed runs per model and thread count");
  c->add_option("--confusion-image", a->confusion_image, "write the confusion matrix as a PNG");
  c->add_flag("--json", a->json, "machine-readable output");
  c->add_flag("-q,--quiet", a->quiet, "no progress line");
  c->callback([a, run]() { *run = [a]() { return run_eval(*a); }; });
}

}  // namespace morsel::cli
