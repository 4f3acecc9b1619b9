// Training-time augmentation on 8-bit RGB images: random resized crop, horizontal flip and a
// small colour jitter. Implemented once here (morsel_runtime, standard library only) and
// deterministic for a seed, so a cached feature vector can be keyed by (image, params, seed).
// The result is still an Image; the model's own preprocess() then resizes and normalizes it.
#pragma once

#include <cstdint>

#include "image/preprocess.h"

namespace morsel {

struct AugmentParams {
  // Random resized crop: a region covering [crop_area_min, 1] of the image's area with an
  // aspect ratio (w/h) log-uniform in [crop_ratio_min, crop_ratio_max]. 1 disables cropping.
  float crop_area_min = 0.5f;
  float crop_ratio_min = 3.0f / 4.0f, crop_ratio_max = 4.0f / 3.0f;
  bool flip = true;  // mirror left-right with probability 1/2
  // Colour jitter: brightness, contrast and saturation factors uniform in [1 - x, 1 + x].
  float brightness = 0.1f, contrast = 0.1f, saturation = 0.1f;
};

// A 64-bit fingerprint of the parameters (part of the feature-cache key).
uint64_t augment_params_hash(const AugmentParams& p);

// Checks ranges: crop_area_min in (0,1], 0 < ratio_min <= ratio_max, jitters in [0,1).
Status augment_params_validate(const AugmentParams& p);

// One random view of `in` (width, height >= 1), decided by `seed` alone.
Image augment_image(const Image& in, const AugmentParams& p, uint64_t seed);

}  // namespace morsel
