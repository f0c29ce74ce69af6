// segment_series: a DICOM directory or NIfTI file in; the mask (NIfTI), an overlay PNG and a JSON
// report out, and for a DICOM input with --dicom-seg also a DICOM Segmentation (seg.dcm) that
// references the series, with --rtstruct an RT Structure Set (rtstruct.dcm). Prints the pancreas
// volume in mL and the stage times. With --from-memory the DICOM directory's files are read
// into memory first and handed over as buffers (as a PACS plugin holding the instances would).
//
//   segment_series <CT> <OUT_DIR> [--model DIR] [--threads N] [--dicom-seg] [--rtstruct]
//                  [--from-memory]
#include <pancseg.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

// Every file of a directory (sorted by name), each as its bytes.
static std::vector<std::vector<uint8_t>> read_instances(const std::string& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<std::vector<uint8_t>> out;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: segment_series <CT> <OUT_DIR> [--model DIR] [--threads N] [--dicom-seg] [--rtstruct] [--from-memory]\n";
    return 2;
  }
  std::string ct = argv[1], out = argv[2], model;
  uint32_t threads = 0;
  bool dicom_seg = false, rtstruct = false, from_memory = false;
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--dicom-seg") dicom_seg = true;
    else if (a == "--rtstruct") rtstruct = true;
    else if (a == "--from-memory") from_memory = true;
    else if (a == "--model" && i + 1 < argc) model = argv[++i];
    else if (a == "--threads" && i + 1 < argc) threads = static_cast<uint32_t>(std::stoul(argv[++i]));
    else {
      std::cerr << "unknown option " << a << "\n";
      return 2;
    }
  }
  try {
    pancseg::Image image =
        from_memory ? pancseg::Image::from_dicom_memory(read_instances(ct)) : pancseg::Image(ct);
    if (from_memory) std::cout << "read from memory; series selection: " << image.series_json() << "\n";
    pancseg::Context ctx(model, threads);
    std::cout << "pancseg " << pancseg::version() << ", provider " << ctx.provider() << "\n";
    const pancseg_volume ct_volume = image.volume();
    pancseg::Result r = ctx.segment(ct_volume);
    const std::string mask = out + "/mask.nii.gz";
    r.write_nifti(mask);
    std::ofstream(out + "/report.json") << r.report_json() << "\n";
    std::printf("pancreas volume: %.1f mL\n", r.volume_ml());
    for (const auto& [stage, seconds] : r.stages()) std::printf("  %-12s %7.2f s\n", stage.c_str(), seconds);
    r.write_overlay_png(ct_volume, out + "/overlay.png");
    if (dicom_seg) {
      r.write_dicom_seg(image, out + "/seg.dcm");
      std::cout << "DICOM SEG: " << out << "/seg.dcm\n";
    }
    if (rtstruct) {
      r.write_rtstruct(image, out + "/rtstruct.dcm");
      std::cout << "RT Structure Set: " << out << "/rtstruct.dcm\n";
    }
    std::cout << "mask: " << mask << "\noverlay: " << out << "/overlay.png\nreport: " << out
              << "/report.json\n";
  } catch (const pancseg::Error& e) {
    std::cerr << "segment_series: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
