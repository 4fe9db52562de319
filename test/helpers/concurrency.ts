/**
 * Many things at once but at most `limit` (each is often a node process):
 * the product's own bounded map, results in input order.
 */
export { mapLimited as mapLimit } from '../../src/noetl/chunks.js';
