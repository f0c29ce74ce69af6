/* C99 conformance test of the pancseg C ABI: lifecycle, every NULL argument, bad volumes
 * (zero, "negative" (wrapped), NaN and overflowing dims or spacing, a wrong buffer length), a
 * missing, corrupted or tampered bundle, progress, cancellation, and results freed in any order
 * after the context. Exits 0 when every check passes; prints each failure. */
#include <math.h>
#include <pancseg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures = 0;

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, \
              __LINE__, #cond, pancseg_last_error());                      \
      failures++;                                                          \
    }                                                                      \
  } while (0)

#define EXPECT_STATUS(call, want)                                                     \
  do {                                                                                \
    pancseg_status got_ = (call);                                                     \
    if (got_ != (want)) {                                                             \
      fprintf(stderr, "%s:%d: %s returned %s, expected %s (last error: %s)\n", __FILE__, \
              __LINE__, #call, pancseg_status_string(got_), pancseg_status_string(want), \
              pancseg_last_error());                                                  \
      failures++;                                                                     \
    }                                                                                 \
  } while (0)

static const char *bundle_files[] = {"manifest.json", "level1.psrf", "level2.psrf", "p.onnx",
                                     "r1.onnx",       "r2.onnx",     "boundary.onnx"};

static int copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb");
  FILE *out;
  char buf[65536];
  size_t n;
  if (!in) return 0;
  out = fopen(to, "wb");
  if (!out) {
    fclose(in);
    return 0;
  }
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
  fclose(in);
  fclose(out);
  return 1;
}

/* Copies the fixture bundle into dir (which must exist). */
static void copy_bundle(const char *dir) {
  size_t i;
  char from[4096], to[4096];
  for (i = 0; i < sizeof bundle_files / sizeof bundle_files[0]; i++) {
    snprintf(from, sizeof from, "%s/%s", FIXTURE_BUNDLE, bundle_files[i]);
    snprintf(to, sizeof to, "%s/%s", dir, bundle_files[i]);
    CHECK(copy_file(from, to));
  }
}

static void flip_byte(const char *path, long offset) {
  FILE *f = fopen(path, "r+b");
  int c;
  CHECK(f != NULL);
  if (!f) return;
  fseek(f, offset, SEEK_SET);
  c = fgetc(f);
  fseek(f, offset, SEEK_SET);
  fputc(c ^ 1, f);
  fclose(f);
}

static pancseg_context *create(const char *dir, pancseg_status *status) {
  pancseg_options o;
  pancseg_context *ctx = (pancseg_context *)1;
  o.struct_size = sizeof o;
  EXPECT_STATUS(pancseg_options_init(&o), PANCSEG_OK);
  o.model_dir = dir;
  o.threads = 2;
  *status = pancseg_create(&o, &ctx);
  if (*status != PANCSEG_OK) CHECK(ctx == NULL);
  return ctx;
}

static void test_bundles(void) {
  char tmpl[] = "/tmp/pancseg-ffi-XXXXXX";
  char *dir = mkdtemp(tmpl);
  char path[4096];
  pancseg_status st;
  pancseg_context *ctx;
  CHECK(dir != NULL);
  if (!dir) return;
  /* missing bundle */
  ctx = create("/nonexistent/bundle", &st);
  CHECK(st == PANCSEG_MODEL_ERROR);
  CHECK(strstr(pancseg_last_error(), "/nonexistent/bundle") != NULL);
  /* a good copy loads */
  copy_bundle(dir);
  ctx = create(dir, &st);
  CHECK(st == PANCSEG_OK);
  pancseg_free(ctx);
  /* tampered network */
  snprintf(path, sizeof path, "%s/r1.onnx", dir);
  flip_byte(path, 1000);
  ctx = create(dir, &st);
  CHECK(st == PANCSEG_MODEL_ERROR);
  CHECK(strstr(pancseg_last_error(), "SHA-256") != NULL);
  flip_byte(path, 1000);
  /* missing file */
  snprintf(path, sizeof path, "%s/level1.psrf", dir);
  remove(path);
  ctx = create(dir, &st);
  CHECK(st == PANCSEG_MODEL_ERROR);
  CHECK(strstr(pancseg_last_error(), "level1.psrf") != NULL);
  /* corrupted (truncated) manifest */
  snprintf(path, sizeof path, "%s/manifest.json", dir);
  {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
      fputs("{\"format\": \"pancseg-bundle\", \"format_ver", f);
      fclose(f);
    }
  }
  ctx = create(dir, &st);
  CHECK(st == PANCSEG_MODEL_ERROR);
  CHECK(strstr(pancseg_last_error(), "manifest") != NULL);
  {
    size_t i;
    for (i = 0; i < sizeof bundle_files / sizeof bundle_files[0]; i++) {
      snprintf(path, sizeof path, "%s/%s", dir, bundle_files[i]);
      remove(path);
    }
    remove(dir);
  }
}

