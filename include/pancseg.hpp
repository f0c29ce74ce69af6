// pancseg.hpp: a header-only C++17 RAII wrapper over the pancseg C API (pancseg.h), installed
// beside it.
//
// Errors become pancseg::Error exceptions carrying the status and the library's message.
// Context, Result and Image own their C objects through one Handle template (move-only) and free
// them in their destructors.
// One Context may be used by many threads at once (Context::segment is thread-safe).
#ifndef PANCSEG_HPP
#define PANCSEG_HPP

#include <pancseg.h>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace pancseg {

/// A failed pancseg call: the status and the message of pancseg_last_error().
class Error : public std::runtime_error {
 public:
  Error(pancseg_status status, const std::string& what)
      : std::runtime_error(what), status_(status) {}
  pancseg_status status() const noexcept { return status_; }

 private:
  pancseg_status status_;
};

inline void check(pancseg_status s) {
  if (s != PANCSEG_OK) {
    std::string msg = pancseg_status_string(s);
    const char* detail = pancseg_last_error();
    if (detail && *detail) msg += std::string(": ") + detail;
    throw Error(s, msg);
  }
}

inline std::string version() { return pancseg_version(); }

/// Sole owner of a library object of type T, freed by Free (which accepts NULL). Move-only.
template <typename T, void (*Free)(T*)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(T* p) noexcept : p_(p) {}
  Handle(Handle&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  Handle& operator=(Handle&& o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { Free(p_); }

  T* get() const noexcept { return p_; }
  /// The out-pointer for a creating call (the handle must be empty).
  T** out() noexcept { return &p_; }

 private:
  T* p_ = nullptr;
};

/// A CT loaded by the library (NIfTI file or DICOM directory).
class Image {
 public:
  explicit Image(const std::string& path) { check(pancseg_image_load(path.c_str(), h_.out())); }

  /// A CT from DICOM instances held in memory (each the bytes of a whole Part 10 file), with
  /// the directory reader's series selection (`series_uid` empty: the policy) and checks.
  static Image from_dicom_memory(const std::vector<std::vector<uint8_t>>& instances,
                                 const std::string& series_uid = std::string()) {
    std::vector<pancseg_dicom_buffer> buffers;
    buffers.reserve(instances.size());
    for (const auto& b : instances) buffers.push_back({b.data(), b.size()});
    Image image;
    check(pancseg_image_load_dicom_memory(buffers.data(), buffers.size(),
                                          series_uid.empty() ? nullptr : series_uid.c_str(),
                                          image.h_.out()));
    return image;
  }

  /// How the DICOM series was chosen (JSON; empty for a NIfTI image).
  std::string series_json() const {
    const char* j = pancseg_image_series_json(h_.get());
    return j ? j : "";
  }

  /// A borrowed float32 view for Context::segment (valid while this Image lives).
  pancseg_volume volume() const {
    pancseg_volume v;
    v.struct_size = sizeof v;
    check(pancseg_image_volume(h_.get(), &v));
    return v;
  }
  const pancseg_image* get() const noexcept { return h_.get(); }

 private:
  Image() = default;
  Handle<pancseg_image, pancseg_image_free> h_;
};

/// One segmentation; independent of the Context that made it.
class Result {
 public:
  explicit Result(pancseg_result* p) : h_(p) {}

  /// The 0/1 mask, x fastest, on the input's grid.
  std::vector<uint8_t> mask() const {
    size_t n = 0;
    const uint8_t* m = pancseg_result_mask(h_.get(), &n);
    return std::vector<uint8_t>(m, m + n);
  }
  /// The probability map (empty unless asked for).
  std::vector<float> probability() const {
    size_t n = 0;
    const float* p = pancseg_result_probability(h_.get(), &n);
    return p ? std::vector<float>(p, p + n) : std::vector<float>();
  }
  double volume_ml() const { return pancseg_result_volume_ml(h_.get()); }
  /// A pancseg_field_of_view value: whether the scan holds the pancreas region.
  pancseg_field_of_view field_of_view() const {
    return static_cast<pancseg_field_of_view>(pancseg_result_field_of_view(h_.get()));
  }
  std::vector<std::pair<std::string, double>> stages() const {
    std::vector<std::pair<std::string, double>> out;
    for (size_t i = 0; i < pancseg_result_stage_count(h_.get()); ++i) {
      const char* name = nullptr;
      double s = 0;
      check(pancseg_result_stage(h_.get(), i, &name, &s));
      out.emplace_back(name, s);
    }
    return out;
  }
  std::string report_json() const { return pancseg_result_report_json(h_.get()); }
  void write_nifti(const std::string& path) const {
    check(pancseg_result_write_nifti(h_.get(), path.c_str()));
  }
  /// The axial slice with the largest mask area, mask outlined in red, as PNG. `ct` is the
  /// volume the result came from.
  void write_overlay_png(const pancseg_volume& ct, const std::string& path) const {
    check(pancseg_result_write_overlay_png(h_.get(), &ct, path.c_str()));
  }
  /// The mask as a DICOM Segmentation referencing `source`, the DICOM series it was computed from.
  void write_dicom_seg(const Image& source, const std::string& path) const {
    check(pancseg_result_write_dicom_seg(h_.get(), source.get(), path.c_str()));
  }
  /// The mask as an RT Structure Set (ROI "Pancreas", closed planar contours) referencing
  /// `source`, the DICOM series it was computed from.
  void write_rtstruct(const Image& source, const std::string& path) const {
    check(pancseg_result_write_rtstruct(h_.get(), source.get(), path.c_str()));
  }
  const pancseg_result* get() const noexcept { return h_.get(); }

 private:
  Handle<pancseg_result, pancseg_result_free> h_;
};

/// Options of Context::segment.
struct SegmentOptions {
  pancseg_method method = PANCSEG_METHOD_G_P2;
  bool probability = false;
  bool largest_component = false;
  /// Called with the fraction done (strictly increasing), from a library thread.
  std::function<void(float)> progress;
  /// Set *cancel to non-zero (atomically) from any thread to cancel.
  const int32_t* cancel = nullptr;
};

/// A loaded model bundle.
class Context {
 public:
  /// `model_dir` empty: the default bundle. `threads` 0: every core.
  explicit Context(const std::string& model_dir = "", uint32_t threads = 0,
                   pancseg_device device = PANCSEG_DEVICE_CPU, int32_t device_id = 0) {
    pancseg_options o;
    o.struct_size = sizeof o;
    check(pancseg_options_init(&o));
    o.model_dir = model_dir.empty() ? nullptr : model_dir.c_str();
    o.threads = threads;
    o.device = device;
    o.device_id = device_id;
    check(pancseg_create(&o, h_.out()));
  }

  std::string provider() const { return pancseg_provider(h_.get()); }

  Result segment(const pancseg_volume& ct, const SegmentOptions& opts = {}) const {
    pancseg_segment_options so;
    so.struct_size = sizeof so;
    check(pancseg_segment_options_init(&so));
    so.method = opts.method;
    so.want_probability = opts.probability;
    so.largest_component = opts.largest_component;
    so.cancel = opts.cancel;
    if (opts.progress) {
      so.progress = [](void* user, float f) {
        // never let an exception cross the C boundary
        try {
          (*static_cast<const std::function<void(float)>*>(user))(f);
        } catch (...) {
        }
      };
      so.progress_user_data = const_cast<std::function<void(float)>*>(&opts.progress);
    }
    pancseg_result* r = nullptr;
    check(pancseg_segment(h_.get(), &ct, &so, &r));
    return Result(r);
  }

 private:
  Handle<pancseg_context, pancseg_free> h_;
};

}  // namespace pancseg

#endif  // PANCSEG_HPP
