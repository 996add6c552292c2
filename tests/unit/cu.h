/* SPDX-License-Identifier: MIT */
/*
 * cu.h - the shared main() of the CUnit test programs.
 *
 * A test file defines its tests and one table:
 *     static CU_TestInfo tests[] = { {"name", fn}, ..., CU_TEST_INFO_NULL };
 *     CU_MAIN("suite name", tests)
 * CU_basic_run_tests() returns 0 even when tests fail, so the exit status
 * comes from the failure count (DESIGN.md).
 */
#ifndef CHATD_CU_H
#define CHATD_CU_H

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stdio.h>

#define CU_MAIN(suite_name, table)                                            \
	int main(void)                                                        \
	{                                                                     \
		CU_SuiteInfo suites[] = {                                     \
			{ suite_name, NULL, NULL, NULL, NULL, table },        \
			CU_SUITE_INFO_NULL };                                 \
		if (CU_initialize_registry() != CUE_SUCCESS)                  \
			return 2;                                             \
		if (CU_register_suites(suites) != CUE_SUCCESS)                \
			return 2;                                             \
		CU_basic_set_mode(CU_BRM_VERBOSE);                            \
		CU_basic_run_tests();                                         \
		unsigned failed = CU_get_number_of_tests_failed() +           \
				  CU_get_number_of_failures();                \
		unsigned ran = CU_get_number_of_tests_run();                  \
		CU_cleanup_registry();                                        \
		return (failed || ran == 0) ? 1 : 0;                          \
	}

#endif
