// `morsel train`: a new classifier head on a pretrained backbone, from a folder of labelled
// photos (or Food-101 / IDX data), written as one deployable .morsel file. With --cv K it runs
// stratified K-fold cross-validation and reports mean +- sd top-1 / top-k instead.
#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/cpu.h"
#include "format/model.h"
#include "format/writer.h"
#include "train/dataset.h"
#include "train/features.h"
#include "train/head.h"
#include "train/trainer.h"

namespace morsel::cli {

namespace {

struct TrainArgs {
  std::string data, backbone, output, cut, name, description, labels, report;
  std::string format = "auto", optimizer = "adam", schedule = "cosine", cache;
  bool no_cache = false, dedup = false, quiet = false, no_flip = false;
  int min_per_class = 1, max_per_class = 0, cv = 0, augment = 0, threads = 0, engine_batch = 16,
      top_k = 5;
  double val_fraction = 0.1, crop_area_min = 0.5, jitter = 0.1;
  uint64_t seed = 1;
  train::HeadConfig head;
  train::TrainConfig tc;
};

std::string default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/morsel/features";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/morsel/features";
  return ".morsel-cache/features";
}

std::string join_ints(const std::vector<int>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); i++) s += (i ? "," : "") + std::to_string(v[i]);
  return s.empty() ? "none" : s;
}

// The rows of `keep_sample` samples: every view, or the plain view only (validation, test).
train::Features select_rows(const train::Features& f, const std::vector<char>& keep_sample,
                            bool plain_only) {
  train::Features out;
  out.dim = f.dim;
  for (size_t r = 0; r < f.rows(); r++) {
    if ((plain_only && f.view[r] != 0) || !keep_sample[f.sample[r]]) continue;
    out.data.insert(out.data.end(), f.row(r), f.row(r) + f.dim);
    out.sample.push_back(f.sample[r]);
    out.view.push_back(f.view[r]);
    out.label.push_back(f.label[r]);
  }
  return out;
}

train::Metrics head_metrics(const train::Head& h, const train::Features& f, int k, int threads) {
  train::Metrics m(h.classes(), k);
  std::vector<float> probs(f.rows() * static_cast<size_t>(h.classes()));
  h.predict(f.data.data(), static_cast<int64_t>(f.rows()), probs.data(), threads);
  for (size_t r = 0; r < f.rows(); r++) m.add(probs.data() + r * static_cast<size_t>(h.classes()), f.label[r]);
  return m;
}

