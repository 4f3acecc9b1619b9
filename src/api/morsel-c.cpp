// The C API (include/morsel/morsel.h) over Model, Classifier and Session. Every entry point
// catches everything: no exception crosses the C boundary.
#include "morsel/morsel.h"

#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "format/model.h"
#include "runtime/classifier.h"

struct morsel_model {
  std::shared_ptr<const morsel::Model> model;
  std::vector<std::string> labels;  // filled to num_classes
  int num_classes = 0;
};

struct morsel_session {
  std::unique_ptr<morsel::Classifier> classifier;
  std::string last_error;
};

namespace {

thread_local std::string g_last_error;

morsel_status to_c(const morsel::Status& st) { return static_cast<morsel_status>(st.code()); }

morsel_status set_error(const morsel::Status& st) {
  g_last_error = st.message();
  return to_c(st);
}

morsel_status session_error(morsel_session* s, const morsel::Status& st) {
  s->last_error = st.message();
  return to_c(st);
}

morsel_status finish_model(morsel::Result<morsel::Model> r, morsel_model** out) {
  if (!r.ok()) return set_error(r.status());
  auto m = std::make_unique<morsel_model>();
  m->model = std::make_shared<const morsel::Model>(std::move(r.value()));
  // Validate it as a classifier once so errors appear at load, not at first use.
  auto c = morsel::Classifier::create(m->model);
  if (!c.ok()) return set_error(c.status());
  m->num_classes = c.value()->num_classes();
  for (int i = 0; i < m->num_classes; i++)
    m->labels.push_back(static_cast<size_t>(i) < m->model->meta.labels.size()
                            ? m->model->meta.labels[static_cast<size_t>(i)]
                            : "class_" + std::to_string(i));
  *out = m.release();
  return MORSEL_OK;
}

}  // namespace

