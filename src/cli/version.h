/* Version of the hart CLI and library (semantic versioning). */
#ifndef HART_CLI_VERSION_H
#define HART_CLI_VERSION_H

#define HART_VERSION "0.1.0"

#endif
