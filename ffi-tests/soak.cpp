// Soak test of the C API, the way a scanner plugin runs for months: COUNT segmentations of a small
// phantom on THREADS threads sharing one context, every fifth run cancelled part-way through from
// its progress callback. Checks that every completed mask is byte-identical to the first, that
// every cancelled run returns PANCSEG_CANCELLED (or completes with the same mask when the request
// came after the last cancellation point), and that resident memory stops growing: the RSS at the
// end may exceed the RSS at half-way by at most max(2%, 8 MiB), or max(10%, 16 MiB) in a short
// run (COUNT < 100, the ctest smoke run): the first half is the warm-up (allocator arenas and
// per-thread state grow over the first ten or so runs, with the number of concurrent runs and the
// points where runs are cancelled: 40.3 MiB after 6 runs, 48.9 after 12, 49.8 after 24 on 4
// threads), and single readings of a short run scatter by up to 15 MiB without a trend (20-run
// runs ended 0.3 to 11.8 MiB below their half-way reading), so a short run catches only leaks
// above about 1.6 MiB per run; the long run is the leak check. Each RSS
// reading first hands the allocator's free pages back to the system (glibc's malloc_trim, as the
// library does between its stages), so the readings compare memory still in use, not what the
// allocator happens to be caching at that instant: a leak cannot be trimmed away.
//
//   soak [COUNT=1000] [THREADS=4]
//
// Prints the RSS at start, after the first quarter, at half-way and at the end, each read with
// every thread joined.
#include <pancseg.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static double rss_mib() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0.0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

struct CancelAt {
  int32_t* flag;
  float at;
};