int run_train(TrainArgs& a) {
  using nlohmann::json;
  train::DatasetOptions dopt;
  if (!train::dataset_format_from_name(a.format, &dopt.format))
    return fail("--format must be auto, folder, food101 or idx");
  if (!train::optimizer_from_name(a.optimizer, &a.tc.optimizer))
    return fail("--optimizer must be adam, adamw or sgd");
  if (!train::schedule_from_name(a.schedule, &a.tc.schedule))
    return fail("--schedule must be constant, cosine or step");
  if (a.cv == 1 || a.cv < 0 || a.cv > 100) return fail("--cv must be 0 (off) or 2..100");
  if (a.cv == 0 && a.output.empty()) return fail("give -o OUTPUT.morsel (or --cv K to cross-validate)");
  if (!(a.val_fraction >= 0 && a.val_fraction < 1)) return fail("--val-fraction must be in [0, 1)");
  if (a.augment < 0 || a.augment > 64) return fail("--augment must be in 0..64");
  a.tc.seed = a.seed;
  a.tc.threads = a.threads;
  if (Status st = train::train_config_validate(a.head, a.tc); !st.ok()) return fail(st);
  dopt.labels_file = a.labels;
  dopt.dedup = a.dedup;
  dopt.min_per_class = a.min_per_class;
  dopt.max_per_class = a.max_per_class;

  auto ds = train::load_dataset(a.data, dopt);
  if (!ds.ok()) return fail(ds.status());
  const train::Dataset& data = *ds;
  const int classes = static_cast<int>(data.classes.size());
  const bool has_test = data.format == train::DatasetFormat::FOOD101 || data.format == train::DatasetFormat::IDX;
  std::fprintf(stderr, "data      %s (%s): %zu images, %d classes\n", a.data.c_str(),
               train::dataset_format_name(data.format), data.samples.size(), classes);

  auto loaded = model_load_file(a.backbone);
  if (!loaded.ok()) return fail(loaded.status().with_context(a.backbone));
  auto bb = train::make_backbone(*loaded, a.cut);
  if (!bb.ok()) return fail(bb.status());
  std::fprintf(stderr, "backbone  %s cut at '%s': %lld features\n", a.backbone.c_str(),
               bb->cut.c_str(), (long long)bb->dim);

  train::FeatureOptions fo;
  fo.threads = a.threads;
  fo.batch = a.engine_batch;
  fo.cache_dir = a.no_cache ? "" : (a.cache.empty() ? default_cache_dir() : a.cache);
  fo.progress = !a.quiet;
  fo.augment.crop_area_min = static_cast<float>(a.crop_area_min);
  fo.augment.flip = !a.no_flip;
  fo.augment.brightness = fo.augment.contrast = fo.augment.saturation = static_cast<float>(a.jitter);
  fo.augment_seed = a.seed;
  train::FeatureStats fstats;
  auto feats = train::compute_features(*bb, data, {}, 1 + a.augment, fo, &fstats);
  if (!feats.ok()) return fail(feats.status());
  for (const auto& s : fstats.skipped) std::fprintf(stderr, "skipped   %s\n", s.c_str());
  std::fprintf(stderr, "features  %lld computed, %lld from cache, %.1f s\n", (long long)fstats.computed,
               (long long)fstats.cached, fstats.seconds);

  json report = {{"data", a.data}, {"format", train::dataset_format_name(data.format)},
                 {"images", data.samples.size()}, {"classes", data.classes},
                 {"skipped", fstats.skipped}, {"backbone", a.backbone}, {"cut", bb->cut},
                 {"feature_dim", bb->dim}, {"augment_copies", a.augment},
                 {"feature_seconds", fstats.seconds}, {"features_computed", fstats.computed},
                 {"features_cached", fstats.cached}, {"hidden", a.head.hidden},
                 {"dropout", a.head.dropout}, {"optimizer", a.optimizer}, {"lr", a.tc.lr},
                 {"epochs", a.tc.epochs}, {"batch_size", a.tc.batch_size},
                 {"weight_decay", a.tc.weight_decay}, {"label_smoothing", a.tc.label_smoothing},
                 {"schedule", a.schedule}, {"seed", a.seed}};
  const int threads = a.threads > 0 ? a.threads : physical_cores();
  auto print_epoch = [&](const train::EpochLog& e) {
    if (a.quiet) return;
    if (e.has_val)
      std::fprintf(stderr, "epoch %3d  lr %.2e  loss %.4f  acc %.4f  val loss %.4f  val acc %.4f%s  %.1fs\n",
                   e.epoch, e.lr, e.train_loss, e.train_acc, e.val_loss, e.val_acc,
                   e.best ? " *" : "", e.seconds);
    else
      std::fprintf(stderr, "epoch %3d  lr %.2e  loss %.4f  acc %.4f  %.1fs\n", e.epoch, e.lr,
                   e.train_loss, e.train_acc, e.seconds);
  };
  const std::vector<int> labels = data.labels();
  // Samples whose plain view was loaded.
  std::vector<char> loaded_ok(data.samples.size(), 0);
  for (size_t r = 0; r < feats->rows(); r++) loaded_ok[feats->sample[r]] = 1;

  // Trains on `train_mask` samples with an inner stratified validation split for early stopping.
  auto fit = [&](const std::vector<char>& train_mask, uint64_t seed, train::TrainReport* rep,
                 bool log) -> Result<train::Head> {
    std::vector<size_t> pool_idx;
    std::vector<int> pool_labels;
    for (size_t i = 0; i < train_mask.size(); i++)
      if (train_mask[i] && loaded_ok[i]) {
        pool_idx.push_back(i);
        pool_labels.push_back(labels[i]);
      }
    std::vector<size_t> tr, va;
    train::stratified_split(pool_labels, a.val_fraction, seed, &tr, &va);
    std::vector<char> tr_mask(data.samples.size(), 0), va_mask(data.samples.size(), 0);
    for (size_t i : tr) tr_mask[pool_idx[i]] = 1;
    for (size_t i : va) va_mask[pool_idx[i]] = 1;
    train::Features ftr = select_rows(*feats, tr_mask, false), fva = select_rows(*feats, va_mask, true);
    train::TrainConfig tc = a.tc;
    tc.seed = seed;
    return train::train_head(ftr, fva.rows() ? &fva : nullptr, classes, a.head, tc, rep,
                             log ? std::function<void(const train::EpochLog&)>(print_epoch)
                                 : std::function<void(const train::EpochLog&)>());
  };

  if (a.cv > 0) {
    const std::vector<int> folds = train::stratified_folds(labels, a.cv, a.seed);
    std::vector<double> top1, topk;
    json fold_reports = json::array();
    for (int f = 0; f < a.cv; f++) {
      std::vector<char> train_mask(data.samples.size()), test_mask(data.samples.size());
      for (size_t i = 0; i < folds.size(); i++) {
        train_mask[i] = folds[i] != f;
        test_mask[i] = folds[i] == f;
      }
      train::TrainReport rep;
      auto head = fit(train_mask, a.seed + static_cast<uint64_t>(f), &rep, false);
      if (!head.ok()) return fail(head.status());
      train::Metrics m = head_metrics(*head, select_rows(*feats, test_mask, true), a.top_k, threads);
      top1.push_back(m.top1());
      topk.push_back(m.topk());
      std::fprintf(stderr, "fold %d/%d  test %lld images  top-1 %.4f  top-%d %.4f  (best epoch %d, %.1f s)\n",
                   f + 1, a.cv, (long long)m.count(), m.top1(), m.k(), m.topk(), rep.best_epoch,
                   rep.seconds);
      fold_reports.push_back({{"fold", f + 1}, {"test_images", m.count()}, {"top1", m.top1()},
                              {"topk", m.topk()}, {"best_epoch", rep.best_epoch},
                              {"seconds", rep.seconds}});
    }
    double m1, s1, mk, sk;
    train::mean_sd(top1, &m1, &s1);
    train::mean_sd(topk, &mk, &sk);
    std::printf("%d-fold cross-validation, %zu images, %d classes: top-1 %.4f +- %.4f, top-%d %.4f +- %.4f\n",
                a.cv, static_cast<size_t>(std::count(loaded_ok.begin(), loaded_ok.end(), 1)), classes, m1, s1, std::min(a.top_k, classes), mk, sk);
    report["cv"] = {{"folds", a.cv}, {"top_k", std::min(a.top_k, classes)}, {"top1_mean", m1},
                    {"top1_sd", s1}, {"topk_mean", mk}, {"topk_sd", sk}, {"per_fold", fold_reports}};
  }

  if (!a.output.empty()) {
    std::vector<char> all(data.samples.size(), 1);
    train::TrainReport rep;
    auto head = fit(all, a.seed, &rep, true);
    if (!head.ok()) return fail(head.status());
    const train::EpochLog& best = rep.epochs.at(static_cast<size_t>(rep.best_epoch - 1));
    std::fprintf(stderr, "head      %zu epochs in %.1f s, best epoch %d (val acc %.4f)%s\n",
                 rep.epochs.size(), rep.seconds, rep.best_epoch, best.val_acc,
                 rep.stopped_early ? ", stopped early" : "");
    report["head_seconds"] = rep.seconds;
    report["best_epoch"] = rep.best_epoch;
    report["val_acc"] = best.val_acc;
    report["train_acc"] = best.train_acc;
    json epochs = json::array();
    for (const auto& e : rep.epochs)
      epochs.push_back({{"epoch", e.epoch}, {"lr", e.lr}, {"train_loss", e.train_loss},
                        {"train_acc", e.train_acc}, {"val_loss", e.val_loss}, {"val_acc", e.val_acc}});
    report["epochs_log"] = epochs;
    if (has_test) {
      train::DatasetOptions topt = dopt;
      topt.split = "test";
      topt.format = data.format;
      auto test = train::load_dataset(a.data, topt);
      if (!test.ok()) return fail(test.status());
      if (test->classes != data.classes) return fail("the test split's classes differ from the train split's");
      train::FeatureStats ts;
      fo.progress = !a.quiet;
      auto tf = train::compute_features(*bb, *test, {}, 1, fo, &ts);
      if (!tf.ok()) return fail(tf.status());
      train::Metrics m = head_metrics(*head, *tf, a.top_k, threads);
      std::printf("test      %lld images: top-1 %.4f, top-%d %.4f\n", (long long)m.count(), m.top1(),
                  m.k(), m.topk());
      report["test"] = {{"images", m.count()}, {"top1", m.top1()}, {"top_k", m.k()}, {"topk", m.topk()},
                        {"feature_seconds", ts.seconds}};
    }
    std::string desc = a.description;
    if (desc.empty()) {
      char buf[512];
      std::snprintf(buf, sizeof buf, "Trained by morsel train on %s (%zu images, %d classes): "
                    "backbone %s cut at %s, hidden %s, %s lr %g, best epoch %d, val acc %.4f",
                    base_name(a.data).c_str(), data.samples.size(), classes,
                    base_name(a.backbone).c_str(), bb->cut.c_str(), join_ints(a.head.hidden).c_str(),
                    a.optimizer.c_str(), a.tc.lr, rep.best_epoch, best.val_acc);
      desc = buf;
    }
    std::string name = a.name;
    if (name.empty()) {
      name = base_name(a.output);
      if (ends_with(name, ".morsel")) name.resize(name.size() - 7);
    }
    auto model = train::build_trained_model(*bb, *head, data.classes, name, desc);
    if (!model.ok()) return fail(model.status());
    if (Status st = model_save_file(*model, a.output); !st.ok()) return fail(st);
    std::printf("wrote     %s (%d classes: %s%s)\n", a.output.c_str(), classes,
                data.classes[0].c_str(), classes > 1 ? ", ..." : "");
  }
  if (!a.report.empty()) {
    FILE* f = std::fopen(a.report.c_str(), "wb");
    if (!f) return fail("cannot write " + a.report);
    const std::string s = report.dump(2) + "\n";
    std::fwrite(s.data(), 1, s.size(), f);
    std::fclose(f);
  }
  return 0;
}

}  // namespace

