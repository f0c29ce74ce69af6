/* A host that defines OpenJPEG functions of its own (as a viewer linking its own OpenJPEG
 * does): pancseg must keep decoding JPEG 2000 with its own decoder, in a shared and in a static
 * link. The host's functions count their calls and fail; the real JPEG 2000 series
 * (FIXTURE_J2K, 20 slices) must load with the voxel sum an independent reader (pydicom with an
 * OpenJPEG plugin) gives, and none of the host's functions may be called. Before pancseg
 * localised its dependencies, the shared link called these and the static one did not link. */
#include <pancseg.h>
#include <stdio.h>
#include <string.h>

static int host_calls = 0;

/* same names as OpenJPEG's; argument types do not matter to the linker */
void *opj_create_decompress(int format) {
  (void)format;
  host_calls++;
  return NULL;
}
int opj_read_header(void *stream, void *codec, void **image) {
  (void)stream; (void)codec; (void)image;
  host_calls++;
  return 0;
}
int opj_decode(void *codec, void *stream, void *image) {
  (void)codec; (void)stream; (void)image;
  host_calls++;
  return 0;
}
void *opj_stream_default_create(int input) {
  (void)input;
  host_calls++;
  return NULL;
}

int main(void) {
  pancseg_image *img = NULL;
  pancseg_volume v;
  const float *hu;
  size_t n, i;
  double sum = 0.0, lo = 1e9, hi = -1e9;
  int failures = 0;
  if (pancseg_image_load(FIXTURE_J2K, &img) != PANCSEG_OK) {
    fprintf(stderr, "interpose: loading %s failed: %s (host OpenJPEG calls: %d)\n", FIXTURE_J2K,
            pancseg_last_error(), host_calls);
    return 1;
  }
  v.struct_size = sizeof v;
  if (pancseg_image_volume(img, &v) != PANCSEG_OK) {
    fprintf(stderr, "interpose: %s\n", pancseg_last_error());
    return 1;
  }
  hu = (const float *)v.data;
  n = v.dims[0] * v.dims[1] * v.dims[2];
  for (i = 0; i < n; i++) {
    sum += hu[i];
    if (hu[i] < lo) lo = hu[i];
    if (hu[i] > hi) hi = hu[i];
  }
  printf("interpose: %zu x %zu x %zu, HU %.0f..%.0f, sum %.0f; host OpenJPEG calls: %d\n",
         v.dims[0], v.dims[1], v.dims[2], lo, hi, sum, host_calls);
  /* the independent reader's figures (../shared/data/real-ct/README.md) */
  if (v.dims[0] != 512 || v.dims[1] != 512 || v.dims[2] != 20) failures++;
  if (lo != -1024.0 || hi != 1839.0 || sum != -3272217339.0) failures++;
  if (host_calls != 0) failures++;
  pancseg_image_free(img);
  if (failures) fprintf(stderr, "interpose: FAILED\n");
  return failures ? 1 : 0;
}