extern "C" {

const char* morsel_status_string(morsel_status status) {
  return morsel::status_code_name(static_cast<morsel::StatusCode>(status));
}

const char* morsel_version(void) { return "0.1.0"; }

const char* morsel_last_error(void) { return g_last_error.c_str(); }

morsel_status morsel_model_load_file(const char* path, morsel_model** model_out) {
  if (!path || !model_out) return set_error(MORSEL_ERROR(INVALID_ARGUMENT, "null argument"));
  *model_out = nullptr;
  try {
    return finish_model(morsel::model_load_file(path), model_out);
  } catch (const std::bad_alloc&) {
    return set_error(MORSEL_ERROR(OUT_OF_MEMORY, "out of memory loading %s", path));
  } catch (const std::exception& e) {
    return set_error(MORSEL_ERROR(INTERNAL, "%s", e.what()));
  }
}

morsel_status morsel_model_load_buffer(const void* data, size_t size, morsel_model** model_out) {
  if (!data || !model_out) return set_error(MORSEL_ERROR(INVALID_ARGUMENT, "null argument"));
  *model_out = nullptr;
  try {
    return finish_model(morsel::model_load_buffer(data, size, /*copy=*/true), model_out);
  } catch (const std::bad_alloc&) {
    return set_error(MORSEL_ERROR(OUT_OF_MEMORY, "out of memory loading a model"));
  } catch (const std::exception& e) {
    return set_error(MORSEL_ERROR(INTERNAL, "%s", e.what()));
  }
}

void morsel_model_destroy(morsel_model* model) { delete model; }

const char* morsel_model_name(const morsel_model* model) {
  return model ? model->model->meta.name.c_str() : "";
}

size_t morsel_model_num_classes(const morsel_model* model) {
  return model ? static_cast<size_t>(model->num_classes) : 0;
}

const char* morsel_model_label(const morsel_model* model, size_t index) {
  if (!model || index >= model->labels.size()) return nullptr;
  return model->labels[index].c_str();
}

void morsel_model_input_size(const morsel_model* model, int* height_out, int* width_out) {
  if (height_out) *height_out = model ? static_cast<int>(model->model->meta.preprocess.height) : 0;
  if (width_out) *width_out = model ? static_cast<int>(model->model->meta.preprocess.width) : 0;
}

morsel_status morsel_session_create(const morsel_model* model,
                                    const morsel_session_options* options,
                                    morsel_session** session_out) {
  if (!model || !session_out) return set_error(MORSEL_ERROR(INVALID_ARGUMENT, "null argument"));
  *session_out = nullptr;
  try {
    morsel::SessionOptions o;
    if (options) {
      if (options->threads < 0) return set_error(MORSEL_ERROR(INVALID_ARGUMENT, "threads < 0"));
      if (options->threads > 0) o.threads = options->threads;
      o.profile = options->profile != 0;
    }
    auto c = morsel::Classifier::create(model->model, o);
    if (!c.ok()) return set_error(c.status());
    auto s = std::make_unique<morsel_session>();
    s->classifier = std::move(c.value());
    *session_out = s.release();
    return MORSEL_OK;
  } catch (const std::bad_alloc&) {
    return set_error(MORSEL_ERROR(OUT_OF_MEMORY, "out of memory creating a session"));
  } catch (const std::exception& e) {
    return set_error(MORSEL_ERROR(INTERNAL, "%s", e.what()));
  }
}

void morsel_session_destroy(morsel_session* session) { delete session; }

const char* morsel_session_last_error(const morsel_session* session) {
  return session ? session->last_error.c_str() : "";
}

morsel_status morsel_session_classify(morsel_session* session, const uint8_t* pixels, int width,
                                      int height, int channels, int stride, int top_k,
                                      morsel_prediction* predictions_out, size_t* count_out,
                                      morsel_timings* timings_out) {
  if (!session) return set_error(MORSEL_ERROR(INVALID_ARGUMENT, "null session"));
  if (!pixels || !predictions_out || !count_out)
    return session_error(session, MORSEL_ERROR(INVALID_ARGUMENT, "null argument"));
  *count_out = 0;
  try {
    morsel::ClassifyTimings t;
    auto r = session->classifier->classify(pixels, width, height, channels, stride, top_k, &t);
    if (!r.ok()) return session_error(session, r.status());
    // Labels point into the model's label table (stable for the model's lifetime).
    const morsel::Model& m = session->classifier->model();
    size_t i = 0;
    for (const morsel::Prediction& p : r.value()) {
      predictions_out[i].index = p.index;
      predictions_out[i].score = p.score;
      predictions_out[i].label = static_cast<size_t>(p.index) < m.meta.labels.size()
                                     ? m.meta.labels[static_cast<size_t>(p.index)].c_str()
                                     : nullptr;
      i++;
    }
    *count_out = i;
    if (timings_out) {
      timings_out->preprocess_ms = t.preprocess_ms;
      timings_out->inference_ms = t.inference_ms;
    }
    return MORSEL_OK;
  } catch (const std::bad_alloc&) {
    return session_error(session, MORSEL_ERROR(OUT_OF_MEMORY, "out of memory"));
  } catch (const std::exception& e) {
    return session_error(session, MORSEL_ERROR(INTERNAL, "%s", e.what()));
  }
}

morsel_status morsel_session_run(morsel_session* session, const float* input, size_t batch,
                                 float* output, size_t output_len) {
  if (!session) return set_error(MORSEL_ERROR(INVALID_ARGUMENT, "null session"));
  if (!input || !output || batch == 0)
    return session_error(session, MORSEL_ERROR(INVALID_ARGUMENT, "null argument or zero batch"));
  try {
    const morsel::Model& m = session->classifier->model();
    const int64_t h = m.meta.preprocess.height, w = m.meta.preprocess.width;
    const size_t classes = static_cast<size_t>(session->classifier->num_classes());
    if (output_len != batch * classes)
      return session_error(session, MORSEL_ERROR(INVALID_ARGUMENT,
                                                 "output_len is %zu, expected batch * %zu classes",
                                                 output_len, classes));
    morsel::Tensor x = morsel::Tensor::borrow(morsel::DType::F32,
                                              {static_cast<int64_t>(batch), h, w, 3}, input);
    auto y = session->classifier->run_batch(x);
    if (!y.ok()) return session_error(session, y.status());
    std::memcpy(output, y.value().raw(), output_len * sizeof(float));
    return MORSEL_OK;
  } catch (const std::bad_alloc&) {
    return session_error(session, MORSEL_ERROR(OUT_OF_MEMORY, "out of memory"));
  } catch (const std::exception& e) {
    return session_error(session, MORSEL_ERROR(INTERNAL, "%s", e.what()));
  }
}

}  // extern "C"
