// SPDX-License-Identifier: MIT
/*
 * The unit_core runner: guest/core (codec, FDT reader, inventory,
 * agreements, estimator), the portable code shared by the VMM, the probe
 * guest and the Linux module.
 */
#include <check.h>
#include <stdlib.h>

Suite *core_codec_suite(void);	   /* test_core_codec.c */
Suite *core_codec_var_suite(void); /* test_core_codec_var.c */
Suite *core_codec_bad_suite(void); /* test_core_codec_bad.c */
Suite *core_fdt_suite(void);	   /* test_core_fdt.c */
Suite *core_fdt_bad_suite(void);   /* test_core_fdt_bad.c */
Suite *core_inventory_suite(void); /* test_core_inventory.c */
Suite *core_agreement_suite(void); /* test_core_agreement.c */
Suite *core_estimator_suite(void); /* test_core_estimator.c */

int main(void)
{
	SRunner *sr = srunner_create(core_codec_suite());
	int failed;

	srunner_add_suite(sr, core_codec_var_suite());
	srunner_add_suite(sr, core_codec_bad_suite());
	srunner_add_suite(sr, core_fdt_suite());
	srunner_add_suite(sr, core_fdt_bad_suite());
	srunner_add_suite(sr, core_inventory_suite());
	srunner_add_suite(sr, core_agreement_suite());
	srunner_add_suite(sr, core_estimator_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