static void cancel_when(void* user, float progress) {
  auto* c = static_cast<CancelAt*>(user);
  if (progress >= c->at) __atomic_store_n(c->flag, 1, __ATOMIC_RELAXED);
}

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int n_threads = argc > 2 ? std::atoi(argv[2]) : 4;
  if (count < 4 || n_threads < 1) {
    std::fprintf(stderr, "usage: soak [COUNT>=4] [THREADS>=1]\n");
    return 2;
  }
  const double rss_start = rss_mib();
  pancseg_image* img = nullptr;
  if (pancseg_image_load(FIXTURE_CT, &img) != PANCSEG_OK) {
    std::fprintf(stderr, "soak: %s\n", pancseg_last_error());
    return 1;
  }
  pancseg_volume full;
  full.struct_size = sizeof full;
  pancseg_image_volume(img, &full);
  // a 128 x 112 x 16 block of the fixture phantom around its pancreas (centre voxel 100, 84, 23 of
  // tests/fixtures/phantom/label.nii.gz), copied into caller memory (int16 HU), with the origin
  // moved to the block's first voxel
  const size_t bx = 128, by = 112, bz = 16;
  if (full.dims[0] < 164 || full.dims[1] < 140 || full.dims[2] < 31) {
    std::fprintf(stderr, "soak: the fixture phantom is smaller than expected\n");
    return 1;
  }
  const size_t x0 = 36, y0 = 28, z0 = 15;
  std::vector<int16_t> block(bx * by * bz);
  const float* src = static_cast<const float*>(full.data);
  for (size_t z = 0; z < bz; ++z)
    for (size_t y = 0; y < by; ++y)
      for (size_t x = 0; x < bx; ++x)
        block[(z * by + y) * bx + x] = static_cast<int16_t>(
            src[((z + z0) * full.dims[1] + (y + y0)) * full.dims[0] + (x + x0)]);
  pancseg_volume vol = full;
  vol.data = block.data();
  vol.data_bytes = block.size() * sizeof(int16_t);
  vol.dtype = PANCSEG_DTYPE_INT16;
  vol.dims[0] = bx;
  vol.dims[1] = by;
  vol.dims[2] = bz;
  const double off[3] = {x0 * full.spacing[0], y0 * full.spacing[1], z0 * full.spacing[2]};
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) vol.origin[r] += full.direction[r * 3 + c] * off[c];
  pancseg_image_free(img);

  pancseg_options o;
  o.struct_size = sizeof o;
  pancseg_options_init(&o);
  o.model_dir = FIXTURE_BUNDLE;
  o.threads = 1;  // the threads of this program share the cores
  pancseg_context* ctx = nullptr;
  if (pancseg_create(&o, &ctx) != PANCSEG_OK) {
    std::fprintf(stderr, "soak: %s\n", pancseg_last_error());
    return 1;
  }

  std::mutex mu;
  std::vector<uint8_t> reference;
  std::atomic<int> next{0}, completed{0}, cancelled{0}, late_cancels{0}, failures{0};
  double rss_quarter = 0.0, rss_half = 0.0;
  // runs `limit` is the end of the phase: indices below it are taken by the threads in turn
  auto worker = [&](int limit) {
    for (int i = next.fetch_add(1); i < limit; i = next.fetch_add(1)) {
      pancseg_segment_options so;
      so.struct_size = sizeof so;
      pancseg_segment_options_init(&so);
      alignas(4) int32_t flag = 0;
      CancelAt c{&flag, 0.1f + 0.8f * static_cast<float>((i / 5) % 9) / 8.0f};
      const bool cancel = i % 5 == 2;
      if (cancel) {
        so.cancel = &flag;
        so.progress = cancel_when;
        so.progress_user_data = &c;
      }
      pancseg_result* r = nullptr;
      const pancseg_status st = pancseg_segment(ctx, &vol, &so, &r);
      if (st == PANCSEG_CANCELLED && cancel && r == nullptr) {
        cancelled++;
      } else if (st == PANCSEG_OK && r != nullptr) {
        size_t n = 0;
        const uint8_t* m = pancseg_result_mask(r, &n);
        std::lock_guard<std::mutex> lock(mu);
        if (reference.empty()) reference.assign(m, m + n);
        if (n != reference.size() || std::memcmp(m, reference.data(), n) != 0) {
          std::fprintf(stderr, "soak: run %d gave a different mask\n", i);
          failures++;
        }
        if (cancel) late_cancels++;
        completed++;
      } else {
        std::fprintf(stderr, "soak: run %d: %s (%s)\n", i, pancseg_status_string(st), pancseg_last_error());
        failures++;
      }
      pancseg_result_free(r);
      const int done = completed.load() + cancelled.load();
      {
        std::lock_guard<std::mutex> lock(mu);
        if (done % 100 == 0) {
          std::printf("soak: %d of %d runs, RSS %.1f MiB\n", done, count, rss_mib());
          std::fflush(stdout);
        }
      }
    }
  };
  // three phases (to a quarter, a half, all runs), every thread joined before each reading, so
  // the readings are taken with no segmentation in flight
  auto phase = [&](int limit) {
    std::vector<std::thread> threads;
    for (int t = 0; t < n_threads; ++t) threads.emplace_back(worker, limit);
    for (auto& th : threads) th.join();
    next.store(limit);  // the threads stopped on indices >= limit without running them
    return rss_mib();
  };
  rss_quarter = phase(count / 4);
  rss_half = phase(count / 2);
  const double rss_end = phase(count);
  pancseg_free(ctx);
  const bool short_run = count < 100;
  const double share = short_run ? 0.10 : 0.02, floor_mib = short_run ? 16.0 : 8.0;
  const double allowed = rss_half * share > floor_mib ? rss_half * share : floor_mib;
  const bool grew = rss_end - rss_half > allowed;
  std::printf(
      "soak: %d runs on %d threads: %d completed (%d cancellations came too late), %d cancelled, "
      "%d failures; mask %zu voxels, %zu set; RSS MiB start %.1f, quarter %.1f, half %.1f, end %.1f "
      "(growth in the second half %.1f, allowed %.1f)\n",
      count, n_threads, completed.load(), late_cancels.load(), cancelled.load(), failures.load(),
      reference.size(), static_cast<size_t>(std::count(reference.begin(), reference.end(), 1)),
      rss_start, rss_quarter, rss_half, rss_end, rss_end - rss_half, allowed);
  const bool empty = std::count(reference.begin(), reference.end(), 1) == 0;
  if (failures.load() || grew || empty || cancelled.load() == 0 || completed.load() == 0) {
    std::fprintf(stderr, "soak: FAILED%s\n", grew ? " (resident memory kept growing)" : empty ? " (empty mask)" : "");
    return 1;
  }
  std::printf("soak: passed\n");
  return 0;
}
