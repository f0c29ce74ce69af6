/* DICOM from memory through the C ABI: the real JPEG 2000 series (FIXTURE_J2K, 20 slices) read
 * into exact-size heap buffers (so AddressSanitizer sees any read past a length) and loaded with
 * pancseg_image_load_dicom_memory must give the volume the directory reader gives, voxel for
 * voxel, with the independent reader's figures; the selection table is there as JSON; a
 * truncated buffer fails naming it; NULL and empty arguments are refused; an RT Structure Set
 * or DICOM Segmentation for this anonymised series (no StudyInstanceUID) is refused by name. */
#include <pancseg.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILES 256

static int failures = 0;

#define CHECK(cond, ...)                         \
  do {                                           \
    if (!(cond)) {                               \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);              \
      fprintf(stderr, "\n");                     \
      failures++;                                \
    }                                            \
  } while (0)

static unsigned char *read_whole(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  long n;
  unsigned char *buf;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = (unsigned char *)malloc(n > 0 ? (size_t)n : 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(void) {
  char *names[MAX_FILES];
  pancseg_dicom_buffer buffers[MAX_FILES];
  size_t count = 0, i;
  DIR *d = opendir(FIXTURE_J2K);
  struct dirent *e;
  pancseg_image *disk = NULL, *memory = NULL, *bad = NULL;
  pancseg_volume vd, vm;
  double sum = 0.0;
  const char *json;
  unsigned char *cut;
  if (!d) {
    fprintf(stderr, "dicom_memory: cannot open %s\n", FIXTURE_J2K);
    return 1;
  }
  while ((e = readdir(d)) != NULL && count < MAX_FILES) {
    if (e->d_name[0] == '.') continue;
    names[count] = (char *)malloc(strlen(FIXTURE_J2K) + strlen(e->d_name) + 2);
    sprintf(names[count], "%s/%s", FIXTURE_J2K, e->d_name);
    count++;
  }
  closedir(d);
  qsort(names, count, sizeof names[0], by_name);
  for (i = 0; i < count; i++) {
    size_t len = 0;
    buffers[i].data = read_whole(names[i], &len);
    buffers[i].length = len;
    CHECK(buffers[i].data != NULL, "cannot read %s", names[i]);
  }

  CHECK(pancseg_image_load(FIXTURE_J2K, &disk) == PANCSEG_OK, "disk: %s", pancseg_last_error());
  CHECK(pancseg_image_load_dicom_memory(buffers, count, NULL, &memory) == PANCSEG_OK, "memory: %s",
        pancseg_last_error());
  if (disk && memory) {
    vd.struct_size = sizeof vd;
    vm.struct_size = sizeof vm;
    CHECK(pancseg_image_volume(disk, &vd) == PANCSEG_OK, "%s", pancseg_last_error());
    CHECK(pancseg_image_volume(memory, &vm) == PANCSEG_OK, "%s", pancseg_last_error());
    CHECK(vm.dims[0] == 512 && vm.dims[1] == 512 && vm.dims[2] == 20, "dims %zu %zu %zu", vm.dims[0],
          vm.dims[1], vm.dims[2]);
    CHECK(memcmp(vd.dims, vm.dims, sizeof vd.dims) == 0, "dims differ");
    CHECK(memcmp(vd.spacing, vm.spacing, sizeof vd.spacing) == 0 &&
              memcmp(vd.origin, vm.origin, sizeof vd.origin) == 0 &&
              memcmp(vd.direction, vm.direction, sizeof vd.direction) == 0,
          "geometry differs");
    CHECK(memcmp(vd.data, vm.data, vm.dims[0] * vm.dims[1] * vm.dims[2] * sizeof(float)) == 0,
          "voxels differ");
    for (i = 0; i < vm.dims[0] * vm.dims[1] * vm.dims[2]; i++) sum += ((const float *)vm.data)[i];
    CHECK(sum == -3272217339.0, "sum %.0f", sum);
    json = pancseg_image_series_json(memory);
    CHECK(json && strstr(json, "\"mode\":\"auto\"") && strstr(json, "\"chosen\":true"), "series json %s",
          json ? json : "(null)");
    printf("dicom_memory: %zu instances, %zu x %zu x %zu, sum %.0f, same as the directory\n", count,
           vm.dims[0], vm.dims[1], vm.dims[2], sum);
  }
  CHECK(pancseg_image_series_json(NULL) == NULL, "NULL image has no series json");

  /* a truncated instance: an exact-size copy without its last 100 bytes */
  cut = (unsigned char *)malloc(buffers[3].length - 100);
  memcpy(cut, buffers[3].data, buffers[3].length - 100);
  {
    pancseg_dicom_buffer saved = buffers[3];
    pancseg_status st;
    buffers[3].data = cut;
    buffers[3].length = saved.length - 100;
    st = pancseg_image_load_dicom_memory(buffers, count, NULL, &bad);
    CHECK(st == PANCSEG_IO_ERROR && strstr(pancseg_last_error(), "memory buffer 3") != NULL,
          "truncated: status %d, %s", (int)st, pancseg_last_error());
    CHECK(bad == NULL, "no image on failure");
    buffers[3] = saved;
  }
  free(cut);
  CHECK(pancseg_image_load_dicom_memory(NULL, 1, NULL, &bad) == PANCSEG_INVALID_ARGUMENT, "NULL buffers");
  CHECK(pancseg_image_load_dicom_memory(buffers, 0, NULL, &bad) == PANCSEG_INVALID_ARGUMENT, "count 0");
  CHECK(pancseg_image_load_dicom_memory(buffers, count, NULL, NULL) == PANCSEG_INVALID_ARGUMENT, "NULL out");
  CHECK(pancseg_image_load_dicom_memory(buffers, count, "9.9.9", &bad) == PANCSEG_IO_ERROR &&
            strstr(pancseg_last_error(), "9.9.9") != NULL,
        "unknown series uid: %s", pancseg_last_error());

  /* derived objects need the study the anonymiser removed (segments once: not in the quick
   * sanitizer build) */
#ifndef PANCSEG_TEST_QUICK
  if (memory) {
    pancseg_context *ctx = NULL;
    pancseg_options o;
    pancseg_result *r = NULL;
    o.struct_size = sizeof o;
    pancseg_options_init(&o);
    o.model_dir = FIXTURE_BUNDLE;
    o.threads = 2;
    CHECK(pancseg_create(&o, &ctx) == PANCSEG_OK, "create: %s", pancseg_last_error());
    if (ctx) {
      CHECK(pancseg_segment(ctx, &vm, NULL, &r) == PANCSEG_OK, "segment: %s", pancseg_last_error());
      if (r) {
        CHECK(pancseg_result_write_rtstruct(r, memory, "/tmp/pancseg-dicom-memory-rt.dcm") ==
                      PANCSEG_IO_ERROR &&
                  strstr(pancseg_last_error(), "no StudyInstanceUID") != NULL,
              "rtstruct of an anonymised series: %s", pancseg_last_error());
        CHECK(pancseg_result_write_rtstruct(r, NULL, "/tmp/x.dcm") == PANCSEG_INVALID_ARGUMENT,
              "NULL source");
      }
      pancseg_result_free(r);
      pancseg_free(ctx);
    }
  }
#endif

  pancseg_image_free(disk);
  pancseg_image_free(memory);
  for (i = 0; i < count; i++) {
    free((void *)buffers[i].data);
    free(names[i]);
  }
  if (failures) fprintf(stderr, "dicom_memory: %d FAILED\n", failures);
  return failures ? 1 : 0;
}
