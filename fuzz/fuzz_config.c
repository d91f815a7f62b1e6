/*
 * libFuzzer target: the configuration parser on arbitrary text.
 */
#include <stddef.h>
#include <stdint.h>

#include "../daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_config *cfg = NULL;
	char err[4096];

	if (tg_config_parse((const char *)data, size, "/nonexistent/fuzz/tigris.json", &cfg, err,
	    sizeof(err)) == 0)
		tg_config_free(cfg);
	return 0;
}
