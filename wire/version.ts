/**
 * The release of circuit this code belongs to.
 *
 * @module
 */

/** The version printed in the server banner and by the CLI. */
export const VERSION = "0.1.0";
