typedef int itest_t_foundation_empty;
