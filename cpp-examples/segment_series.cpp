// segment_series: a DICOM directory or NIfTI file in; the mask (NIfTI), an overlay PNG and a JSON
// report out. Prints the pancreas volume in mL and the stage times.
//
//   segment_series <CT> <OUT_DIR> [--model DIR] [--threads N]
//
// The overlay is drawn by the `pancseg render` tool when it is on PATH (the C API has no
// drawing); the mask and report come from the library.
#include <pancseg.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: segment_series <CT> <OUT_DIR> [--model DIR] [--threads N]\n";
    return 2;
  }
  std::string ct = argv[1], out = argv[2], model;
  uint32_t threads = 0;
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--model") model = argv[i + 1];
    else if (a == "--threads") threads = static_cast<uint32_t>(std::stoul(argv[i + 1]));
    else {
      std::cerr << "unknown option " << a << "\n";
      return 2;
    }
  }
  try {
    pancseg::Image image(ct);
    pancseg::Context ctx(model, threads);
    std::cout << "pancseg " << pancseg::version() << ", provider " << ctx.provider() << "\n";
    pancseg::Result r = ctx.segment(image.volume());
    const std::string mask = out + "/mask.nii.gz";
    r.write_nifti(mask);
    std::ofstream(out + "/report.json") << r.report_json() << "\n";
    std::printf("pancreas volume: %.1f mL\n", r.volume_ml());
    for (const auto& [stage, seconds] : r.stages()) std::printf("  %-12s %7.2f s\n", stage.c_str(), seconds);
    const std::string render = "pancseg render '" + ct + "' --mask '" + mask + "' --out '" + out + "/overlay.png' >/dev/null 2>&1";
    if (std::system(render.c_str()) == 0) std::cout << "overlay: " << out << "/overlay.png\n";
    else std::cout << "overlay skipped (pancseg render not on PATH)\n";
    std::cout << "mask: " << mask << "\nreport: " << out << "/report.json\n";
  } catch (const pancseg::Error& e) {
    std::cerr << "segment_series: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