static void test_nulls(pancseg_context *ctx, const pancseg_volume *good) {
  pancseg_result *r = (pancseg_result *)1;
  pancseg_image *img = (pancseg_image *)1;
  size_t dims[3];
  EXPECT_STATUS(pancseg_options_init(NULL), PANCSEG_INVALID_ARGUMENT);
  EXPECT_STATUS(pancseg_segment_options_init(NULL), PANCSEG_INVALID_ARGUMENT);
  EXPECT_STATUS(pancseg_create(NULL, NULL), PANCSEG_INVALID_ARGUMENT);
  CHECK(strlen(pancseg_last_error()) > 0);
  EXPECT_STATUS(pancseg_segment(NULL, good, NULL, &r), PANCSEG_INVALID_ARGUMENT);
  CHECK(r == NULL);
  EXPECT_STATUS(pancseg_segment(ctx, NULL, NULL, &r), PANCSEG_INVALID_ARGUMENT);
  EXPECT_STATUS(pancseg_segment(ctx, good, NULL, NULL), PANCSEG_INVALID_ARGUMENT);
  EXPECT_STATUS(pancseg_result_dims(NULL, dims), PANCSEG_INVALID_ARGUMENT);
  EXPECT_STATUS(pancseg_result_stage(NULL, 0, NULL, NULL), PANCSEG_INVALID_ARGUMENT);
  EXPECT_STATUS(pancseg_result_write_nifti(NULL, "/tmp/x.nii"), PANCSEG_INVALID_ARGUMENT);
  EXPECT_STATUS(pancseg_result_write_overlay_png(NULL, good, "/tmp/x.png"), PANCSEG_INVALID_ARGUMENT);
  EXPECT_STATUS(pancseg_image_load(NULL, &img), PANCSEG_INVALID_ARGUMENT);
  CHECK(img == NULL);
  EXPECT_STATUS(pancseg_image_load(FIXTURE_CT, NULL), PANCSEG_INVALID_ARGUMENT);
  EXPECT_STATUS(pancseg_image_load("/nonexistent.nii.gz", &img), PANCSEG_IO_ERROR);
  {
    /* malformed files are PANCSEG_IO_ERROR (header), whatever their name: 100 junk bytes
     * without an extension, and 1000 in a .nii */
    const char *names[] = {"/tmp/pancseg-ffi-junk", "/tmp/pancseg-ffi-junk.nii"};
    size_t k, j;
    for (k = 0; k < 2; k++) {
      FILE *f = fopen(names[k], "wb");
      CHECK(f != NULL);
      if (!f) continue;
      for (j = 0; j < (k ? 1000u : 100u); j++) fputc((int)((j * 7919u + k) % 251u), f);
      fclose(f);
      EXPECT_STATUS(pancseg_image_load(names[k], &img), PANCSEG_IO_ERROR);
      CHECK(img == NULL && strstr(pancseg_last_error(), "pancseg-ffi-junk") != NULL);
      remove(names[k]);
    }
  }
  EXPECT_STATUS(pancseg_image_volume(NULL, NULL), PANCSEG_INVALID_ARGUMENT);
  CHECK(pancseg_result_mask(NULL, NULL) == NULL);
  CHECK(pancseg_result_probability(NULL, NULL) == NULL);
  CHECK(isnan(pancseg_result_volume_ml(NULL)));
  CHECK(pancseg_result_field_of_view(NULL) == -1);
  CHECK(pancseg_result_stage_count(NULL) == 0);
  CHECK(pancseg_result_report_json(NULL) == NULL);
  CHECK(pancseg_provider(NULL) == NULL);
  pancseg_free(NULL);
  pancseg_result_free(NULL);
  pancseg_image_free(NULL);
  CHECK(strcmp(pancseg_status_string(99), "unknown status") == 0);
}

