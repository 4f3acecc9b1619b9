/* morsel: the public C API. Opaque handles, paired _create/_destroy (or _load/_destroy), every
 * fallible call returns morsel_status (0 = OK) and writes results through trailing *_out
 * pointers. No C++ types or exceptions cross this header. Thread safety: a model may be shared
 * by sessions on different threads; one session must be used by one thread at a time. */
#ifndef MORSEL_MORSEL_H_
#define MORSEL_MORSEL_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum morsel_status {
  MORSEL_OK = 0,
  MORSEL_INVALID_ARGUMENT = 1, /* bad option, null pointer, wrong size */
  MORSEL_INVALID_MODEL = 2,    /* the model file is corrupt or inconsistent */
  MORSEL_UNSUPPORTED = 3,      /* well-formed, but uses something this build lacks */
  MORSEL_INVALID_IMAGE = 4,    /* corrupt, truncated or unsupported pixels */
  MORSEL_LIMIT_EXCEEDED = 5,   /* input larger than a configured limit */
  MORSEL_IO_ERROR = 6,         /* a file could not be read */
  MORSEL_OUT_OF_MEMORY = 7,
  MORSEL_INTERNAL = 8 /* a bug in morsel */
} morsel_status;

/* "OK", "INVALID_MODEL", ... (static storage). */
const char* morsel_status_string(morsel_status status);
/* "0.1.0" */
const char* morsel_version(void);
/* The message of the last failed call on this thread that had no object to hold it
 * (e.g. morsel_model_load_file). Valid until the next failing call on this thread. */
const char* morsel_last_error(void);

/* ---- models ---- */
typedef struct morsel_model morsel_model;

morsel_status morsel_model_load_file(const char* path, morsel_model** model_out);
/* Copies `data`; the caller may free it after the call. */
morsel_status morsel_model_load_buffer(const void* data, size_t size, morsel_model** model_out);
void morsel_model_destroy(morsel_model* model);

/* Name stored in the file (static until destroy). */
const char* morsel_model_name(const morsel_model* model);
/* Number of classes the model outputs, and their labels ("class_<i>" when the file has none). */
size_t morsel_model_num_classes(const morsel_model* model);
const char* morsel_model_label(const morsel_model* model, size_t index);
/* The model's input size after preprocessing. */
void morsel_model_input_size(const morsel_model* model, int* height_out, int* width_out);

/* ---- sessions: run a model ---- */
typedef struct morsel_session morsel_session;

typedef struct morsel_session_options {
  int threads; /* 0 = default */
  int profile; /* non-zero: record per-op timings */
} morsel_session_options;

/* options may be NULL. The model must outlive the session. */
morsel_status morsel_session_create(const morsel_model* model,
                                    const morsel_session_options* options,
                                    morsel_session** session_out);
void morsel_session_destroy(morsel_session* session);
/* The message of this session's last failed call ("" if none). */
const char* morsel_session_last_error(const morsel_session* session);

typedef struct morsel_prediction {
  int32_t index;
  float score;       /* probability */
  const char* label; /* owned by the model */
} morsel_prediction;

typedef struct morsel_timings {
  double preprocess_ms;
  double inference_ms;
} morsel_timings;

/* Classifies one image given as 8-bit pixels: channels = 3 (RGB) or 4 (RGBA; alpha ignored),
 * stride = bytes per row. Resizing and normalization follow the model file. Writes up to
 * `top_k` predictions, best first, to predictions_out (room for top_k entries) and their number
 * to count_out. timings_out may be NULL. */
morsel_status morsel_session_classify(morsel_session* session, const uint8_t* pixels, int width,
                                      int height, int channels, int stride, int top_k,
                                      morsel_prediction* predictions_out, size_t* count_out,
                                      morsel_timings* timings_out);

/* Runs already preprocessed inputs: input [batch, H, W, 3] f32 (NHWC), output [batch, classes]
 * probabilities; output_len must be batch * classes. */
morsel_status morsel_session_run(morsel_session* session, const float* input, size_t batch,
                                 float* output, size_t output_len);

#ifdef __cplusplus
}
#endif

#endif /* MORSEL_MORSEL_H_ */
