// plugin_host: how a scanner post-processing plugin runs pancseg. A worker thread segments while
// the main thread shows progress; the run is cancelled when the user asks (here: --cancel-at F,
// a progress fraction at which the main thread requests cancellation, as a button press would).
//
//   plugin_host <CT> [--model DIR] [--cancel-at F]
//
// Exit status: 0 finished, 3 cancelled, 1 error.
#include <pancseg.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: plugin_host <CT> [--model DIR] [--cancel-at F]\n";
    return 2;
  }
  std::string ct = argv[1], model;
  float cancel_at = 2.0f;  // never
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--model") model = argv[i + 1];
    else if (a == "--cancel-at") cancel_at = std::stof(argv[i + 1]);
  }
  try {
    pancseg::Image image(ct);
    pancseg::Context ctx(model);
    std::atomic<float> progress{0.0f};
    std::atomic<int> state{0};  // 0 running, 1 done, 2 cancelled, 3 failed
    alignas(4) int32_t cancel_flag = 0;
    std::string error;
    double ml = 0.0;
    std::thread worker([&] {
      pancseg::SegmentOptions so;
      so.progress = [&](float f) { progress.store(f); };
      so.cancel = &cancel_flag;
      try {
        ml = ctx.segment(image.volume(), so).volume_ml();
        state = 1;
      } catch (const pancseg::Error& e) {
        state = e.status() == PANCSEG_CANCELLED ? 2 : 3;
        error = e.what();
      }
    });
    bool requested = false;
    while (state.load() == 0) {
      float p = progress.load();
      std::printf("\rprogress %3d%%", static_cast<int>(p * 100.0f));
      std::fflush(stdout);
      if (!requested && p >= cancel_at) {
        __atomic_store_n(&cancel_flag, 1, __ATOMIC_RELAXED);  // the user pressed "cancel"
        requested = true;
        std::printf("  cancel requested");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    worker.join();
    std::printf("\n");
    switch (state.load()) {
      case 1: std::printf("done: pancreas %.1f mL\n", ml); return 0;
      case 2: std::printf("cancelled\n"); return 3;
      default: std::cerr << "failed: " << error << "\n"; return 1;
    }
  } catch (const pancseg::Error& e) {
    std::cerr << "plugin_host: " << e.what() << "\n";
    return 1;
  }
}
