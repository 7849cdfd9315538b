/** barge's version, reported by nodes, /v1/health and `barge --version`. */
export const VERSION = '0.1.0';