/* A struct of this header with room after it, as a caller of a newer header would declare it. */
#define TAIL 64
#define FILL 0xAB

/* 1 when bytes [from, to) of p all hold FILL. */
static int untouched(const void *p, size_t from, size_t to) {
  const unsigned char *b = (const unsigned char *)p;
  size_t i;
  for (i = from; i < to; i++)
    if (b[i] != FILL) return 0;
  return 1;
}

/* Output structs (the *_init functions, pancseg_image_volume) are written only up to the
 * caller's struct_size and the library's size; smaller and absurd sizes are refused with
 * nothing written. Input structs (pancseg_create, pancseg_segment) accept an equal or larger
 * struct_size and refuse a smaller or absurd one. */
static void test_struct_sizes(pancseg_context *ctx, const pancseg_volume *good) {
  const size_t bad[] = {0, 8, 4097, (size_t)-1};
  size_t i;
  pancseg_image *img = NULL;
  union {
    pancseg_options o;
    pancseg_segment_options so;
    pancseg_volume v;
    unsigned char bytes[sizeof(pancseg_options) + sizeof(pancseg_segment_options) +
                        sizeof(pancseg_volume) + TAIL];
  } buf;
  pancseg_status st;
  EXPECT_STATUS(pancseg_image_load(FIXTURE_CT, &img), PANCSEG_OK);
  /* outputs: equal and larger sizes */
#define OUTPUT_OK(T, call, size)                                           \
  do {                                                                     \
    memset(&buf, FILL, sizeof buf);                                        \
    *(size_t *)&buf = (size);                                              \
    EXPECT_STATUS(call, PANCSEG_OK);                                       \
    CHECK(*(size_t *)&buf == sizeof(T));                                   \
    CHECK(untouched(&buf, sizeof(T), sizeof buf));                         \
  } while (0)
  OUTPUT_OK(pancseg_options, pancseg_options_init(&buf.o), sizeof(pancseg_options));
  OUTPUT_OK(pancseg_options, pancseg_options_init(&buf.o), sizeof(pancseg_options) + TAIL);
  CHECK(buf.o.model_dir == NULL && buf.o.threads == 0);
  OUTPUT_OK(pancseg_segment_options, pancseg_segment_options_init(&buf.so),
            sizeof(pancseg_segment_options));
  OUTPUT_OK(pancseg_segment_options, pancseg_segment_options_init(&buf.so),
            sizeof(pancseg_segment_options) + TAIL);
  CHECK(buf.so.method == PANCSEG_METHOD_G_P2);
  OUTPUT_OK(pancseg_volume, pancseg_image_volume(img, &buf.v), sizeof(pancseg_volume));
  OUTPUT_OK(pancseg_volume, pancseg_image_volume(img, &buf.v), sizeof(pancseg_volume) + TAIL);
  CHECK(buf.v.dims[0] == good->dims[0] && buf.v.dtype == PANCSEG_DTYPE_FLOAT32);
  /* outputs: smaller and absurd sizes write nothing */
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
#define OUTPUT_REFUSED(call)                                                               \
  do {                                                                                     \
    memset(&buf, FILL, sizeof buf);                                                        \
    *(size_t *)&buf = bad[i];                                                              \
    EXPECT_STATUS(call, PANCSEG_INVALID_ARGUMENT);                                         \
    CHECK(*(size_t *)&buf == bad[i] && untouched(&buf, sizeof(size_t), sizeof buf));       \
    CHECK(strstr(pancseg_last_error(), "struct_size") != NULL);                            \
  } while (0)
    OUTPUT_REFUSED(pancseg_options_init(&buf.o));
    OUTPUT_REFUSED(pancseg_segment_options_init(&buf.so));
    OUTPUT_REFUSED(pancseg_image_volume(img, &buf.v));
  }
  /* inputs: equal and larger sizes are accepted (a pre-cancelled segmentation stops right after
   * the checks), smaller and absurd ones refused */
  {
    pancseg_context *c = NULL;
    pancseg_result *r = NULL;
    pancseg_segment_options so;
    int32_t cancelled = 1;
    memset(&buf, 0, sizeof buf);
    buf.o.struct_size = sizeof buf.o;
    EXPECT_STATUS(pancseg_options_init(&buf.o), PANCSEG_OK);
    buf.o.model_dir = FIXTURE_BUNDLE;
    buf.o.threads = 1;
    buf.o.struct_size = sizeof(pancseg_options) + TAIL;
    EXPECT_STATUS(pancseg_create(&buf.o, &c), PANCSEG_OK);
    pancseg_free(c);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      c = NULL;
      buf.o.struct_size = bad[i];
      EXPECT_STATUS(pancseg_create(&buf.o, &c), PANCSEG_INVALID_ARGUMENT);
      CHECK(c == NULL && strstr(pancseg_last_error(), "struct_size") != NULL);
    }

    so.struct_size = sizeof so;
    EXPECT_STATUS(pancseg_segment_options_init(&so), PANCSEG_OK);
    so.cancel = &cancelled;
    memset(&buf, 0, sizeof buf);
    buf.v = *good;
    buf.v.struct_size = sizeof(pancseg_volume) + TAIL;
    EXPECT_STATUS(pancseg_segment(ctx, &buf.v, &so, &r), PANCSEG_CANCELLED);
    buf.v.struct_size = sizeof(pancseg_volume);
    buf.so = so;
    buf.so.struct_size = sizeof(pancseg_segment_options) + TAIL;
    EXPECT_STATUS(pancseg_segment(ctx, good, &buf.so, &r), PANCSEG_CANCELLED);
    CHECK(r == NULL);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      pancseg_volume v = *good;
      pancseg_segment_options s2 = so;
      v.struct_size = bad[i];
      st = pancseg_segment(ctx, &v, &so, &r);
      CHECK(st == PANCSEG_INVALID_ARGUMENT && r == NULL &&
            strstr(pancseg_last_error(), "pancseg_volume.struct_size") != NULL);
      s2.struct_size = bad[i];
      st = pancseg_segment(ctx, good, &s2, &r);
      CHECK(st == PANCSEG_INVALID_ARGUMENT && r == NULL &&
            strstr(pancseg_last_error(), "pancseg_segment_options.struct_size") != NULL);
    }
  }
