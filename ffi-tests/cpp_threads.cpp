// C++17 conformance test through the RAII wrapper (cpp-examples/include/pancseg.hpp): one
// context used by 4 threads at once gives identical masks; a cancellation requested from another
// thread mid-run returns PANCSEG_CANCELLED; exceptions carry the status and message; results
// outlive their context.
#include <pancseg.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

static int failures = 0;
#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                                \
    }                                                                            \
  } while (0)

int main() {
  try {
    CHECK(pancseg::version() == PANCSEG_VERSION_STRING);
    pancseg::Image image(FIXTURE_CT);
    const pancseg_volume vol = image.volume();
    std::optional<pancseg::Result> kept;
    std::vector<uint8_t> reference;
    {
      pancseg::Context ctx(FIXTURE_BUNDLE, 2);
      reference = ctx.segment(vol).mask();
#ifdef PANCSEG_TEST_QUICK
      const int n_threads = 2;
#else
      const int n_threads = 4;
#endif
      std::vector<std::vector<uint8_t>> masks(n_threads);
      std::vector<std::string> errors(n_threads);
      std::vector<std::thread> threads;
      for (int t = 0; t < n_threads; ++t) {
        threads.emplace_back([&, t] {
          try {
            masks[t] = ctx.segment(vol).mask();
          } catch (const std::exception& e) {
            errors[t] = e.what();
          }
        });
      }
      for (auto& th : threads) th.join();
      for (int t = 0; t < n_threads; ++t) {
        if (!errors[t].empty()) std::fprintf(stderr, "thread %d: %s\n", t, errors[t].c_str());
        CHECK(errors[t].empty());
        CHECK(masks[t] == reference);
      }

#ifndef PANCSEG_TEST_QUICK
      // cancellation from another thread once the run is under way
      alignas(4) int32_t flag = 0;
      std::atomic<float> last{0.0f};
      pancseg::SegmentOptions so;
      so.cancel = &flag;
      so.progress = [&](float f) { last.store(f); };
      std::thread canceller([&] {
        while (last.load() < 0.3f) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        __atomic_store_n(&flag, 1, __ATOMIC_RELAXED);
      });
      bool cancelled = false;
      try {
        ctx.segment(vol, so);
      } catch (const pancseg::Error& e) {
        cancelled = e.status() == PANCSEG_CANCELLED;
      }
      canceller.join();
      CHECK(cancelled);
#endif

      // an error carries its status and message
      pancseg_volume bad = vol;
      bad.spacing[0] = -1.0;
      try {
        ctx.segment(bad);
        CHECK(false);
      } catch (const pancseg::Error& e) {
        CHECK(e.status() == PANCSEG_GEOMETRY_ERROR);
        CHECK(std::strstr(e.what(), "spacing") != nullptr);
      }
      pancseg::SegmentOptions with_p;
      with_p.probability = true;
      kept.emplace(ctx.segment(vol, with_p));
    }  // the context is freed here; the result lives on
    CHECK(kept->mask() == reference);
    CHECK(kept->probability().size() == reference.size());
    CHECK(kept->volume_ml() > 0.0);
    CHECK(!kept->stages().empty());
    try {
      pancseg::Context missing("/nonexistent/bundle");
      CHECK(false);
    } catch (const pancseg::Error& e) {
      CHECK(e.status() == PANCSEG_MODEL_ERROR);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    return 1;
  }
  if (failures) {
    std::fprintf(stderr, "cpp_threads: %d check(s) failed\n", failures);
    return 1;
  }
  std::printf("cpp_threads: all checks passed\n");
  return 0;
}
