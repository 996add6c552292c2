typedef int itest_t_hub_empty;