void register_train(CLI::App& app, Action* run) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* c = app.add_subcommand(
      "train", "Train a classifier head on a pretrained backbone and write a .morsel model");
  c->add_option("data", a->data,
                "dataset: an image folder (DATA/<class>/*.jpg|png|webp), a Food-101 folder "
                "(images/, meta/) or a folder of IDX files (Fashion-MNIST)")->required();
  c->add_option("-b,--backbone", a->backbone, "the .morsel model whose features to train on")->required();
  c->add_option("-o,--output", a->output, "the trained model to write");
  c->add_option("--cut", a->cut, "tensor to take features from (default: the input of the model's "
                "Dense head; a [N,H,W,C] tensor is average-pooled)");
  c->add_option("--format", a->format, "dataset layout: auto, folder, food101, idx");
  c->add_option("--labels", a->labels, "class names, one per line (names IDX classes)");
  c->add_flag("--dedup", a->dedup, "drop images whose bytes repeat an earlier image's");
  c->add_option("--min-per-class", a->min_per_class, "drop classes with fewer images (after --dedup)");
  c->add_option("--max-per-class", a->max_per_class, "use at most this many images per class");
  c->add_option("--hidden", a->head.hidden, "hidden layer sizes, e.g. 256 or 512,128 (0: a linear head)")
      ->delimiter(',')->default_str("256");
  c->add_option("--dropout", a->head.dropout, "dropout after each hidden layer (default 0.2)");
  c->add_option("--epochs", a->tc.epochs, "maximum epochs (default 30)");
  c->add_option("--batch-size", a->tc.batch_size, "mini-batch size (default 64)");
  c->add_option("--lr", a->tc.lr, "learning rate (default 1e-3)");
  c->add_option("--optimizer", a->optimizer, "adam (default), adamw or sgd");
  c->add_option("--weight-decay", a->tc.weight_decay, "L2 (adam, sgd) or decoupled (adamw) decay");
  c->add_option("--momentum", a->tc.momentum, "SGD momentum (default 0.9)");
  c->add_option("--label-smoothing", a->tc.label_smoothing, "label smoothing epsilon (default 0)");
  c->add_option("--schedule", a->schedule, "learning-rate schedule: cosine (default), step, constant");
  c->add_option("--step-epochs", a->tc.step_epochs, "step schedule: epochs per step (default 10)");
  c->add_option("--step-gamma", a->tc.step_gamma, "step schedule: factor per step (default 0.1)");
  c->add_option("--patience", a->tc.patience, "stop after this many epochs without a better "
                "validation accuracy (default 5; 0: never)");
  c->add_option("--val-fraction", a->val_fraction, "stratified validation share of the training "
                "images, for early stopping (default 0.1)");
  c->add_option("--augment", a->augment, "augmented copies of each training image (random resized "
                "crop, flip, colour jitter; default 0)");
  c->add_option("--crop-area-min", a->crop_area_min, "augmentation: smallest crop area (default 0.5)");
  c->add_flag("--no-flip", a->no_flip, "augmentation: no horizontal flips");
  c->add_option("--jitter", a->jitter, "augmentation: brightness/contrast/saturation range (default 0.1)");
  c->add_option("--cv", a->cv, "stratified K-fold cross-validation: report mean +- sd top-1/top-k");
  c->add_option("--top-k", a->top_k, "k for top-k accuracy (default 5)");
  c->add_option("--cache", a->cache, "feature cache directory (default ~/.cache/morsel/features)");
  c->add_flag("--no-cache", a->no_cache, "compute every feature, keep none");
  c->add_option("--threads", a->threads, "threads (default: physical cores)");
  c->add_option("--engine-batch", a->engine_batch, "images per backbone run (default 16)");
  c->add_option("--seed", a->seed, "seed for splits, initialization, shuffling, augmentation");
  c->add_option("--name", a->name, "model name stored in the file (default: output file name)");
  c->add_option("--description", a->description, "description stored in the file");
  c->add_option("--report", a->report, "write a JSON report (settings, per-epoch log, results)");
  c->add_flag("-q,--quiet", a->quiet, "no progress or per-epoch lines");
  a->head.hidden = {256};
  c->callback([a, run]() {
    // "--hidden 0" or "--hidden none" means a linear head.
    std::vector<int> h;
    for (int v : a->head.hidden)
      if (v != 0) h.push_back(v);
    a->head.hidden = h;
    *run = [a]() { return run_train(*a); };
  });
}

}  // namespace morsel::cli
