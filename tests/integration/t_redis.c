typedef int itest_t_redis_empty;
