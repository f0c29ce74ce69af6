/* The smallest vendor program: segments the fixture CT with the fixture bundle and prints the
 * pancreas volume. pkg_config_link.sh builds it with the flags of pancseg.pc (shared) and of
 * pancseg-static.pc (static) and runs both. Usage: link_program CT BUNDLE */
#include <pancseg.h>
#include <stdio.h>

int main(int argc, char **argv) {
  pancseg_options o;
  pancseg_context *ctx = NULL;
  pancseg_image *img = NULL;
  pancseg_volume v;
  pancseg_result *r = NULL;
  if (argc != 3) {
    fprintf(stderr, "usage: link_program CT BUNDLE\n");
    return 2;
  }
  o.struct_size = sizeof o;
  v.struct_size = sizeof v;
  if (pancseg_options_init(&o) != PANCSEG_OK) goto fail;
  o.model_dir = argv[2];
  o.threads = 2;
  if (pancseg_create(&o, &ctx) != PANCSEG_OK) goto fail;
  if (pancseg_image_load(argv[1], &img) != PANCSEG_OK) goto fail;
  if (pancseg_image_volume(img, &v) != PANCSEG_OK) goto fail;
  if (pancseg_segment(ctx, &v, NULL, &r) != PANCSEG_OK) goto fail;
  printf("pancseg %s: %.1f mL\n", pancseg_version(), pancseg_result_volume_ml(r));
  pancseg_result_free(r);
  pancseg_image_free(img);
  pancseg_free(ctx);
  return 0;
fail:
  fprintf(stderr, "link_program: %s\n", pancseg_last_error());
  return 1;
}