#undef OUTPUT_OK
#undef OUTPUT_REFUSED
  pancseg_image_free(img);
}

static void expect_volume_error(pancseg_context *ctx, pancseg_volume v, pancseg_status want,
                                const char *text, int line) {
  pancseg_result *r = NULL;
  pancseg_status st = pancseg_segment(ctx, &v, NULL, &r);
  if (st != want || r != NULL || strstr(pancseg_last_error(), text) == NULL) {
    fprintf(stderr, "c_api.c:%d: bad volume gave %s (%s), expected %s mentioning \"%s\"\n", line,
            pancseg_status_string(st), pancseg_last_error(), pancseg_status_string(want), text);
    failures++;
  }
  pancseg_result_free(r);
}

static void test_bad_volumes(pancseg_context *ctx, pancseg_volume good) {
  pancseg_volume v;
  v = good; v.dims[2] = 0;
  expect_volume_error(ctx, v, PANCSEG_INVALID_ARGUMENT, "zero", __LINE__);
  v = good; v.dims[0] = (size_t)-5; /* a negative int cast to size_t */
  expect_volume_error(ctx, v, PANCSEG_LIMIT_EXCEEDED, "dims", __LINE__);
  v = good; v.dims[0] = (size_t)1 << 40; v.dims[1] = (size_t)1 << 40;
  expect_volume_error(ctx, v, PANCSEG_LIMIT_EXCEEDED, "overflow", __LINE__);
  v = good; v.dims[2] += 1;
  expect_volume_error(ctx, v, PANCSEG_INVALID_ARGUMENT, "data_bytes", __LINE__);
  v = good; v.data_bytes -= 1;
  expect_volume_error(ctx, v, PANCSEG_INVALID_ARGUMENT, "data_bytes", __LINE__);
  v = good; v.spacing[1] = NAN;
  expect_volume_error(ctx, v, PANCSEG_GEOMETRY_ERROR, "spacing", __LINE__);
  v = good; v.spacing[2] = -2.5;
  expect_volume_error(ctx, v, PANCSEG_GEOMETRY_ERROR, "spacing", __LINE__);
  v = good; v.spacing[0] = 0.0;
  expect_volume_error(ctx, v, PANCSEG_GEOMETRY_ERROR, "spacing", __LINE__);
  v = good; v.spacing[0] = INFINITY;
  expect_volume_error(ctx, v, PANCSEG_GEOMETRY_ERROR, "spacing", __LINE__);
  v = good; v.origin[0] = NAN;
  expect_volume_error(ctx, v, PANCSEG_GEOMETRY_ERROR, "origin", __LINE__);
  /* physically absurd geometry is refused before any work (bounds in the header) */
  v = good; v.spacing[0] = v.spacing[1] = v.spacing[2] = 1e4;
  expect_volume_error(ctx, v, PANCSEG_GEOMETRY_ERROR, "spacing along x is 10000 mm", __LINE__);
  v = good; v.spacing[2] = 0.001;
  expect_volume_error(ctx, v, PANCSEG_GEOMETRY_ERROR, "spacing along z is 0.001 mm", __LINE__);
  v = good; v.spacing[0] = 30.0; /* 192 columns of 30 mm: 5.8 m */
  expect_volume_error(ctx, v, PANCSEG_GEOMETRY_ERROR, "mm long along x", __LINE__);
  v = good; v.origin[2] = -1e9;
  expect_volume_error(ctx, v, PANCSEG_GEOMETRY_ERROR, "origin", __LINE__);
  v = good; v.direction[4] = 3.0;
  expect_volume_error(ctx, v, PANCSEG_GEOMETRY_ERROR, "direction", __LINE__);
  v = good; v.data = NULL;
  expect_volume_error(ctx, v, PANCSEG_INVALID_ARGUMENT, "NULL", __LINE__);
  v = good; v.dtype = 42;
  expect_volume_error(ctx, v, PANCSEG_INVALID_ARGUMENT, "dtype", __LINE__);
  v = good; v.rescale_slope = NAN;
  expect_volume_error(ctx, v, PANCSEG_INVALID_ARGUMENT, "slope", __LINE__);
  v = good; v.struct_size = 8;
  expect_volume_error(ctx, v, PANCSEG_INVALID_ARGUMENT, "struct_size", __LINE__);
  {
    pancseg_segment_options so;
    pancseg_result *r = NULL;
    so.struct_size = sizeof so;
    EXPECT_STATUS(pancseg_segment_options_init(&so), PANCSEG_OK);
    so.method = 77;
    EXPECT_STATUS(pancseg_segment(ctx, &good, &so, &r), PANCSEG_INVALID_ARGUMENT);
    CHECK(r == NULL);
  }
  {
    /* a NaN HU value in a float32 volume */
    size_t n = 8 * 8 * 4, i;
    float *data = (float *)malloc(n * sizeof(float));
    pancseg_result *r = NULL;
    for (i = 0; i < n; i++) data[i] = (float)i;
    data[17] = NAN;
    v = good;
    v.data = data;
    v.data_bytes = n * sizeof(float);
    v.dtype = PANCSEG_DTYPE_FLOAT32;
    v.dims[0] = 8; v.dims[1] = 8; v.dims[2] = 4;
    EXPECT_STATUS(pancseg_segment(ctx, &v, NULL, &r), PANCSEG_INVALID_ARGUMENT);
    CHECK(strstr(pancseg_last_error(), "non-finite") != NULL);
    free(data);
  }
}

