typedef int itest_harness_empty;
