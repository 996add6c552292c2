#include "cu.h"
int main(void){return 0;}