typedef struct {
  float last;
  int calls;
  int decreasing;
  float cancel_at;
  int32_t *flag;
} progress_state;

static void on_progress(void *user, float f) {
  progress_state *p = (progress_state *)user;
  if (f <= p->last) p->decreasing++;
  p->last = f;
  p->calls++;
  if (p->flag && f >= p->cancel_at) __atomic_store_n(p->flag, 1, __ATOMIC_RELAXED);
}

static int log_lines = 0;
static void on_log(void *user, int32_t level, const char *message) {
  (void)user;
  CHECK(level >= PANCSEG_LOG_ERROR && level <= PANCSEG_LOG_INFO);
  CHECK(message != NULL && strlen(message) > 0);
  log_lines++;
}

int main(void) {
  pancseg_context *ctx = NULL;
  pancseg_image *img = NULL;
  pancseg_volume vol;
  pancseg_options o;
  pancseg_segment_options so;
  pancseg_result *r1 = NULL, *r2 = NULL;
  progress_state ps;
  int32_t flag = 0;
  size_t n = 0, dims[3] = {0, 0, 0}, i, ones = 0;
  const uint8_t *mask;
  char mask_path[256], png_path[256], work_dir[256];

  CHECK(strcmp(pancseg_version(), PANCSEG_VERSION_STRING) == 0);
  CHECK(strcmp(pancseg_status_string(PANCSEG_OK), "ok") == 0);

  EXPECT_STATUS(pancseg_image_load(FIXTURE_CT, &img), PANCSEG_OK);
  vol.struct_size = sizeof vol;
  EXPECT_STATUS(pancseg_image_volume(img, &vol), PANCSEG_OK);
  CHECK(vol.dtype == PANCSEG_DTYPE_FLOAT32 && vol.dims[0] > 0);

  o.struct_size = sizeof o;

  EXPECT_STATUS(pancseg_options_init(&o), PANCSEG_OK);
  CHECK(o.struct_size == sizeof(pancseg_options));
  o.model_dir = FIXTURE_BUNDLE;
  o.threads = 2;
  o.log = on_log;
  EXPECT_STATUS(pancseg_create(&o, &ctx), PANCSEG_OK);
  CHECK(ctx != NULL);
  if (!ctx) return 1;
  CHECK(strcmp(pancseg_provider(ctx), "cpu") == 0);
  CHECK(log_lines >= 1);
  o.struct_size = 4;
  {
    pancseg_context *c2 = NULL;
    EXPECT_STATUS(pancseg_create(&o, &c2), PANCSEG_INVALID_ARGUMENT);
    CHECK(c2 == NULL);
  }

  {
    /* a memory budget too small for the volume: refused before allocation, with the reason */
    pancseg_options small;
    pancseg_context *c3 = NULL;
    pancseg_result *r = NULL;
    small.struct_size = sizeof small;
    EXPECT_STATUS(pancseg_options_init(&small), PANCSEG_OK);
    small.model_dir = FIXTURE_BUNDLE;
    small.memory_budget = 1u << 20;
    EXPECT_STATUS(pancseg_create(&small, &c3), PANCSEG_OK);
    EXPECT_STATUS(pancseg_segment(c3, &vol, NULL, &r), PANCSEG_LIMIT_EXCEEDED);
    CHECK(r == NULL && strstr(pancseg_last_error(), "memory budget") != NULL);
    pancseg_free(c3);
  }
  test_nulls(ctx, &vol);
  test_struct_sizes(ctx, &vol);
  test_bad_volumes(ctx, vol);
  test_bundles();

  /* a segmentation with progress and the probability map */
  so.struct_size = sizeof so;
  EXPECT_STATUS(pancseg_segment_options_init(&so), PANCSEG_OK);
  memset(&ps, 0, sizeof ps);
  ps.last = -1.0f;
  so.progress = on_progress;
  so.progress_user_data = &ps;
  so.want_probability = 1;
  EXPECT_STATUS(pancseg_segment(ctx, &vol, &so, &r1), PANCSEG_OK);
  CHECK(r1 != NULL);
  CHECK(ps.calls > 3 && ps.decreasing == 0 && ps.last == 1.0f);
  EXPECT_STATUS(pancseg_result_dims(r1, dims), PANCSEG_OK);
  CHECK(dims[0] == vol.dims[0] && dims[1] == vol.dims[1] && dims[2] == vol.dims[2]);
  mask = pancseg_result_mask(r1, &n);
  CHECK(mask != NULL && n == dims[0] * dims[1] * dims[2]);
  for (i = 0; i < n; i++) {
    CHECK(mask[i] <= 1);
    ones += mask[i];
  }
  CHECK(ones > 0);
  CHECK(pancseg_result_probability(r1, &n) != NULL && n == dims[0] * dims[1] * dims[2]);
  CHECK(pancseg_result_volume_ml(r1) > 0.0);
  /* an abdominal phantom: the pancreas region is in the field of view (cut or full) */
  CHECK(pancseg_result_field_of_view(r1) == PANCSEG_FOV_FULL ||
        pancseg_result_field_of_view(r1) == PANCSEG_FOV_CUT);
  CHECK(pancseg_result_stage_count(r1) >= 5);
  {
    const char *name = NULL;
    double s = -1;
    EXPECT_STATUS(pancseg_result_stage(r1, 0, &name, &s), PANCSEG_OK);
    CHECK(name != NULL && s >= 0.0);
    EXPECT_STATUS(pancseg_result_stage(r1, 1000, &name, &s), PANCSEG_INVALID_ARGUMENT);
  }
  CHECK(strstr(pancseg_result_report_json(r1), "\"pancreas_ml\"") != NULL);
  /* outputs go to a directory of this process (ctest runs several test programs at once) */
  {
    char work[] = "/tmp/pancseg-ffi-out-XXXXXX";
    CHECK(mkdtemp(work) != NULL);
    snprintf(mask_path, sizeof mask_path, "%s/mask.nii.gz", work);
    snprintf(png_path, sizeof png_path, "%s/overlay.png", work);
    snprintf(work_dir, sizeof work_dir, "%s", work);
  }
  EXPECT_STATUS(pancseg_result_write_nifti(r1, mask_path), PANCSEG_OK);
  EXPECT_STATUS(pancseg_result_write_nifti(r1, "/tmp/pancseg-ffi-mask.png"),
                PANCSEG_INVALID_ARGUMENT);
  remove(mask_path);
  EXPECT_STATUS(pancseg_result_write_overlay_png(r1, &vol, png_path), PANCSEG_OK);
  {
    FILE *f = fopen(png_path, "rb");
    unsigned char sig[8] = {0};
    CHECK(f != NULL);
    if (f) {
      CHECK(fread(sig, 1, 8, f) == 8 && sig[1] == 'P' && sig[2] == 'N' && sig[3] == 'G');
      fclose(f);
    }
    remove(png_path);
    rmdir(work_dir);
  }
  EXPECT_STATUS(pancseg_result_write_overlay_png(r1, NULL, "/tmp/x.png"), PANCSEG_INVALID_ARGUMENT);
  /* DICOM SEG needs a DICOM source (the examples write one from a series in scripts/ffi-test.sh) */
  EXPECT_STATUS(pancseg_result_write_dicom_seg(r1, img, "/tmp/pancseg-ffi-never-written.dcm"),
                PANCSEG_INVALID_ARGUMENT);
  CHECK(strstr(pancseg_last_error(), "not read from DICOM") != NULL);
  EXPECT_STATUS(pancseg_result_write_dicom_seg(NULL, img, "/tmp/x.dcm"), PANCSEG_INVALID_ARGUMENT);
  EXPECT_STATUS(pancseg_result_write_dicom_seg(r1, NULL, "/tmp/x.dcm"), PANCSEG_INVALID_ARGUMENT);
  EXPECT_STATUS(pancseg_result_write_dicom_seg(r1, img, NULL), PANCSEG_INVALID_ARGUMENT);

#ifndef PANCSEG_TEST_QUICK
  /* cancellation mid-run, then the context still works */
  memset(&ps, 0, sizeof ps);
  ps.last = -1.0f;
  ps.flag = &flag;
  ps.cancel_at = 0.5f;
  so.want_probability = 0;
  so.cancel = &flag;
  EXPECT_STATUS(pancseg_segment(ctx, &vol, &so, &r2), PANCSEG_CANCELLED);
  CHECK(r2 == NULL);
  CHECK(ps.last < 0.95f);
  flag = 0;
  so.cancel = NULL;
  so.progress = NULL;
  EXPECT_STATUS(pancseg_segment(ctx, &vol, &so, &r2), PANCSEG_OK);
  {
    /* same input, same mask */
    size_t n2 = 0;
    const uint8_t *m2 = pancseg_result_mask(r2, &n2);
    CHECK(n2 == n && memcmp(m2, mask, n) == 0);
  }
#endif

  /* results outlive the context and free in any order */
  pancseg_free(ctx);
  pancseg_image_free(img);
  CHECK(pancseg_result_volume_ml(r1) > 0.0);
  pancseg_result_free(r2);
  pancseg_result_free(r1);

  if (failures) {
    fprintf(stderr, "c_api: %d check(s) failed\n", failures);
    return 1;
  }
  printf("c_api: all checks passed\n");
  return 0;
}
