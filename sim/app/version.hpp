#pragma once
#ifndef KETAPLAST_VERSION
#define KETAPLAST_VERSION "0.1.0"
#endif
